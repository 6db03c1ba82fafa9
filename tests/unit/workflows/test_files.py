"""Turning files, folders and globs into (source, destination) tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from lampyris.workflows.files import expand_inputs, same_format


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    for name in ("a.jpg", "b.PNG", "sub/c.webp", "sub/deep/d.tiff", "notes.txt", "sub/e.heic"):
        touch(root / name)
    return root


def relative(tasks, out: Path) -> list[str]:
    return sorted(t.destination.relative_to(out).as_posix() for t in tasks)


def test_folder_keeps_its_tree_and_takes_only_images(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    tasks, problems = expand_inputs([str(tree)], out, ".png")
    assert problems == []
    assert relative(tasks, out) == ["a.png", "b.png", "sub/c.png", "sub/deep/d.png", "sub/e.png"]
    assert {t.source for t in tasks} == {
        (tree / n).resolve() for n in ("a.jpg", "b.PNG", "sub/c.webp", "sub/deep/d.tiff",
                                       "sub/e.heic")
    }


def test_a_file_lands_at_the_top_whatever_its_suffix(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    tasks, problems = expand_inputs([str(tree / "sub" / "deep" / "d.tiff"),
                                     str(tree / "notes.txt")], out, ".webp")
    assert problems == []
    assert relative(tasks, out) == ["d.webp", "notes.webp"]  # named files are tried anyway


def test_glob_keeps_the_tree_below_its_first_wildcard(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    tasks, problems = expand_inputs([str(tree / "**" / "*.webp"), str(tree / "*.jpg")], out,
                                    ".png")
    assert problems == []
    assert relative(tasks, out) == ["a.png", "sub/c.png"]


def test_output_folder_inside_the_input_is_never_read(tree: Path) -> None:
    out = tree / "cutouts"
    touch(out / "a.png")  # a previous run's result
    tasks, _ = expand_inputs([str(tree)], out, ".png")
    assert all(not t.source.is_relative_to(out.resolve()) for t in tasks)
    assert len(tasks) == 5


def test_colliding_outputs_and_missing_inputs_are_reported(tmp_path: Path) -> None:
    a_jpg, a_png = touch(tmp_path / "in" / "a.jpg"), touch(tmp_path / "in" / "a.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    tasks, problems = expand_inputs(
        [str(a_jpg), str(a_png), str(a_jpg), str(tmp_path / "nope.jpg"), str(empty),
         str(tmp_path / "*.gif")], out, ".png")
    assert [t.source for t in tasks] == [a_jpg.resolve()]  # the same file twice is one task
    reasons = {Path(p.source).name: p.reason for p in problems}
    assert "already comes from" in reasons["a.png"]
    assert reasons["nope.jpg"] == "no such file or folder"
    assert reasons["empty"] == "folder holds no images"
    assert reasons["*.gif"] == "pattern matches no images"


@pytest.mark.parametrize(("name", "fmt"), [("a.jpg", "jpeg"), ("a.JPEG", "jpeg"),
                                           ("a.webp", "webp"), ("a.png", "png"),
                                           ("a.tiff", "png"), ("a.heic", "png")])
def test_same_format_keeps_what_can_be_written(name: str, fmt: str) -> None:
    assert same_format(Path(name)) == fmt


def test_outputs_can_keep_their_input_format(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    tasks, problems = expand_inputs([str(tree)], out, lambda name: f".{same_format(name)}")
    assert not problems
    assert relative(tasks, out) == ["a.jpeg", "b.png", "sub/c.webp", "sub/deep/d.png",
                                    "sub/e.png"]
