"""What every file command gets from running through the batch runner: ``--report`` (the
batch's HTML report) and ``--ledger`` (resume by what was done, not only by what exists);
without them nothing but the outputs is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner, Result

import lampyris.cli.file_commands as cli_files
from lampyris.cli.app import app
from support.photos import photo


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("LAMPYRIS_OUTPUT", "LAMPYRIS_JOBS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli_files, "console", Console(stderr=True, width=500, no_color=True))
    for name, stops in (("a.jpg", -1.0), ("sub/b.png", 0.5)):
        (tmp_path / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo(stops, width=96, height=72)).save(tmp_path / "in" / name)
    return tmp_path


def edit(*args: str) -> str:
    result: Result = CliRunner().invoke(app, ["edit", "in", "-o", "out", "--jobs", "1", *args])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_report_shows_the_run_and_nothing_else_is_left_behind(workdir: Path) -> None:
    text = edit("--exposure", "0.5", "--report", "edit.html")
    assert "done 2 · skipped 0 · failed 0" in text and "report: edit.html" in text
    html = (workdir / "edit.html").read_text()
    assert "lampyris edit report" in html and str(workdir / "in" / "sub" / "b.png") in html
    assert html.count("data:image/jpeg;base64,") == 4  # before and after, for both
    assert sorted(p.relative_to(workdir).as_posix() for p in workdir.rglob("*")
                  if p.is_file() and not p.is_relative_to(workdir / "in")) == [
        "edit.html", "out/a.jpg", "out/sub/b.png"]


def test_a_ledger_resumes_by_what_was_done_with_the_same_settings(workdir: Path) -> None:
    assert "done 2 · skipped 0" in edit("--exposure", "0.5", "--ledger", "edit.db")
    assert (workdir / "edit.db").is_file()
    # --overwrite replaces what exists, but the ledger knows these were done so
    assert "done 0 · skipped 2" in edit("--exposure", "0.5", "--ledger", "edit.db",
                                        "--overwrite")
    (workdir / "in" / "a.jpg").write_bytes((workdir / "in" / "a.jpg").read_bytes() + b"\0")
    assert "done 1 · skipped 1" in edit("--exposure", "0.5", "--ledger", "edit.db",
                                        "--overwrite")
    assert "done 2 · skipped 0" in edit("--exposure", "0.3", "--ledger", "edit.db",
                                        "--overwrite")
    assert "done 0 · skipped 2" in edit("--exposure", "0.1", "--ledger", "edit.db")
