"""The review object (issue 20) everywhere a batch reports a result: the ledger's ``review``
column (and the migration of an older ledger), the review order, one review from several
steps, ``on_review move:URL``, the summary JSON's items and the HTML report, worst first.

The cutouts are real (u2netp on generated discs); which one is doubtful is decided here, by
the disc's colour, so the reporting is tested apart from the score itself
(tests/unit/imaging/test_confidence.py); tests/e2e/test_cli_review.py runs the real score."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from PIL import Image
from typer.testing import CliRunner

from lampyris.cli.app import app
from lampyris.errors import InvalidParameterError
from lampyris.ops.pipeline import OutputSpec
from lampyris.storage.locations import Location
from lampyris.workflows import item as item_module
from lampyris.workflows.backends.inline import InlineBackend
from lampyris.workflows.batch import BatchRunner, BatchSpec, Entry, RunSummary, check_on_review
from lampyris.workflows.item import WorkItem, review_of
from lampyris.workflows.ledger import Ledger, LedgerItem
from lampyris.workflows.report import review_line, review_parts, summary_json, write_html_report
from lampyris.workflows.steps import make_steps
from lampyris.workflows.workflow import WorkflowFile

SRC, DST, CHECK = "memory://in", "memory://out", "memory://check"
HARD_REVIEW = {"score": 0.21, "flag": True, "threshold": 0.5,
               "reasons": ["undecided edge 12 %", "subject touches 3 borders"],
               "features": {"undecided": 0.12}}
EASY_REVIEW = {"score": 0.93, "flag": False, "threshold": 0.5, "reasons": [],
               "features": {"undecided": 0.01}}


def disc(colour: tuple[int, int, int], shift: int = 0) -> bytes:
    rgb = np.full((120, 160, 3), 240, np.uint8)
    yy, xx = np.mgrid[:120, :160]
    rgb[(xx - 80 - shift) ** 2 + (yy - 60) ** 2 <= 36**2] = colour
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def scored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real pipeline, its cutout's review replaced: a blue disc is the doubtful one."""
    real = item_module.render

    def render(image: Any, calls: Any, output: Any, **kwargs: Any) -> Any:
        rgb = image.pixels[..., :3].reshape(-1, 3).astype(int)
        blue = int((rgb[:, 2] - rgb[:, 0]).max()) > 100
        rendered = real(image, calls, output, **kwargs)
        rendered.reports["cutout"]["review"] = dict(HARD_REVIEW if blue else EASY_REVIEW)
        return rendered

    monkeypatch.setattr(item_module, "render", render)


@pytest.fixture
def shoot(memfs: MemoryFileSystem) -> MemoryFileSystem:
    memfs.pipe("/in/easy.png", disc((200, 30, 30)))
    memfs.pipe("/in/sub/hard.png", disc((30, 60, 200), shift=4))
    memfs.pipe("/in/other.png", disc((190, 40, 30), shift=-4))
    return memfs


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "run.ledger.db") as opened:
        yield opened


def spec(**fields: Any) -> BatchSpec:
    return BatchSpec(Location(SRC), Location(DST), tuple(make_steps([("cutout", {})])),
                     backoff=0.01, settle=0.0, **fields)


def run(batch: BatchSpec, ledger: Ledger, thumbs: Path | None = None) -> RunSummary:
    return BatchRunner(batch, ledger, InlineBackend(), thumbs_dir=thumbs).run()


# --- the ledger ---------------------------------------------------------------------------


