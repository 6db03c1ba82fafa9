"""The run's JSON summary and its self-contained HTML report, built from a real ledger."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from lampyris.workflows.batch import Failure, RunSummary
from lampyris.workflows.ledger import Ledger, LedgerItem
from lampyris.workflows.report import summary_json, write_html_report, write_json

SOURCE, DEST = "file:///in/", "file:///out/"
HOSTILE = "<script>alert(1)</script>.jpg"


class Page(HTMLParser):
    """What the report shows: tags seen, image sources, table rows, text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def body_rows(self) -> list[list[str]]:
        return [row for row in self.rows if row and row[0] != "File"]


def jpeg(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(out, "JPEG")
    return out.getvalue()


def done_item(run_id: int, rel: str, thumbs: Path | None, index: int) -> LedgerItem:
    details: dict[str, object] = {"width": 640 + index, "height": 480, "output_bytes": 2048}
    if thumbs is not None:
        for kind, color in (("before", (200, 30, 30)), ("after", (30, 200, 30))):
            name = f"{index:04d}-{kind}.jpg"
            (thumbs / name).write_bytes(jpeg(color))
            details[f"thumb_{kind}"] = name
    return LedgerItem(input_url=SOURCE + rel, dest=DEST, rel=rel, fingerprint="f",
                      status="done", run_id=run_id, seconds=0.25 + index, attempts=1,
                      output_url=DEST + rel, details=details)


@pytest.fixture
def thumbs(tmp_path: Path) -> Path:
    folder = tmp_path / "thumbs"
    folder.mkdir()
    return folder


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "run.ledger.db") as ledger:
        yield ledger


@pytest.fixture
def summary(ledger: Ledger, thumbs: Path) -> RunSummary:
    """Three done (two with thumbnails, one hostile name), two failed, one pending, and an
    item of another destination that must not appear."""
    run_id = ledger.start_run(SOURCE, DEST, ["cutout", "trim"])
    ledger.put(done_item(run_id, "a/one.jpg", thumbs, 1))
    ledger.put(done_item(run_id, HOSTILE, thumbs, 2))
    ledger.put(done_item(run_id, "no-thumbs.jpg", None, 3))
    failures = [("bad.jpg", "decode: cannot identify image <b>bold</b> & co"),
                ("gone.png", "fetch: [Errno 2] No such file")]
    for rel, reason in failures:
        ledger.put(LedgerItem(input_url=SOURCE + rel, dest=DEST, rel=rel, fingerprint="f",
                              status="failed", error=reason, attempts=3, run_id=run_id))
    ledger.put(LedgerItem(input_url=SOURCE + "later.jpg", dest=DEST, rel="later.jpg",
                          fingerprint="f"))
    ledger.put(LedgerItem(input_url=SOURCE + "x.jpg", dest="file:///elsewhere/", rel="x.jpg",
                          fingerprint="f", status="failed", error="elsewhere"))
    ledger.finish_run(run_id, "finished")
    return RunSummary(run_id, listed=6, done=3, skipped=1, failed=2, retries=4, seconds=2.0,
                      failures=[Failure(SOURCE + rel, reason) for rel, reason in failures])


def test_json_has_this_runs_counts_the_ledger_totals_and_the_failures(
        summary: RunSummary, ledger: Ledger, tmp_path: Path) -> None:
    data = summary_json(summary, ledger, DEST)
    assert data["run"]["id"] == summary.run_id
    assert data["run"]["source"] == SOURCE and data["run"]["dest"] == DEST
    assert data["run"]["steps"] == ["cutout", "trim"]
    assert data["run"]["outcome"] == "finished"
    assert data["this_run"] == {"listed": 6, "done": 3, "unchanged": 0, "skipped": 1,
                                "failed": 2, "standing_failures": 0, "with_notices": 0,
                                "still_being_written": 0, "retries": 4, "interrupted": False,
                                "seconds": 2.0, "images_per_second": 1.5}
    assert data["ledger"] == {"done": 3, "failed": 2, "pending": 1, "running": 0, "total": 6}
    assert [f["input"] for f in data["failures"]] == [SOURCE + "bad.jpg", SOURCE + "gone.png"]
    assert data["failures"][0]["reason"].startswith("decode: cannot identify")
    assert data["failures"][0]["standing"] is False
    assert data["failures_left_out"] == 0

    path = write_json(tmp_path / "reports" / "run.json", data)
    assert json.loads(path.read_text(encoding="utf-8")) == data
    assert [p.name for p in path.parent.iterdir()] == ["run.json"]  # no temp file left


def test_json_caps_the_failures_and_says_how_many_were_left_out(
        summary: RunSummary, ledger: Ledger) -> None:
    summary.failures = [Failure(f"{SOURCE}{i}.jpg", "boom") for i in range(7)]
    data = summary_json(summary, ledger, DEST, max_failures=5)
    assert len(data["failures"]) == 5
    assert data["failures_left_out"] == 2


