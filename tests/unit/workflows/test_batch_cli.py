"""``lampyris batch``, ``lampyris batch status`` and ``lampyris run`` through the real command
line. Three tests start the local backend's worker processes; the rest fail before any start."""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner, Result

import lampyris.cli.batch as cli_batch
from lampyris.cli.app import app
from lampyris.workflows.ledger import Ledger, LedgerItem
from lampyris.workflows.look import STATE, read_look
from support.photos import luminance

Image_ = Callable[..., bytes]
Check = Callable[[bytes], None]


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder with none of the batch options' environment variables and a
    per-user state directory of its own (the consoles never wrap a pipe: no width set)."""
    monkeypatch.chdir(tmp_path)
    for name in ("LAMPYRIS_LEDGER", "LAMPYRIS_JOBS", "LAMPYRIS_SERVER_URL", "LAMPYRIS_CLIENT_ID",
                 "LAMPYRIS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAMPYRIS_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def flat(result: Result) -> str:
    return " ".join(result.output.split())


def put(folder: Path, rel: str, data: bytes) -> None:
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_bytes(data)


def test_batch_then_status(workdir: Path, image: Image_, is_cutout: Check) -> None:
    put(workdir / "in", "a.png", image(0))
    put(workdir / "in", "sub/b.png", image(1))
    result = invoke("batch", "in", "out", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "done 2 · unchanged 0 · skipped 0 · failed 0" in flat(result)
    for rel in ("a.png", "sub/b.png"):
        is_cutout((workdir / "out" / rel).read_bytes())

    records = workdir / "out" / ".lampyris"  # the destination's own ledger, report, summary
    summary = json.loads((records / "summary.json").read_text())
    assert summary["this_run"]["done"] == 2 and summary["this_run"]["failed"] == 0
    assert summary["ledger"] == {"done": 2, "failed": 0, "pending": 0, "running": 0, "total": 2}
    assert summary["run"]["source"] == str(workdir / "in")
    assert summary["run"]["dest"] == str(workdir / "out")
    assert (summary["run"]["outcome"], summary["run"]["steps"]) == ("finished", ["cutout"])
    report = (records / "report.html").read_text()
    assert report.startswith("<!DOCTYPE html>") and report.rstrip().endswith("</html>")
    assert report.count("data:image/jpeg;base64,") == 4  # before and after, per input
    thumbs = records / "ledger.db.thumbs"
    assert len(list(thumbs.iterdir())) == 4

    put(workdir / "in", "broken.png", b"\x89PNG\r\n\x1a\n not really")
    again = invoke("batch", "in", "out", "--jobs", "1")
    assert again.exit_code == 1, again.output
    assert "done 0 · unchanged 0 · skipped 2 · failed 1" in flat(again)
    assert f"✗ {workdir / 'in' / 'broken.png'}:" in flat(again)

    status = invoke("batch", "status", "out")
    assert status.exit_code == 0, status.output
    text = flat(status)
    assert f"{workdir / 'out'}: done 2 · failed 1 · pending 0" in text
    assert "✗ broken.png:" in text and "(1 attempt(s), since " in text
    assert "run 1 " in text and f"{workdir / 'in'} finished" in text and "run 2 " in text
    by_file = invoke("batch", "status", str(records / "ledger.db"))
    assert by_file.output == status.output
    os.chdir(workdir / "out")
    assert invoke("batch", "status").output == status.output  # inside the destination


def test_run_a_workflow_file(workdir: Path, image: Image_) -> None:
    project = workdir / "project"
    put(project / "photos", "shoe.png", image(5))
    (project / "flow.yaml").write_text(
        "source: photos\n"
        "sink: ${OUT_DIR}\n"
        "steps:\n"
        "  - cutout: {background: white}\n"
        "output: {format: jpeg, quality: 85}\n"
        "naming: '{stem}-white.{ext}'\n"
        "concurrency: 1\n"
        "ledger: state/flow.db\n"
    )
    result = CliRunner().invoke(app, ["run", "project/flow.yaml"], env={"OUT_DIR": "catalog"})
    assert result.exit_code == 0, result.output
    with Image.open(project / "catalog" / "shoe-white.jpg") as out:
        assert (out.format, out.size) == ("JPEG", (160, 120))
        assert min(out.getpixel((2, 2))) > 245  # type: ignore[arg-type]
    assert (project / "state" / "flow.db").is_file()  # the file's own ledger wins
    summary = json.loads((project / "state" / "flow.summary.json").read_text())
    assert summary["this_run"]["done"] == 1
    assert (project / "state" / "flow.report.html").is_file()


def test_jpeg_without_a_background_is_refused(workdir: Path, image: Image_) -> None:
    put(workdir / "in", "a.png", image(0))
    result = invoke("batch", "in", "out", "--format", "jpeg")
    assert result.exit_code == 2
    assert "JPEG has no transparency: give the cutout a background colour" in flat(result)
    assert not (workdir / "out").exists()


def test_a_fill_step_after_a_background_is_refused(workdir: Path) -> None:
    result = invoke("batch", "in", "out", "--steps", "cutout,fill", "--background", "white")
    assert result.exit_code == 2
    assert "step 'fill' fills a cutout's transparent background" in flat(result)
    assert not (workdir / "out").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["batch", "in"], "usage: lampyris batch SRC DST"),
    (["batch", "status", "a.db", "b.db"], "usage: lampyris batch status [DST | LEDGER]"),
    (["batch", "status"], "which batch? lampyris batch status DST"),
    (["batch", "status", "nowhere"], "nothing has run into that destination yet"),
    (["batch", "in", "out", "--on-success", "archive"], "on_success is keep, delete or move:URL"),
    (["batch", "in", "out", "--storage-option", "endpoint"], "--storage-option takes"),
    (["batch", "in", "out", "--backend", "remote"], "the remote backend needs --server"),
    (["run", "missing.yaml"], "missing.yaml: No such file"),
])
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in flat(result)


def test_a_workflow_file_with_bad_ray_settings_exits_2(workdir: Path) -> None:
    (workdir / "flow.yaml").write_text("source: in\nsink: out\nsteps: [cutout]\nbackend: ray\n"
                                       "ray: {gpus_per_worker: -1, nodes: 3}\n")
    result = invoke("run", "flow.yaml")
    assert result.exit_code == 2
    assert "ray.gpus_per_worker: Input should be greater than or equal to 0" in flat(result)
    assert "ray.nodes: Extra inputs are not permitted" in flat(result)


def test_a_bad_workflow_file_exits_2(workdir: Path) -> None:
    (workdir / "flow.yaml").write_text("source: in\nsink: out\nsteps: [cutout]\nworkers: 2\n")
    result = invoke("run", "flow.yaml")
    assert result.exit_code == 2
    assert "workers: Extra inputs are not permitted" in flat(result)


def test_dry_run_lists_without_touching_anything(workdir: Path, image: Image_) -> None:
    put(workdir / "in", "a.png", image(0))
    put(workdir / "in", "b.png", image(1))
    result = invoke("batch", "in", "out", "--dry-run")
    assert result.exit_code == 0, flat(result)
    assert "2 to process" in flat(result) and "a.png" in flat(result)
    assert not (workdir / "out").exists()
    assert invoke("batch", "in", "out", "--jobs", "1").exit_code == 0
    again = invoke("batch", "in", "out", "--dry-run")
    assert "0 to process, 2 already done" in flat(again)


def _rgba(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        assert img.mode == "RGBA"
        return np.asarray(img)


def _darker(data: bytes) -> bytes:
    out = io.BytesIO()
    Image.fromarray((np.asarray(Image.open(io.BytesIO(data))) // 3).astype(np.uint8)).save(
        out, "PNG")
    return out.getvalue()


def test_cutout_then_consistent_auto_tone_resumes_with_the_same_look(
        workdir: Path, image: Image_, is_cutout: Check) -> None:
    put(workdir / "in", "a.png", image(0))
    put(workdir / "in", "b.png", image(1))
    cut = invoke("batch", "in", "cut", "--jobs", "1", "--ledger", "cut.db")
    assert cut.exit_code == 0, cut.output
    first = invoke("batch", "in", "out", "--steps", "cutout,auto_tone", "--consistent",
                   "--jobs", "1", "--save-look", "look.json")
    assert first.exit_code == 0, first.output
    assert "house look: key" in flat(first) and "(measured over 2 image(s);" in flat(first)
    for rel in ("a.png", "b.png"):
        is_cutout((workdir / "out" / rel).read_bytes())
        toned, plain = _rgba(workdir / "out" / rel), _rgba(workdir / "cut" / rel)
        assert np.array_equal(toned[..., 3], plain[..., 3])
        subject = plain[..., 3] == 255
        # toned, but a red product alone is only nudged: its colour is its own (issue 14)
        assert luminance(toned[subject]).mean() > 1.05 * luminance(plain[subject]).mean()

    def stored() -> dict[str, object]:
        with Ledger(workdir / "out" / ".lampyris" / "ledger.db") as ledger:
            value = ledger.get_state(str(workdir / "in"), str(workdir / "out"), STATE)
        assert isinstance(value, dict)
        return value

    look = stored()
    assert look["key"] == read_look(workdir / "look.json").key and look["images"] == 2

    put(workdir / "in", "c.png", _darker(image(2)))  # a new, darker input: resumed, not re-measured
    again = invoke("batch", "in", "out", "--steps", "cutout,auto_tone", "--consistent",
                   "--jobs", "1")
    assert again.exit_code == 0, again.output
    assert "from an earlier run over 2 image(s); --remeasure to measure again" in flat(again)
    assert "done 1 · unchanged 0 · skipped 2 · failed 0" in flat(again)
    assert stored() == look

    dry = invoke("batch", "in", "out", "--steps", "cutout,auto_tone", "--consistent",
                 "--dry-run")
    assert "0 to process, 3 already done" in flat(dry)
    redo = invoke("batch", "in", "out", "--steps", "cutout,auto_tone", "--consistent",
                  "--dry-run", "--remeasure")
    assert "measured over the source when the run starts" in flat(redo)
    assert "3 to process" in flat(redo) and stored() == look


@pytest.mark.parametrize(("args", "message"), [
    (["--steps", "cutout", "--consistent"], "needs an auto_tone step"),
    (["--steps", "auto_tone", "--consistent", "--look-file", "x.json"], "alternatives"),
    (["--steps", "auto_tone", "--look-file", "x.json"], "x.json: No such file"),
    (["--steps", "auto_tone", "--remeasure"], "need --consistent"),
    (["--steps", "cutout,auto_tone", "--format", "jpeg"], "JPEG has no transparency"),
    (["--steps", "cutout,edit", "--preset", "x.xmp"], "preset"),
])
def test_house_look_usage_errors_exit_2(workdir: Path, args: list[str], message: str) -> None:
    result = invoke("batch", "in", "out", *args)
    assert result.exit_code == 2, result.output
    assert message in flat(result)
    assert not (workdir / "out").exists()


# -- issue 12: nothing lost, nothing hidden -----------------------------------------------------
def test_a_collision_is_refused_by_the_run_the_dry_run_and_a_workflow_file(
        workdir: Path, image: Image_) -> None:
    put(workdir / "in", "0020.jpg", image(0, "JPEG"))
    put(workdir / "in", "0020.png", image(40))
    for args in (["--on-success", "move:done"], ["--dry-run"]):
        result = invoke("batch", "in", "out", *args)
        assert result.exit_code == 2, result.output
        assert (f"{workdir / 'in' / '0020.jpg'} and {workdir / 'in' / '0020.png'} would both "
                f"be written to {workdir / 'out' / '0020.png'}") in result.output
        assert "--naming keep-extension" in result.output
    (workdir / "flow.yaml").write_text("source: in\nsink: out\nsteps: [cutout]\n")
    assert "would both be written" in invoke("run", "flow.yaml").output
    assert not (workdir / "out").exists() and not (workdir / "done").exists()
    assert sorted(p.name for p in (workdir / "in").iterdir()) == ["0020.jpg", "0020.png"]

    moved = invoke("batch", "in", "out", "--naming", "keep-extension", "--on-success",
                   "move:done", "--jobs", "1")
    assert moved.exit_code == 0, moved.output
    assert sorted(p.name for p in (workdir / "out").glob("*.png")) == ["0020.jpg.png",
                                                                       "0020.png.png"]
    assert sorted(p.name for p in (workdir / "done").iterdir()) == ["0020.jpg", "0020.png"]


def test_the_ledger_is_found_from_any_working_directory(workdir: Path, image: Image_) -> None:
    put(workdir / "jobB" / "input", "a.png", image(0))
    put(workdir / "jobB" / "input", "b.png", image(1))
    src, dst = str(workdir / "jobB" / "input"), str(workdir / "jobB" / "output")
    first = invoke("batch", src, dst, "--jobs", "1")
    assert "done 2 · unchanged 0 · skipped 0" in flat(first)
    written = (workdir / "jobB" / "output" / "a.png").stat().st_mtime_ns
    (workdir / "elsewhere").mkdir()
    os.chdir(workdir / "elsewhere")  # as cron does
    again = invoke("batch", src, dst, "--jobs", "1")
    assert again.exit_code == 0, again.output
    assert "done 0 · unchanged 0 · skipped 2 · failed 0" in flat(again)
    assert (workdir / "jobB" / "output" / "a.png").stat().st_mtime_ns == written
    assert f"ledger: {workdir / 'jobB' / 'output' / '.lampyris' / 'ledger.db'}" in flat(again)
    assert not list((workdir / "elsewhere").iterdir())


def test_an_older_ledger_in_the_working_directory_is_adopted(
        workdir: Path, image: Image_) -> None:
    put(workdir / "in", "a.png", image(0))
    old = invoke("batch", "in", "out", "--jobs", "1", "--ledger", "lampyris-batch.ledger.db")
    assert old.exit_code == 0, old.output
    upgraded = invoke("batch", "in", "out", "--jobs", "1")
    assert upgraded.exit_code == 0, upgraded.output
    assert "skipped 1" in flat(upgraded) and "(copied from lampyris-batch.ledger.db" in flat(
        upgraded)
    assert (workdir / "out" / ".lampyris" / "ledger.db").is_file()


def test_a_standing_failure_exits_1_on_every_run(workdir: Path, image: Image_) -> None:
    put(workdir / "in", "a.png", image(0))
    put(workdir / "in", "broken.png", b"\x89PNG\r\n\x1a\n not really")
    assert invoke("batch", "in", "out", "--jobs", "1").exit_code == 1
    for _ in range(2):
        again = invoke("batch", "in", "out", "--jobs", "1")
        assert again.exit_code == 1, again.output
        assert "skipped 1 · failed 0 · still failing 1" in flat(again)
        assert f"✗ {workdir / 'in' / 'broken.png'}:" in flat(again)
        assert "(failing since " in flat(again) and "--retry-failed to try again" in flat(again)
        summary = json.loads((workdir / "out" / ".lampyris" / "summary.json").read_text())
        (failure,) = summary["failures"]
        assert failure["input"] == str(workdir / "in" / "broken.png") and failure["standing"]
        assert failure["since"] and summary["this_run"]["standing_failures"] == 1
    allowed = invoke("batch", "in", "out", "--jobs", "1", "--allow-failures")
    assert allowed.exit_code == 0 and "still failing 1" in flat(allowed)


def test_step_names_take_either_spelling(workdir: Path, image: Image_) -> None:
    put(workdir / "in", "a.png", image(0))
    result = invoke("batch", "in", "out", "--steps", "cutout,auto-tone", "--jobs", "1")
    assert result.exit_code == 0, result.output
    with Ledger(workdir / "out" / ".lampyris" / "ledger.db") as ledger:
        (item,) = ledger.items()
    assert set(item.details["steps"]) == {"cutout", "auto_tone"}


def test_status_json_is_plain_json_on_stdout(workdir: Path, image: Image_) -> None:
    put(workdir / "in", "a.png", image(0))
    put(workdir / "in", "broken.png", b"not an image")
    invoke("batch", "in", "out", "--jobs", "1")
    command = [sys.executable, "-m", "lampyris.cli.app", "batch", "status", "out", "--json"]
    env = {**os.environ, "COLUMNS": "40"}
    piped = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr
    data = json.loads(piped.stdout)
    (dest,) = data["destinations"]
    assert (dest["dest"], dest["done"], dest["failed"]) == (str(workdir / "out"), 1, 1)
    assert dest["failures"][0]["rel"] == "broken.png" and dest["runs"][0]["outcome"]
    if shutil.which("jq"):
        jq = subprocess.run(f"{shlex.join(command)} | jq -r '.destinations[0].failed'",
                            shell=True, capture_output=True, text=True, env=env, timeout=120)
        assert jq.stdout.strip() == "1", jq.stderr
    text = subprocess.run(command[:-1], capture_output=True, text=True, env=env, timeout=120)
    assert f"{workdir / 'out'}: done 1 · failed 1 · pending 0" in text.stdout  # stdout too


def flagged_ledger(path: Path, dest: str, count: int) -> None:
    """A destination's ledger with ``count`` results flagged for review (scores 0.05 apart,
    long reasons, the worst moved to a review folder), one that passed and one not scored."""
    reasons = ["undecided edge 12 %, the subject's outline is unsure",
               "subject touches 3 borders of the frame"]
    with Ledger(path) as ledger:
        for i in range(count):
            ledger.put(LedgerItem(
                f"{dest}-in/deep/folder/name/shot-{i:02d}.png", dest,
                f"deep/folder/name/shot-{i:02d}.png", "f", "done",
                output_url=f"{dest}/deep/folder/name/shot-{i:02d}.png",
                details={"routed_to": "s3://check/deep/folder/name/shot-00.png"} if i == 0
                else {},
                review={"score": 0.05 * i, "flag": True, "threshold": 0.5, "reasons": reasons}))
        ledger.put(LedgerItem(f"{dest}-in/fine.png", dest, "fine.png", "f", "done",
                              review={"score": 0.9, "flag": False, "threshold": 0.5,
                                      "reasons": []}))
        ledger.put(LedgerItem(f"{dest}-in/toned.png", dest, "toned.png", "f", "done"))


def test_status_lists_the_worst_results_to_review_on_whole_lines(workdir: Path) -> None:
    dest = str(workdir / "out")
    flagged_ledger(workdir / "l.db", dest, 12)
    command = [sys.executable, "-m", "lampyris.cli.app", "batch", "status", "l.db"]
    env = {**os.environ, "COLUMNS": "40"}
    piped = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr
    lines = piped.stdout.splitlines()
    assert f"{dest}: done 14 · failed 0 · pending 0 · scored 13 · 12 to review" in lines
    listed = [line for line in lines if line.startswith("  ? ")]
    assert listed[0] == ("  ? deep/folder/name/shot-00.png: score 0.00: undecided edge 12 %, "
                         "the subject's outline is unsure, subject touches 3 borders of the "
                         "frame → s3://check/deep/folder/name/shot-00.png")
    assert [line.split(":")[0] for line in listed] == [
        f"  ? deep/folder/name/shot-{i:02d}.png" for i in range(10)], "worst first, 10 shown"
    assert listed[9].startswith("  ? deep/folder/name/shot-09.png: score 0.45: undecided")
    assert "  … and 2 more to review (--json lists all)" in lines

    data = json.loads(subprocess.run([*command, "--json"], capture_output=True, text=True,
                                     env=env, timeout=120).stdout)
    (status,) = data["destinations"]
    assert (status["scored"], status["to_review"], len(status["review"])) == (13, 12, 12)
    worst = status["review"][0]
    assert worst["input"] == f"{dest}-in/deep/folder/name/shot-00.png"
    assert worst["rel"] == "deep/folder/name/shot-00.png" and worst["score"] == 0.0
    assert worst["output"] == "s3://check/deep/folder/name/shot-00.png"
    assert worst["reasons"] == ["undecided edge 12 %, the subject's outline is unsure",
                                "subject touches 3 borders of the frame"]
    assert status["review"][1]["output"] == f"{dest}/deep/folder/name/shot-01.png"


def test_status_of_a_run_nothing_scored_says_nothing_of_review(workdir: Path) -> None:
    with Ledger(workdir / "l.db") as ledger:
        ledger.put(LedgerItem("in/a.png", "out", "a.png", "f", "done"))
    result = invoke("batch", "status", "l.db")
    assert result.exit_code == 0, result.output
    assert "out: done 1 · failed 0 · pending 0\n" in result.output
    assert "review" not in result.output and "scored" not in result.output


def test_help_is_whole_at_80_columns_and_serve_names_every_route_family() -> None:
    env = {"COLUMNS": "80"}
    for command in (["batch"], ["run"], ["cutout"], ["serve"], []):
        result = CliRunner().invoke(app, [*command, "--help"], env=env)
        assert result.exit_code == 0, result.output
        assert "…" not in result.output, result.output
        assert max(map(len, result.output.splitlines())) <= 80
    serve = flat(CliRunner().invoke(app, ["serve", "--help"], env=env))
    for family in ("/ims/token/v3", "/sensei/", "/v2/", "/v3/", "/lrService/"):
        assert family in serve, family


def test_an_unexpected_error_is_one_line_unless_debug(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the ledger went away\nsecond line")

    monkeypatch.setattr(cli_batch, "_run_workflow", broken)
    monkeypatch.delenv("LAMPYRIS_DEBUG", raising=False)
    result = invoke("batch", "in", "out")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: unexpected RuntimeError: the ledger went away (run with --debug for the "
        "traceback)"]
    debug = invoke("--debug", "batch", "in", "out")
    assert debug.exit_code == 1 and "Traceback (most recent call last)" in debug.output


def test_a_storage_error_is_one_line_and_debug_adds_where_it_came_from(workdir: Path) -> None:
    plain = invoke("batch", "nowhere", "out")
    assert plain.exit_code == 2
    assert plain.output.strip().splitlines() == [f"error: {workdir / 'nowhere'}: no such folder"]
    debug = invoke("--debug", "batch", "nowhere", "out")
    assert debug.exit_code == 2, debug.output
    assert "Traceback (most recent call last)" in debug.output
    assert "StorageError" in debug.output
    assert debug.output.strip().splitlines()[-1] == plain.output.strip()


def test_a_subject_kept_smaller_than_the_canvas_is_a_notice_everywhere(
        workdir: Path, image: Image_) -> None:
    put(workdir / "in", "small.png", image(0))  # a disc of a few dozen pixels
    result = invoke("batch", "in", "out", "--jobs", "1", "--canvas", "800x800",
                    "--padding", "6%", "--background", "white", "--format", "jpeg")
    assert result.exit_code == 0, result.output  # a notice is not a failure
    line = next(line for line in result.output.splitlines() if "small.png" in line)
    assert "cutout: the subject is" in line and "--max-upscale" in line
    records = workdir / "out" / ".lampyris"
    summary = json.loads((records / "summary.json").read_text())
    assert summary["this_run"]["with_notices"] == 1
    (notice,) = summary["notices"]
    assert notice["input"].endswith("small.png") and "kept at 1x" in notice["notice"]
    report = (records / "report.html").read_text()
    assert 'id="notices"' in report and "kept at 1x" in report
    with Image.open(workdir / "out" / "small.jpg") as out:
        grey = np.asarray(out.convert("L"))
    dark = np.argwhere(grey < 128)  # the disc, at its own size in the middle of the canvas
    height = dark[:, 0].max() - dark[:, 0].min()
    assert 10 < height < 200 and abs(dark[:, 0].mean() - 400) < 40

    allowed = invoke("batch", "in", "out2", "--jobs", "1", "--canvas", "800x800",
                     "--max-upscale", "64", "--background", "white", "--format", "jpeg")
    assert allowed.exit_code == 0 and "--max-upscale" not in allowed.output