def test_an_older_ledger_gains_the_review_column_and_keeps_its_rows(tmp_path: Path):
    path = tmp_path / "old.ledger.db"
    with sqlite3.connect(path) as db:  # the items table as the previous release wrote it
        db.execute("""CREATE TABLE items (input_url TEXT NOT NULL, dest TEXT NOT NULL,
            rel TEXT NOT NULL, stamp TEXT, content_hash TEXT, fingerprint TEXT NOT NULL,
            output_url TEXT, status TEXT NOT NULL, error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0, run_id INTEGER, started REAL, finished REAL,
            seconds REAL, timings TEXT, details TEXT, PRIMARY KEY (input_url, dest))""")
        db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL "
                   "NOT NULL, finished REAL, source TEXT NOT NULL, dest TEXT NOT NULL, "
                   "steps TEXT NOT NULL, outcome TEXT)")
        db.execute("INSERT INTO items (input_url, dest, rel, fingerprint, status, details) "
                   "VALUES ('file:///in/a.png', 'file:///out', 'a.png', 'f1', 'done', "
                   "'{\"width\": 3}')")
    db.close()
    if hasattr(Ledger, "reading"):  # read-only (the console): not migrated, still readable
        unmigrated = Ledger.reading(path)
        assert [(i.rel, i.review) for i in unmigrated.items(worst_first=True)] == [
            ("a.png", None)]
        assert unmigrated.flagged("file:///out") == 0
        unmigrated.close()
    with Ledger(path) as ledger:
        (old,) = ledger.items()
        assert (old.rel, old.status, old.details, old.review) == ("a.png", "done",
                                                                   {"width": 3}, None)
        ledger.put(LedgerItem("file:///in/b.png", "file:///out", "b.png", "f1", "done",
                              review=HARD_REVIEW))
        assert ledger.get("file:///in/b.png", "file:///out").review == HARD_REVIEW
        assert ledger.flagged("file:///out") == 1
    with Ledger(path) as again:  # opening a migrated ledger changes nothing
        assert [i.rel for i in again.items(worst_first=True)] == ["b.png", "a.png"]


def test_the_review_order_is_failed_then_flagged_by_score_then_the_rest(tmp_path: Path):
    def review(score: float) -> dict[str, Any]:
        return {"score": score, "flag": score < 0.5, "threshold": 0.5, "reasons": []}

    with Ledger(tmp_path / "l.db") as ledger:
        for rel, status, given in [("a", "done", review(0.9)), ("b", "done", review(0.3)),
                                   ("c", "failed", None), ("d", "done", review(0.1)),
                                   ("e", "done", None), ("f", "done", review(0.6))]:
            ledger.put(LedgerItem(f"memory://in/{rel}", DST, rel, "f", status, review=given))
        assert [i.rel for i in ledger.items(dest=DST, worst_first=True)] == [
            "c", "d", "b", "f", "a", "e"]
        assert [i.rel for i in ledger.items(dest=DST)] == ["a", "b", "c", "d", "e", "f"]
        assert ledger.flagged(DST) == 2


# --- one review per result ------------------------------------------------------------------


def test_one_review_from_the_steps_is_the_worst_with_every_reason():
    assert review_of({"auto_tone": {"settings": {}}}) is None
    assert review_of({"cutout": {"review": EASY_REVIEW}}) == EASY_REVIEW
    both = review_of({"cutout": {"review": EASY_REVIEW},
                      "fill": {"review": {**HARD_REVIEW, "reasons": ["guard failed"]}}})
    assert both is not None
    assert (both["score"], both["flag"]) == (0.21, True)
    assert both["reasons"] == ["fill: guard failed"]
    assert both["steps"] == {"fill": 0.21, "cutout": 0.93}
    stricter = review_of({"cutout": {"review": EASY_REVIEW}}, threshold=0.95)
    assert stricter is not None and stricter["flag"] is True and stricter["threshold"] == 0.95
    laxer = review_of({"cutout": {"review": HARD_REVIEW}}, threshold=0.1)
    assert laxer is not None and laxer["flag"] is False


def test_a_review_reads_the_same_wherever_it_is_shown():
    hard = LedgerItem(f"{SRC}/sub/hard.png", DST, "sub/hard.png", "f", "done",
                      review=HARD_REVIEW, details={"routed_to": f"{CHECK}/sub/hard.png"})
    assert review_parts(HARD_REVIEW) == ("0.21", HARD_REVIEW["reasons"])
    assert review_line(hard) == (f"{SRC}/sub/hard.png: score 0.21: undecided edge 12 %, "
                                 f"subject touches 3 borders → {CHECK}/sub/hard.png")
    assert review_line(hard, "sub/hard.png").startswith("sub/hard.png: score 0.21: ")
    easy = LedgerItem(f"{SRC}/easy.png", DST, "easy.png", "f", "done", review=EASY_REVIEW)
    assert review_line(easy) == f"{SRC}/easy.png: score 0.93"  # no reasons, not moved
    assert review_parts(None) == ("?", [])
    assert review_parts({"score": "n/a", "reasons": ["", "why"]}) == ("?", ["why"])


