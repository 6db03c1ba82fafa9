"""Firefly v3's image requests (fill, expand, generate-object-composite), their translation to
tasks, and the status and result bodies.

The async routes and the synchronous ones that ``@adobe/firefly-apis`` 2.0.1 calls take the
same models: a mask may come at the top level (async) or as ``image.mask`` (the SDK's place,
and the async spec's deprecated one), for fill, expand and object composite alike. Sources
are a ``url`` (fetched through the SSRF guard) or an ``uploadId`` from ``/v2/storage/image``.
Results are JPEG, as Firefly's are; ``lampyris`` (our extension object) picks the fill engine
(``engine``) and asks for exact-pixel PNG (``format: "png"``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from lampyris.api.callbacks import CallbackExtension
from lampyris.api.errors import ApiError, describe_failure
from lampyris.api.wire_common import Wire
from lampyris.imaging.fill.engines import EngineChoice
from lampyris.jobs import JobRecord, Task
from lampyris.jobs.record import new_job_id
from lampyris.storage import StorageRef

JOB_PREFIX = "urn:ff:jobs:lampyris:"


class BinaryInput(Wire):
    """``PublicBinaryInputV3``: a URL or an upload id, one of them."""

    url: str | None = Field(default=None, min_length=1, max_length=2083)
    uploadId: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one(self) -> BinaryInput:
        if (self.url is None) == (self.uploadId is None):
            raise ValueError("give exactly one of url and uploadId")
        return self


class InputImage(Wire):
    source: BinaryInput
    mask: BinaryInput | None = None  # the sync API's (and the deprecated async) mask place


class InputMask(Wire):
    source: BinaryInput
    invert: bool = False


class OptionalMask(Wire):
    source: BinaryInput | None = None


MAX_SIDE = 4096


class Size(Wire):
    width: int = Field(ge=1, le=MAX_SIDE)
    height: int = Field(ge=1, le=MAX_SIDE)

    def pair(self) -> tuple[int, int]:
        return (self.width, self.height)


def _inset() -> Any:
    return Field(default=None, ge=0, le=MAX_SIDE)


class Inset(Wire):
    """Pixels kept free at each edge: no more than a canvas's side (``Size``)."""

    top: int | None = _inset()
    bottom: int | None = _inset()
    left: int | None = _inset()
    right: int | None = _inset()


class Alignment(Wire):
    horizontal: Literal["center", "left", "right"] | None = None
    vertical: Literal["center", "top", "bottom"] | None = None


class Placement(Wire):
    inset: Inset | None = None
    alignment: Alignment | None = None

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = self.inset.model_dump(exclude_none=True) if self.inset else {}
        if self.alignment is not None:
            out.update(self.alignment.model_dump(exclude_none=True))
        return out


class FormatExtension(CallbackExtension):
    """lampyris-only options of every Firefly request: a callback, and ``format: "png"`` for
    lossless results, where the fidelity guard's promise (outside the mask, the input's exact
    pixels) holds on the delivered file and not only before encoding."""

    format: Literal["jpeg", "png"] | None = None


class Extensions(FormatExtension):
    """The fill engines' requests also name their engine."""

    engine: EngineChoice | None = None


class Variations(Wire):
    """What every Firefly image request shares: variations by count or by seed, the size, our
    extension."""

    numVariations: int | None = Field(default=None, ge=1, le=4)
    seeds: list[Annotated[int, Field(ge=0, le=2**32 - 1)]] | None = Field(
        default=None, min_length=1, max_length=4)
    size: Size | None = None
    lampyris: FormatExtension | None = None

    @model_validator(mode="after")
    def _seeds(self) -> Variations:
        if self.seeds is not None:
            if len(set(self.seeds)) != len(self.seeds):
                raise ValueError("seeds must be unique")
            if self.numVariations is not None and self.numVariations != len(self.seeds):
                raise ValueError("numVariations must equal the number of seeds")
        return self

    def seed_list(self) -> list[int]:
        """The seeds asked for, or fresh random ones (reported per output, so any result can
        be made again)."""
        if self.seeds is not None:
            return list(self.seeds)
        return [secrets.randbelow(2**31) for _ in range(self.numVariations or 1)]


class GenerativeRequest(Variations):
    image: InputImage
    prompt: str | None = Field(default=None, min_length=1, max_length=1024)
    negativePrompt: str | None = Field(default=None, max_length=1024)
    lampyris: Extensions | None = None


