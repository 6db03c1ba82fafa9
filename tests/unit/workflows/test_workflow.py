"""Workflow files: variables, validation errors, step forms, and the spec they become."""

from __future__ import annotations

from pathlib import Path

import pytest

from lampyris.errors import InvalidParameterError
from lampyris.storage.locations import Location
from lampyris.workflows.steps import OutputSpec, Step
from lampyris.workflows.workflow import check_on_success, load_workflow

FULL = """\
source: s3://${BUCKET}/incoming/
sink: out/catalog
storage_options:
  s3: {endpoint_url: "https://minio.internal:9000", key: "${S3_KEY}", secret: "${S3_SECRET}"}
  file: {auto_mkdir: true}
steps:
  - cutout
  - cutout:
  - cutout: {trim: true, padding: "6%", background: white}
output: {format: jpeg, quality: 90}
naming: "{stem}-cut.{ext}"
concurrency: 3
retries: 5
retry_failed: true
on_success: "move:s3://${BUCKET}/done/"
"""


def write(tmp_path: Path, text: str, name: str = "flow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUCKET", "shop")
    monkeypatch.setenv("S3_KEY", "AKIA-test")
    monkeypatch.setenv("S3_SECRET", "s3cr3t with spaces")


def test_variables_are_expanded_everywhere(tmp_path: Path, env: None) -> None:
    workflow = load_workflow(write(tmp_path, FULL))
    assert workflow.source == "s3://shop/incoming/"
    assert workflow.on_success == "move:s3://shop/done/"
    assert workflow.storage_options["s3"] == {
        "endpoint_url": "https://minio.internal:9000", "key": "AKIA-test",
        "secret": "s3cr3t with spaces"}
    assert (workflow.concurrency, workflow.retries, workflow.retry_failed) == (3, 5, True)


def test_a_missing_variable_is_named(tmp_path: Path, env: None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("S3_SECRET")
    with pytest.raises(InvalidParameterError, match=r"\$\{S3_SECRET\} is used but not set"):
        load_workflow(write(tmp_path, FULL))


def test_steps_as_names_and_as_mappings(tmp_path: Path, env: None) -> None:
    workflow = load_workflow(write(tmp_path, FULL))
    assert workflow.chain() == [
        ("cutout", {}),
        ("cutout", {}),
        ("cutout", {"trim": True, "padding": "6%", "background": "white"}),
    ]


def test_the_spec_resolves_local_paths_against_the_base(tmp_path: Path, env: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path.parent)  # the base decides, not the working directory
    base = tmp_path / "project"
    spec = load_workflow(write(tmp_path, FULL)).batch_spec(base)
    assert spec.source == Location("s3://shop/incoming/", {
        "endpoint_url": "https://minio.internal:9000", "key": "AKIA-test",
        "secret": "s3cr3t with spaces"})
    assert spec.sink == Location(str((base / "out" / "catalog").resolve()), {"auto_mkdir": True})
    assert spec.steps == (Step("cutout"), Step("cutout"), Step("cutout", {
        "trim": True, "padding": "6%", "background": "white"}))
    assert spec.output == OutputSpec("jpeg", 90, False)
    assert (spec.naming, spec.retries, spec.retry_failed) == ("{stem}-cut.{ext}", 5, True)
    assert spec.on_success == "move:s3://shop/done/"
    assert spec.output_rel("a/b.png") == "b-cut.jpg"


def test_dotted_relative_paths_are_normalised(tmp_path: Path) -> None:
    flow = write(tmp_path, "source: ../photos\nsink: ./out/\nsteps: [cutout]\n")
    spec = load_workflow(flow).batch_spec(tmp_path / "sub")
    assert spec.source.url == str(tmp_path / "photos")
    assert spec.sink.url == str(tmp_path / "sub" / "out")
    assert spec.source.options == {}


def test_the_minimal_workflow_takes_the_defaults(tmp_path: Path) -> None:
    workflow = load_workflow(write(tmp_path, "source: in\nsink: memory://out\nsteps: [cutout]\n"))
    assert (workflow.backend, workflow.concurrency, workflow.on_success) == ("local", 0, "keep")
    assert (workflow.naming, workflow.retries, workflow.ledger) == ("stem", 2, None)
    spec = workflow.batch_spec(tmp_path)
    assert spec.output == OutputSpec()
    assert spec.sink == Location("memory://out")


@pytest.mark.parametrize(("text", "message"), [
    ("source: [unclosed\n", "not valid YAML"),
    ("- just\n- a list\n", "a workflow is a mapping"),
    ("", "a workflow is a mapping"),
    ("source: a\nsink: b\nsteps: [cutout]\nconcurency: 2\n", r"concurency: Extra inputs"),
    ("source: a\nsteps: [cutout]\n", "sink: Field required"),
    ("source: a\nsink: b\nsteps: [cutout]\noutput: {format: gif}\n", "output.format"),
    ("source: a\nsink: b\nsteps: [cutout]\noutput: {quality: 0}\n", "output.quality"),
    ("source: a\nsink: b\nsteps: [cutout]\nbackend: cloud\n", "backend"),
    ("source: a\nsink: b\nsteps: [cutout]\non_success: archive\n",
     "on_success is keep, delete or move:URL"),
])
def test_problems_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidParameterError, match=message) as caught:
        load_workflow(path)
    assert str(caught.value).startswith(str(path))


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="No such file"):
        load_workflow(tmp_path / "nope.yaml")


