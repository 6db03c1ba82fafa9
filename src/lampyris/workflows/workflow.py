"""Workflow files (``lampyris run WORKFLOW.yaml``): source, steps, sink, naming, backend.

Example::

    source: s3://shop-photos/incoming/
    sink: s3://shop-photos/catalog/
    storage_options:
      s3: {endpoint_url: "https://minio.internal:9000", key: "${S3_KEY}", secret: "${S3_SECRET}"}
    steps:
      - cutout: {trim: true, padding: "6%", canvas: 1200x1200, background: white}
      - auto_tone: {strength: 0.8}
    consistent: true      # one house look for the whole source, kept in the ledger
    output: {format: jpeg, quality: 90}   # psd: a lone cutout's is layered (its mask editable)
    naming: stem          # or keep-extension, number, or a template "{dir}{stem}.{ext}"
    concurrency: 4
    on_success: keep
    on_review: move:s3://shop-photos/to-check/   # flagged results go here instead of the sink
    review_threshold: 0.5 # flag below this confidence score (default: the ops' own)

``${NAME}`` anywhere in a string is replaced from the environment (secrets stay out of the
file); a missing variable is an error. An ``edit`` step's ``presets`` are XMP files, relative
to the workflow file (or XMP text).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lampyris.errors import InvalidParameterError
from lampyris.storage.locations import Location
from lampyris.workflows.batch import BatchSpec, check_on_review
from lampyris.workflows.look import DEFAULT_SAMPLE
from lampyris.workflows.steps import OutputSpec, check_output, layered_psd, make_steps

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["png", "jpeg", "webp", "psd"] = "png"
    quality: int | None = Field(default=None, ge=1, le=100)
    lossless: bool = False


class RemoteConfig(BaseModel):
    """A lampyris server (``url``) or, with no url, Adobe's own hosts."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    client_id: str
    client_secret: str
    timeout: float = 600.0


class RayConfig(BaseModel):
    """``backend: ray``: the cluster (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``; none: a
    Ray of this machine's cores) and the GPUs each worker takes (none: one per GPU when the
    cluster has GPUs, else a CPU slot each; 0 keeps workers off GPUs)."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = None
    gpus_per_worker: float | None = Field(default=None, ge=0)


class WorkflowFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    sink: str
    steps: list[str | dict[str, dict[str, Any] | None]]
    output: OutputConfig = OutputConfig()
    naming: str = "stem"
    storage_options: dict[str, dict[str, Any]] = {}
    concurrency: int = Field(default=0, ge=0)
    backend: Literal["local", "remote", "ray"] = "local"
    remote: RemoteConfig | None = None
    ray: RayConfig = RayConfig()
    retries: int = Field(default=2, ge=0)
    retry_failed: bool = False
    on_success: str = "keep"
    on_review: str = "keep"
    review_threshold: float | None = Field(default=None, ge=0, le=1)
    settle: float = Field(default=2.0, ge=0)
    ledger: str | None = None
    report: str | None = None
    summary: str | None = None
    consistent: bool = False
    look_file: str | None = None
    look_sample: int = Field(default=DEFAULT_SAMPLE, ge=0)

    @field_validator("on_success")
    @classmethod
    def _on_success(cls, value: str) -> str:
        return check_on_success(value)

    @field_validator("on_review")
    @classmethod
    def _on_review(cls, value: str) -> str:
        return check_on_review(value)

    def chain(self) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        for step in self.steps:
            if isinstance(step, str):
                out.append((step, {}))
            elif len(step) == 1:
                ((name, params),) = step.items()
                out.append((name, dict(params or {})))
            else:
                raise InvalidParameterError(f"a step is one name with its options, not {step}")
        return out

    def location(self, url: str, base: Path) -> Location:
        """A local path becomes absolute (relative to ``base``), so the ledger's keys do not
        depend on the directory a run was started from."""
        if "://" not in url:
            return Location(str((base / url).resolve()), dict(self.storage_options.get("file", {})))
        protocol = url.split("://", 1)[0]
        return Location(url, dict(self.storage_options.get(protocol, {})))

    def batch_spec(self, base: Path, *, cli: bool = False) -> BatchSpec:
        """The runnable spec; relative local paths are taken from ``base``. ``cli``: the
        workflow came from ``batch``'s options, and refusals name them."""
        steps = make_steps([(name, _with_preset_texts(name, params, base))
                            for name, params in self.chain()])
        output = OutputSpec(self.output.format, self.output.quality, self.output.lossless)
        check_output(steps, output)
        steps, output = layered_psd(steps, output, cli=cli)  # a lone cutout's: layered
        if output.layer_mask and self.backend == "remote":
            psd, png, backend = (("--format psd", "--format png", "--backend") if cli
                                 else ("format: psd", "format: png", "backend:"))
            raise InvalidParameterError(
                f"{psd} of a cutout (the photo with its layer mask) is written by the local "
                f"and ray backends: use {backend} local, or {png} with {backend} remote")
        return BatchSpec(
            source=self.location(self.source, base), sink=self.location(self.sink, base),
            steps=tuple(steps), output=output,
            naming=self.naming, retries=self.retries, retry_failed=self.retry_failed,
            on_success=self.on_success, settle=self.settle,
            on_review=_review_url(self.on_review, self, base),
            review_threshold=self.review_threshold,
        )


def _with_preset_texts(name: str, params: dict[str, Any], base: Path) -> dict[str, Any]:
    """An edit step's presets given as file paths, read (so the fingerprint follows their
    content: a changed preset redoes the images)."""
    presets = params.get("presets")
    if name != "edit" or not isinstance(presets, list):
        return params
    texts = []
    for preset in presets:
        if isinstance(preset, str) and not preset.lstrip().startswith("<"):
            path = base / preset
            try:
                preset = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else exc
                raise InvalidParameterError(f"step 'edit': preset {path}: {reason}") from None
        texts.append(preset)
    return {**params, "presets": texts}


def _review_url(on_review: str, workflow: WorkflowFile, base: Path) -> str:
    """``move:PATH`` with a relative local path made absolute from ``base``, as the sink's."""
    if not on_review.startswith("move:"):
        return on_review
    return "move:" + workflow.location(on_review[len("move:"):], base).url


def check_on_success(value: str) -> str:
    if value in ("keep", "delete") or (value.startswith("move:") and len(value) > 5):
        return value
    raise ValueError("on_success is keep, delete or move:URL")


def expand(value: Any) -> Any:
    """``${NAME}`` → the environment variable, recursively through lists and mappings."""
    if isinstance(value, str):
        def variable(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise InvalidParameterError(f"${{{name}}} is used but not set in the environment")
            return os.environ[name]
        return _VARIABLE.sub(variable, value)
    if isinstance(value, list):
        return [expand(v) for v in value]
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    return value


def load_workflow(path: Path) -> WorkflowFile:
    """Read and validate a workflow file; every problem is one clear InvalidParameterError."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InvalidParameterError(f"{path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise InvalidParameterError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise InvalidParameterError(f"{path}: a workflow is a mapping (source, sink, steps…)")
    try:
        return WorkflowFile.model_validate(expand(raw))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidParameterError(f"{path}: {problems}") from None