def test_on_review_is_keep_or_move_to_somewhere():
    assert check_on_review("keep") == "keep"
    assert check_on_review("move:s3://b/check/") == "move:s3://b/check/"
    for bad in ("move:", "delete", "move"):
        with pytest.raises(ValueError, match="keep or move:URL"):
            check_on_review(bad)


def test_a_workflow_file_names_where_flagged_results_go(tmp_path: Path):
    workflow = WorkflowFile(source="in", sink="out", steps=["cutout"],
                            on_review="move:check", review_threshold=0.7)
    batch = workflow.batch_spec(tmp_path)
    assert batch.on_review == f"move:{tmp_path / 'check'}"
    assert batch.review_threshold == 0.7
    assert batch.review_sink is not None and batch.review_sink.url == str(tmp_path / "check")
    with pytest.raises(ValueError, match="keep or move:URL"):
        WorkflowFile(source="in", sink="out", steps=["cutout"], on_review="elsewhere")


# --- a run --------------------------------------------------------------------------------


@pytest.mark.usefixtures("scored")
def test_flagged_results_are_recorded_counted_and_kept_in_the_sink(
        shoot: MemoryFileSystem, ledger: Ledger):
    summary = run(spec(), ledger)
    assert (summary.done, summary.flagged, summary.routed) == (3, 1, 0)
    assert summary.review_threshold == 0.5
    hard = ledger.get(f"{SRC}/sub/hard.png", DST)
    assert hard is not None and hard.review == HARD_REVIEW and hard.flagged
    assert "review" not in hard.details["steps"]["cutout"]  # one copy: the column
    assert shoot.exists("/out/sub/hard.png") and shoot.exists("/out/easy.png")


@pytest.mark.usefixtures("scored")
def test_on_review_move_writes_flagged_results_to_the_review_location(
        shoot: MemoryFileSystem, ledger: Ledger, tmp_path: Path):
    batch = spec(on_review=f"move:{CHECK}")
    summary = run(batch, ledger, thumbs=tmp_path / "thumbs")
    assert (summary.done, summary.flagged, summary.routed) == (3, 1, 1)
    assert not shoot.exists("/out/sub/hard.png")
    moved = Image.open(io.BytesIO(shoot.cat_file("/check/sub/hard.png")))
    assert moved.mode == "RGBA" and np.asarray(moved)[60, 84, 3] > 200  # a real cutout
    assert sorted(shoot.find("/out")) == ["/out/easy.png", "/out/other.png"]
    hard = ledger.get(f"{SRC}/sub/hard.png", DST)
    assert hard is not None and hard.status == "done"
    assert hard.details["routed_to"] == f"{CHECK}/sub/hard.png"
    assert hard.output_url == f"{DST}/sub/hard.png"  # the name it was given stays its own
    assert "on_success_error" not in hard.details

    again = run(batch, ledger)  # done, in the review location: nothing is redone
    assert (again.done, again.skipped) == (0, 3)

    # the file commands' way (no ledger of its own): an output at the review location counts
    with Ledger(Path(":memory:")) as fresh:
        resumed = run(spec(on_review=f"move:{CHECK}", skip_existing=True), fresh)
    assert (resumed.done, resumed.skipped) == (0, 3)


@pytest.mark.usefixtures("scored")
def test_a_redone_result_is_in_one_place_only(shoot: MemoryFileSystem, ledger: Ledger):
    move = f"move:{CHECK}"
    first = run(spec(on_review=move, review_threshold=0.0), ledger)  # nothing flagged
    assert (first.done, first.routed) == (3, 0) and shoot.exists("/out/sub/hard.png")
    shoot.pipe("/in/sub/hard.png", disc((30, 60, 200), shift=6))  # changed: redone, flagged
    second = run(spec(on_review=move), ledger)
    assert (second.done, second.routed) == (1, 1)
    assert shoot.exists("/check/sub/hard.png") and not shoot.exists("/out/sub/hard.png")
    shoot.pipe("/in/sub/hard.png", disc((30, 60, 200), shift=2))  # redone, passes this time
    third = run(spec(on_review=move, review_threshold=0.0), ledger)
    assert (third.done, third.routed) == (1, 0)
    assert shoot.exists("/out/sub/hard.png") and not shoot.exists("/check/sub/hard.png")
    hard = ledger.get(f"{SRC}/sub/hard.png", DST)
    assert hard is not None and "routed_to" not in hard.details