class FillRequest(GenerativeRequest):
    mask: InputMask | None = None
    promptBiasingLocaleCode: str | None = Field(default=None, max_length=64)


class ExpandRequest(GenerativeRequest):
    mask: InputMask | None = None
    placement: Placement | None = None

    @model_validator(mode="after")
    def _placement_or_mask(self) -> ExpandRequest:
        if self.placement is not None and (self.mask is not None or self.image.mask):
            raise ValueError("placement cannot be used together with a mask")
        return self


class StyleReference(Wire):
    source: BinaryInput | None = None


class Style(Wire):
    """``StylesV3``: accepted and ignored (lampyris' engines take no style), but bounded,
    and only its known fields are kept."""

    presets: list[Annotated[str, Field(max_length=128)]] | None = Field(default=None,
                                                                         max_length=32)
    strength: int | None = Field(default=None, ge=0, le=100)
    imageReference: StyleReference | None = None


class CompositeRequest(GenerativeRequest):
    prompt: str = Field(min_length=1, max_length=1024)
    mask: OptionalMask | None = None
    placement: Placement | None = None
    contentClass: Literal["photo", "art"] | None = None
    style: Style | None = None


Resolve = Callable[[BinaryInput, str], StorageRef]
"""Turns a source into a storage reference (an upload id into the hosted object), or refuses
it; the second argument names the field for the error."""

DEFAULT_CANVAS = (2048, 2048)  # Firefly's default ``size`` (expand, composite, generate)
# Firefly answers JPEG. Quality 99 (chroma kept whole above 95, ``imaging.encode``) keeps the
# unmasked region >= 45 dB PSNR against the input: measured 47.4 dB on a 320x240 photo
# (tests' ``photos.photo``) and 47.6 dB on the noisy fill scene; quality 95 gave 42.4 / 38.9,
# and 4:2:0 subsampling caps either near 40 dB whatever the quality.
JPEG_QUALITY = 99


def _common(body: GenerativeRequest, default_engine: EngineChoice) -> dict[str, Any]:
    params: dict[str, Any] = {
        "engine": (body.lampyris.engine if body.lampyris and body.lampyris.engine
                   else default_engine),
        "prompt": body.prompt or "",
    }
    if body.negativePrompt:
        params["negative_prompt"] = body.negativePrompt
    return params


def _mask_source(body: FillRequest | ExpandRequest) -> tuple[BinaryInput | None, bool, str]:
    if body.mask is not None:
        return body.mask.source, body.mask.invert, "mask.source"
    return body.image.mask, False, "image.mask"


def output_type(body: Variations) -> tuple[str, int | None]:
    """Firefly's JPEG, or PNG where the ``lampyris.format`` extension asks for it."""
    if body.lampyris is not None and body.lampyris.format == "png":
        return "image/png", None
    return "image/jpeg", JPEG_QUALITY


def _task(op: str, body: GenerativeRequest, params: dict[str, Any], resolve: Resolve,
          job_id: str, mask: tuple[BinaryInput | None, str]) -> Task:
    images = {}
    if mask[0] is not None:
        images["mask"] = resolve(mask[0], mask[1])
    media_type, quality = output_type(body)
    return Task(op=op, input=resolve(body.image.source, "image.source"), params=params,
                images=images, hosted_prefix=f"results/{job_id}/", seeds=body.seed_list(),
                media_type=media_type, quality=quality)


def fill_task(body: FillRequest, resolve: Resolve, job_id: str,
              default_engine: EngineChoice) -> Task:
    """Without ``size`` a fill keeps the input's size: Firefly's response schema says its size
    equals the request's only "when you provide size", and its 2048² default is the expand
    text copied over; resizing a 4:3 product photo to a square would stretch the product."""
    source, invert, name = _mask_source(body)
    if source is None:  # Firefly's schema requires it: a 422 like any other missing field
        raise ApiError(422, "validation_error",
                       "mask: field required: a fill needs a mask (mask.source or "
                       "image.mask), white where to fill",
                       details=[{"name": "mask", "reason": "field required",
                                 "type": "value_error.missing"}])
    params = _common(body, default_engine) | {"invert_mask": invert}
    if body.size is not None:
        params["size"] = body.size.pair()
    return _task("fill", body, params, resolve, job_id, (source, name))


