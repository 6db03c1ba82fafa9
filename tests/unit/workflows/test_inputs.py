"""Turning files, folders and globs into (source, destination) tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from lampyris.errors import InvalidParameterError
from lampyris.workflows.inputs import expand_inputs, same_format
from lampyris.workflows.naming import Naming, collision_message, hint


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


def test_missing_inputs_are_reported_and_a_file_named_twice_is_one_task(tmp_path: Path
                                                                        ) -> None:
    a_jpg = touch(tmp_path / "in" / "a.jpg")
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    tasks, problems = expand_inputs(
        [str(a_jpg), str(tmp_path / "in"), str(a_jpg), str(tmp_path / "nope.jpg"), str(empty),
         str(tmp_path / "*.gif")], out, ".png")
    assert [t.source for t in tasks] == [a_jpg.resolve()]  # the same file thrice is one task
    reasons = {Path(p.source).name: p.reason for p in problems}
    assert reasons == {"nope.jpg": "no such file or folder", "empty": "folder holds no images",
                       "*.gif": "pattern matches no images"}


@pytest.fixture
def same_stem(tmp_path: Path) -> Path:
    """``0020.jpg`` and ``0020.png`` side by side, and a ``0020-2.png`` already there."""
    root = tmp_path / "in"
    for name in ("0020.png", "0020.jpg", "0020-2.png", "sub/0020.png"):
        touch(root / name)
    return root


def by_source(tasks, root: Path, out: Path) -> dict[str, str]:
    return {t.source.relative_to(root.resolve()).as_posix():
            t.destination.relative_to(out.resolve()).as_posix() for t in tasks}


@pytest.mark.parametrize("naming", [Naming.stem, None])
def test_two_inputs_of_one_stem_are_refused_naming_both(same_stem: Path, tmp_path: Path,
                                                        naming: Naming | None) -> None:
    out = tmp_path / "out"
    kwargs = {} if naming is None else {"naming": naming}  # stem is the default
    with pytest.raises(InvalidParameterError) as refused:
        expand_inputs([str(same_stem)], out, ".png", **kwargs)
    assert str(refused.value) == collision_message(
        str(out.resolve() / "0020.png"), str((same_stem / "0020.jpg").resolve()),
        str((same_stem / "0020.png").resolve()))
    assert hint() in str(refused.value)


def test_files_named_in_any_order_collide_the_same_way(same_stem: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"0020\.jpg and .*0020\.png would both"):
        expand_inputs([str(same_stem / "0020.png"), str(same_stem / "0020.jpg")],
                      tmp_path / "out", ".png")


def test_keep_extension_names_outputs_by_the_whole_name(same_stem: Path, tmp_path: Path
                                                        ) -> None:
    out = tmp_path / "out"
    tasks, problems = expand_inputs([str(same_stem)], out, ".png",
                                    naming=Naming.keep_extension, sidecar=".xmp")
    assert problems == []
    assert by_source(tasks, same_stem, out) == {
        "0020-2.png": "0020-2.png.png", "0020.jpg": "0020.jpg.png",
        "0020.png": "0020.png.png", "sub/0020.png": "sub/0020.png.png"}


def test_number_gives_the_next_input_the_first_free_numbered_name(same_stem: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "out"
    touch(same_stem / "0020.webp")
    tasks, problems = expand_inputs([str(same_stem)], out, ".png", naming=Naming.number)
    assert problems == []
    # 0020-2.png is another input's output: the numbers skip it
    assert by_source(tasks, same_stem, out) == {
        "0020-2.png": "0020-2.png", "0020.jpg": "0020.png", "0020.png": "0020-3.png",
        "0020.webp": "0020-4.png", "sub/0020.png": "sub/0020.png"}
    assert [t.source.name for t in tasks] == ["0020-2.png", "0020.jpg", "0020.png",
                                              "0020.webp", "0020.png"]  # listing order kept


def test_number_is_the_same_whatever_the_order_on_the_command_line(same_stem: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    names = ["0020.png", "0020.jpg"]
    forward, _ = expand_inputs([str(same_stem / n) for n in names], out, ".png",
                               naming=Naming.number)
    backward, _ = expand_inputs([str(same_stem / n) for n in reversed(names)], out, ".png",
                                naming=Naming.number)
    assert by_source(forward, same_stem, out) == by_source(backward, same_stem, out) == {
        "0020.jpg": "0020.png", "0020.png": "0020-2.png"}


def test_a_sidecar_clash_is_a_collision(tmp_path: Path) -> None:
    """Outputs that keep their input's format do not collide, but their sidecars would."""
    root = tmp_path / "in"
    for name in ("dim.jpg", "dim.png"):
        touch(root / name)
    out = tmp_path / "out"

    def keep(name: Path) -> str:
        return f".{same_format(name)}"

    tasks, _ = expand_inputs([str(root)], out, keep)
    assert relative(tasks, out) == ["dim.jpeg", "dim.png"]  # no sidecar: no clash
    with pytest.raises(InvalidParameterError) as refused:
        expand_inputs([str(root)], out, keep, sidecar=".xmp")
    assert str(refused.value).startswith(
        f"{(root / 'dim.jpg').resolve()} and {(root / 'dim.png').resolve()} would both be "
        f"written to {out.resolve() / 'dim.xmp'}: ")
    assert str(refused.value).endswith(hint(".png"))  # the ways out name images, not sidecars
    numbered, _ = expand_inputs([str(root)], out, keep, sidecar=".xmp", naming=Naming.number)
    assert relative(numbered, out) == ["dim-2.png", "dim.jpeg"]
    kept, _ = expand_inputs([str(root)], out, keep, sidecar=".xmp",
                            naming=Naming.keep_extension)
    assert relative(kept, out) == ["dim.jpg.jpeg", "dim.png.png"]  # sidecars dim.jpg.xmp…


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