@pytest.mark.usefixtures("scored")
def test_a_threshold_given_to_the_run_decides_the_flags(shoot: MemoryFileSystem,
                                                        ledger: Ledger):
    summary = run(spec(review_threshold=0.95), ledger)
    assert (summary.flagged, summary.review_threshold) == (3, 0.95)
    assert all(item.flagged for item in ledger.items())


@pytest.mark.usefixtures("scored")
def test_the_summary_json_lists_items_worst_first_with_their_review(
        shoot: MemoryFileSystem, ledger: Ledger):
    shoot.pipe("/in/broken.png", b"not an image")
    summary = run(spec(on_review=f"move:{CHECK}"), ledger)
    data = json.loads(json.dumps(summary_json(summary, ledger, DST)))
    assert data["review"] == {"threshold": 0.5, "this_run": 1, "moved": 1, "ledger": 1}
    items = data["items"]
    assert [i["input"].rsplit("/", 1)[-1] for i in items] == [
        "broken.png", "hard.png", "easy.png", "other.png"]
    assert items[0]["status"] == "failed" and items[0]["review"] is None and items[0]["error"]
    assert items[1]["review"]["reasons"] == HARD_REVIEW["reasons"]
    assert items[1]["output"] == f"{CHECK}/sub/hard.png"
    assert items[2]["review"]["score"] == 0.93 and items[2]["output"] == f"{DST}/easy.png"
    assert data["items_left_out"] == 0
    short = summary_json(summary, ledger, DST, max_items=2)
    assert len(short["items"]) == 2 and short["items_left_out"] == 2


@pytest.mark.usefixtures("scored")
def test_the_html_report_shows_flagged_results_first_with_their_reasons(
        shoot: MemoryFileSystem, ledger: Ledger, tmp_path: Path):
    thumbs = tmp_path / "thumbs"
    summary = run(spec(), ledger, thumbs=thumbs)
    page = write_html_report(tmp_path / "report.html", ledger, DST, thumbs,
                             summary).read_text()
    review = page[page.index('<section id="review">'):page.index('<section id="contact')]
    assert "To review (1)" in review and "sub/hard.png" in review
    assert "undecided edge 12 %; subject touches 3 borders" in review and "0.21" in review
    assert "easy.png" not in review
    sheet = page[page.index('<section id="contact'):]
    captions = [sheet.index(name) for name in ("sub/hard.png", "easy.png", "other.png")]
    assert captions == sorted(captions), "the sheet is worst first"
    assert sheet.count('class="pair flagged"') == 1
    assert "to review: 0.21 (undecided edge 12 %" in sheet
    assert "score 0.93" in sheet
    assert page.index('id="failures"') < page.index('id="review"') < page.index('id="contact')


# --- a review location never costs a result or an input -------------------------------------


@pytest.mark.parametrize("review", [DST, f"{DST}/check", "memory://", f"{DST}/"])
def test_a_review_location_in_or_around_the_sink_is_refused(review: str):
    with pytest.raises(InvalidParameterError, match="outside --output and the inputs"):
        spec(on_review=f"move:{review}")


def test_a_review_location_in_or_around_the_source_is_refused(ledger: Ledger):
    for review in (SRC, f"{SRC}/check"):
        with pytest.raises(InvalidParameterError, match="outside --output and the inputs"):
            BatchRunner(spec(on_review=f"move:{review}"), ledger, InlineBackend())
    # the file commands' inputs are their own files: a folder holding one is refused
    entry = Entry("memory://in/sub/hard.png", "/in/sub/hard.png", "s", "sub/hard.png")
    with pytest.raises(InvalidParameterError, match="outside --output and the inputs"):
        BatchRunner(spec(on_review=f"move:{SRC}/sub"), ledger, InlineBackend(),
                    entries=[entry])
    BatchRunner(spec(on_review=f"move:{SRC}/check"), ledger, InlineBackend(), entries=[entry])