def test_json_of_a_run_the_ledger_does_not_know(ledger: Ledger) -> None:
    data = summary_json(RunSummary(99), ledger, DEST)
    assert data["run"]["id"] == 99 and data["run"]["steps"] == []
    assert data["ledger"]["total"] == 0 and data["failures"] == []
    json.dumps(data)  # serialisable


def test_html_embeds_the_thumbnail_pairs_and_lists_the_failures(
        summary: RunSummary, ledger: Ledger, thumbs: Path, tmp_path: Path) -> None:
    path = write_html_report(tmp_path / "report.html", ledger, DEST, thumbs, summary,
                             title="Catalogue <spring>")
    raw = path.read_text(encoding="utf-8")
    page = Page(raw)

    assert len(page.images) == 2 * 2  # two done items have thumbnails, one has none
    colors = []
    for image in page.images:
        src = image["src"] or ""
        assert src.startswith("data:image/jpeg;base64,")
        decoded = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert decoded.format == "JPEG"
        colors.append(decoded.convert("RGB").getpixel((16, 12)))
    assert [c[0] > c[1] for c in colors] == [True, False, True, False]  # before, after

    assert page.body_rows == [
        ["bad.jpg", "", "3", "decode: cannot identify image <b>bold</b> & co"],
        ["gone.png", "", "3", "fetch: [Errno 2] No such file"],
    ]
    text = "".join(page.text)
    assert "a/one.jpg" in text and "641×480" in text and "1.25 s" in text
    assert "Catalogue <spring>" in text and "cutout, trim" in text
    assert "elsewhere" not in text  # another destination's items stay out
    assert "more not shown" not in text and "more failures" not in text


def test_html_escapes_hostile_names_and_reasons(
        summary: RunSummary, ledger: Ledger, thumbs: Path, tmp_path: Path) -> None:
    raw = write_html_report(tmp_path / "report.html", ledger, DEST, thumbs, summary,
                            ).read_text(encoding="utf-8")
    page = Page(raw)
    assert "<script" not in raw.lower() and "<b>" not in raw
    assert "script" not in page.tags and "b" not in page.tags
    assert HOSTILE in "".join(page.text)  # shown as text, not run as markup
    assert any(image["alt"] == f"after: {HOSTILE}" for image in page.images)
    assert "http://" not in raw and "https://" not in raw  # nothing fetched from outside


def test_html_caps_the_sheet_and_the_failures_with_a_note(
        ledger: Ledger, thumbs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = ledger.start_run(SOURCE, DEST, ["cutout"])
    for i in range(7):
        ledger.put(done_item(run_id, f"img{i}.jpg", thumbs, i))
    for i in range(5):
        ledger.put(LedgerItem(input_url=f"{SOURCE}bad{i}.jpg", dest=DEST, rel=f"bad{i}.jpg",
                              fingerprint="f", status="failed", error="boom", attempts=1))
    ledger.finish_run(run_id, "finished")

    reads: list[str] = []
    read_bytes = Path.read_bytes

    def spy(self: Path) -> bytes:
        reads.append(self.name)
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    raw = write_html_report(tmp_path / "report.html", ledger, DEST, thumbs,
                            max_pairs=3, max_failures=2).read_text(encoding="utf-8")
    page = Page(raw)
    assert len(page.images) == 3 * 2
    assert len(reads) == 3 * 2  # only the thumbnails shown are read
    assert len(page.body_rows) == 2
    text = " ".join(page.text)
    assert "4 more not shown" in text
    assert "3 more failures not shown" in text
    assert "Failures (5)" in text
    assert "done7" in "".join(page.text)  # the header counts every done item, not the shown


def test_missing_thumbnails_and_unsafe_names_are_skipped(
        ledger: Ledger, thumbs: Path, tmp_path: Path) -> None:
    run_id = ledger.start_run(SOURCE, DEST, ["cutout"])
    ok = done_item(run_id, "ok.jpg", thumbs, 1)
    missing = done_item(run_id, "missing.jpg", thumbs, 2)
    (thumbs / missing.details["thumb_after"]).unlink()
    escaping = done_item(run_id, "escape.jpg", thumbs, 3)
    (tmp_path / "secret.jpg").write_bytes(jpeg((0, 0, 0)))
    escaping.details["thumb_before"] = "../secret.jpg"
    for item in (ok, missing, escaping):
        ledger.put(item)
    page = Page(write_html_report(tmp_path / "r.html", ledger, DEST, thumbs)
                .read_text(encoding="utf-8"))
    assert len(page.images) == 2
    assert "2 thumbnail pair(s) could not be read" in "".join(page.text)


def test_html_of_an_empty_ledger(ledger: Ledger, thumbs: Path, tmp_path: Path) -> None:
    page = Page(write_html_report(tmp_path / "r.html", ledger, DEST, thumbs)
                .read_text(encoding="utf-8"))
    text = "".join(page.text)
    assert page.images == [] and page.body_rows == []
    assert "No thumbnails were recorded" in text and "Nothing failed." in text