def expand_task(body: ExpandRequest, resolve: Resolve, job_id: str,
                default_engine: EngineChoice) -> Task:
    source, invert, name = _mask_source(body)
    params = _common(body, default_engine) | {"invert_mask": invert}
    params["size"] = (body.size.pair() if body.size
                      else None if source is not None else DEFAULT_CANVAS)
    if body.placement is not None:
        params.update(body.placement.params())
    return _task("expand", body, params, resolve, job_id, (source, name))


def composite_task(body: CompositeRequest, resolve: Resolve, job_id: str,
                   default_engine: EngineChoice) -> Task:
    params = _common(body, default_engine)
    if params["engine"] == "patch":
        params["engine"] = "auto"  # a composite has no picture of its own to continue
    params["size"] = body.size.pair() if body.size else DEFAULT_CANVAS
    if body.placement is not None:
        params.update(body.placement.params())
    source: BinaryInput | None = body.mask.source if body.mask is not None else None
    name = "mask.source"
    if source is None:  # where Adobe's Firefly SDK puts it
        source, name = body.image.mask, "image.mask"
    return _task("object_composite", body, params, resolve, job_id, (source, name))


# --- what the client reads back ------------------------------------------------------------


def _fidelity(metadata: dict[str, Any]) -> dict[str, Any] | None:
    check = metadata.get("fidelity")
    if not isinstance(check, dict):
        return None
    return {"held": check.get("held"), "changedOutside": check.get("changed_outside"),
            "maxDifferenceOutside": check.get("max_difference_outside")}


def _prompt_words(metadata: dict[str, Any]) -> dict[str, Any]:
    """What the studio engine made of the prompt: the words it drew (``understood``) and the
    ones it could not (``unusedWords``), so a client learns that "palm trees" were not drawn."""
    words: dict[str, Any] = {}
    if "understood" in metadata:
        words["understood"] = metadata["understood"]
    if "unused_words" in metadata:
        words["unusedWords"] = metadata["unused_words"]
    return words


def result_body(job: JobRecord, url: Callable[[str], str]) -> dict[str, Any]:
    """The sync response / the status ``result``: size, one output per seed with its URL,
    and (our extension, ignored by clients) the engine, the fidelity check and, from the
    studio engine, the prompt words used and not used, per output."""
    result = job.outcome()
    outputs = result.outputs
    body: dict[str, Any] = {
        "size": {"width": outputs[0].width if outputs else None,
                 "height": outputs[0].height if outputs else None},
        "outputs": [],
    }
    for out in outputs:
        meta = out.metadata or {}
        extension = {"engine": meta.get("engine"), "fidelity": _fidelity(meta),
                     **_prompt_words(meta)}
        review = meta.get("review", result.metadata.get("review"))  # this seed's, or the job's
        if isinstance(review, dict):
            extension["review"] = review
        body["outputs"].append({
            "seed": out.seed, "image": {"url": url(out.key or "")}, "lampyris": extension,
        })
    if job.op == "object_composite":
        body["contentClass"] = job.request.get("contentClass") or "photo"
        body["promptHasDeniedWords"] = False
        body["promptHasBlockedArtists"] = False
    return body


def status_body(job: JobRecord, url: Callable[[str], str]) -> dict[str, Any]:
    """``GET /v3/status``: the poll payload, the succeeded payload with its result, or the
    failed / cancelled one with ``error_code`` and ``message``."""
    body: dict[str, Any] = {"jobId": job.id, "status": job.state}
    if job.state == "succeeded":
        body["result"] = result_body(job, url)
    elif job.state in ("pending", "running"):  # what its worker last reported, 0..100
        body["progress"] = float(job.progress or 0) if job.state == "running" else 0.0
    elif job.state in ("cancelled", "cancel_pending"):
        body.update(error_code="cancelled", message="The job was cancelled.")
    elif job.state == "timeout":
        body.update(error_code="timeout_error", message="The job timed out.")
    else:
        failure = describe_failure(job.error or {})
        body.update(error_code=firefly_error_code(failure.status, failure.code),
                    message=failure.message)
    return body


def firefly_error_code(status: int, code: str) -> str:
    """Firefly's error codes: input problems are ``validation_error``, the rest
    ``runtime_error``; a refused or unreachable source keeps its precise code."""
    if code in ("forbidden_url", "invalid_asset_link", "input_too_large",
                "unsupported_media_type"):
        return code
    return "validation_error" if status < 500 else "runtime_error"


def new_firefly_job_id() -> str:
    """``urn:ff:jobs:…`` like Firefly's, one path segment (no slash)."""
    return JOB_PREFIX + new_job_id()