def test_a_step_with_two_names_is_refused(tmp_path: Path) -> None:
    flow = write(tmp_path, "source: a\nsink: b\nsteps:\n  - {cutout: {}, fill: {}}\n")
    with pytest.raises(InvalidParameterError, match="a step is one name with its options"):
        load_workflow(flow).chain()


@pytest.mark.parametrize(("steps", "message"), [
    ("[{cutout: {background: white}}, fill]", "step 'fill' fills a cutout's transparent"),
    ("[{fill: {engine: magic}}]", "step 'fill': engine"),
    ("[{auto_tone: {strength: 3}}]", "step 'auto_tone': strength"),
    ("[sharpen]", "unknown step 'sharpen'"),
    ("[{cutout: {trim: maybe}}]", "step 'cutout': trim"),
])
def test_bad_steps_fail_when_the_spec_is_built(tmp_path: Path, steps: str, message: str) -> None:
    workflow = load_workflow(write(tmp_path, f"source: a\nsink: b\nsteps: {steps}\n"))
    with pytest.raises(InvalidParameterError, match=message):
        workflow.batch_spec(tmp_path)


@pytest.mark.parametrize("value", ["keep", "delete", "move:s3://b/done/", "move:/tmp/x"])
def test_on_success_accepts(value: str) -> None:
    assert check_on_success(value) == value


@pytest.mark.parametrize("value", ["", "Keep", "move:", "move", "archive", "delete "])
def test_on_success_refuses(value: str) -> None:
    with pytest.raises(ValueError, match="keep, delete or move:URL"):
        check_on_success(value)


def test_a_jpeg_cutout_without_background_is_refused_up_front(tmp_path: Path) -> None:
    from lampyris.workflows.workflow import load_workflow

    path = tmp_path / "flow.yaml"
    path.write_text("source: in\nsink: out\nsteps: [cutout]\noutput: {format: jpeg}\n")
    with pytest.raises(InvalidParameterError, match="JPEG has no transparency"):
        load_workflow(path).batch_spec(tmp_path)
    path.write_text("source: in\nsink: out\nsteps: [{cutout: {mode: mask}}]\n"
                    "output: {format: jpeg}\n")
    assert load_workflow(path).batch_spec(tmp_path).output.format == "jpeg"


PRESET = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
          'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
          'xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" crs:Exposure2012="+0.50"/>'
          '</rdf:RDF></x:xmpmeta>')


def test_develop_steps_and_the_house_look_keys(tmp_path: Path) -> None:
    (tmp_path / "looks").mkdir()
    (tmp_path / "looks" / "warm.xmp").write_text(PRESET)
    flow = write(tmp_path, "source: in\nsink: out\nsteps:\n"
                 "  - cutout: {background: white}\n"
                 "  - auto_tone: {strength: 0.7}\n"
                 "  - straighten: {upright_mode: level}\n"
                 "  - edit: {presets: [looks/warm.xmp], settings: {clarity: 10}}\n"
                 "consistent: true\nlook_sample: 50\n")
    workflow = load_workflow(flow)
    assert (workflow.consistent, workflow.look_file, workflow.look_sample) == (True, None, 50)
    steps = workflow.batch_spec(tmp_path).steps
    assert [s.op for s in steps] == ["cutout", "auto_tone", "auto_straighten", "edit"]
    assert steps[3].params == {"presets": [PRESET], "settings": {"clarity": 10}}  # read


def test_a_missing_preset_file_is_named(tmp_path: Path) -> None:
    flow = write(tmp_path, "source: in\nsink: out\nsteps: [{edit: {presets: [no.xmp]}}]\n")
    with pytest.raises(InvalidParameterError, match=r"step 'edit': preset .*no\.xmp"):
        load_workflow(flow).batch_spec(tmp_path)