def test_the_commands_refuse_a_review_folder_inside_the_output(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(disc((200, 30, 30)))
    for args in (["batch", "in", "out", "--jobs", "1"],
                 ["cutout", "in", "-o", "out", "--jobs", "1"]):
        result = CliRunner().invoke(app, [*args, "--on-review", "move:out/check"])
        assert result.exit_code == 2, result.output
        assert "must name a folder outside --output and the inputs" in " ".join(
            result.output.split())
    assert not (tmp_path / "out").exists()


@pytest.mark.usefixtures("scored")
def test_two_batches_sharing_a_review_folder_keep_each_others_results(
        shoot: MemoryFileSystem, ledger: Ledger, tmp_path: Path):
    move = f"move:{CHECK}"
    first = run(spec(on_review=move), ledger)
    assert first.routed == 1 and shoot.exists("/check/sub/hard.png")
    theirs = shoot.cat_file("/check/sub/hard.png")
    shoot.pipe("/in2/sub/hard.png", disc((200, 30, 30)))  # the same name, a result that passes
    other = BatchSpec(Location("memory://in2"), Location("memory://out2"),
                      tuple(make_steps([("cutout", {})])), backoff=0.01, settle=0.0,
                      on_review=move)
    with Ledger(tmp_path / "other.ledger.db") as own:
        second = run(other, own)
    assert (second.done, second.routed) == (1, 0) and shoot.exists("/out2/sub/hard.png")
    assert shoot.cat_file("/check/sub/hard.png") == theirs  # the first batch's result stays


@pytest.mark.usefixtures("scored")
def test_a_file_the_ledger_did_not_write_is_never_deleted(shoot: MemoryFileSystem,
                                                          tmp_path: Path):
    shoot.pipe("/out/sub/hard.png", b"someone else's file")
    with Ledger(tmp_path / "fresh.ledger.db") as fresh:  # no record of this input
        summary = run(spec(on_review=f"move:{CHECK}"), fresh)
    assert summary.routed == 1 and shoot.exists("/check/sub/hard.png")
    assert shoot.cat_file("/out/sub/hard.png") == b"someone else's file"


@pytest.mark.usefixtures("scored")
def test_a_result_redone_with_new_settings_leaves_the_review_location(
        shoot: MemoryFileSystem, ledger: Ledger):
    move = f"move:{CHECK}"
    assert run(spec(on_review=move), ledger).routed == 1
    shoot.pipe("/in/sub/hard.png", disc((30, 60, 200), shift=2))  # changed and new settings
    lax = spec(on_review=move, review_threshold=0.0, output=OutputSpec(png_compression=1))
    assert (run(lax, ledger).done, shoot.exists("/check/sub/hard.png")) == (3, False)
    assert shoot.exists("/out/sub/hard.png")


@pytest.mark.usefixtures("scored")
def test_the_file_just_written_is_never_deleted(shoot: MemoryFileSystem):
    # what the runner refuses (review location = sink), an item handed it must still survive
    work = WorkItem(source=Location(SRC), source_path="/in/sub/hard.png", sink=Location(DST),
                    output_path="/out/sub/hard.png", steps=tuple(make_steps([("cutout", {})])),
                    output=OutputSpec(), review_sink=Location(DST), review_rel="sub/hard.png",
                    earlier=f"{DST}/sub/hard.png")
    outcome = item_module.process(work)
    assert outcome.ok and outcome.routed_to == f"{DST}/sub/hard.png"
    assert shoot.exists("/out/sub/hard.png")


def test_a_whole_bucket_sink_names_outputs_without_a_leading_slash(ledger: Ledger):
    runner = BatchRunner(BatchSpec(Location(SRC), Location("memory://"), ()), ledger,
                         InlineBackend())
    assert runner._output_rel("memory://sub/x.png") == "sub/x.png"
    dropbox = BatchRunner(BatchSpec(Location(SRC), Location("dropbox://"), ()), ledger,
                          InlineBackend())
    assert dropbox._output_rel("dropbox://x.png") == "x.png"
