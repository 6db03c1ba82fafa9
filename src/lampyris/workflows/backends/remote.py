"""The remote backend: each input goes to a lampyris server (or Adobe's cloud) through
``lampyris.client``; results come back and are written to the sink.

The server must be able to fetch the input, so the source has to sign URLs (``s3://``,
``az://``, ``gs://``): the runner's pre-signed GET goes into ``/v2/remove-background``, the
hosted result is downloaded and written through fsspec. Options Adobe has no field for travel
in the ``lampyris`` extension object, which Adobe ignores.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from lampyris.client import ApiError, ClientError, JobFailedError, PhotoshopClient
from lampyris.errors import InvalidParameterError
from lampyris.imaging.decode import decode
from lampyris.ops.cutout import CutoutParams, decontamination, parse_colour
from lampyris.workflows.item import ItemOutcome, WorkItem, thumbnail, write_output
from lampyris.workflows.steps import Step

_MEDIA = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_EXTENSION_KEYS = ("model", "mirror_pass", "mask_format", "padding", "canvas", "shadow",
                   "shadow_opacity", "max_upscale", "holes")


@dataclass(frozen=True)
class RemoteSettings:
    """Where the service is and who we are; ``url`` None means Adobe's own hosts."""

    client_id: str
    client_secret: str
    url: str | None = None
    timeout: float = 600.0
    url_expiry: int = 3600


def v2_options(step: Step) -> dict[str, Any]:
    """The cutout step's parameters as ``remove_background`` keyword arguments."""
    params = step.params
    options: dict[str, Any] = {
        "mode": params.get("mode", "cutout"), "trim": bool(params.get("trim", False)),
        "color_decontamination": decontamination(CutoutParams.model_validate(params)),
    }
    if params.get("background") is not None:
        r, g, b, a = parse_colour(params["background"])
        options["background_color"] = (r, g, b, a)
    extensions = {k: params[k] for k in _EXTENSION_KEYS if params.get(k) is not None}
    if extensions:
        options["extensions"] = extensions
    return options


class RemoteBackend:
    name = "remote"

    def __init__(self, settings: RemoteSettings, concurrency: int = 4) -> None:
        self.settings = settings
        self.capacity = concurrency
        urls: dict[str, Any] = {} if settings.url is None else {"base_url": settings.url,
                                                "ims_url": settings.url}
        self._client = PhotoshopClient(settings.client_id, settings.client_secret, **urls)
        self._http = httpx.Client(timeout=120, follow_redirects=True)
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="lampyris-remote")

    def submit(self, item: WorkItem) -> Future[ItemOutcome]:
        if [s.name for s in item.steps] != ["cutout"]:
            raise InvalidParameterError("the remote backend runs the cutout step only so far")
        return self._threads.submit(self._process, item)

    def close(self, *, cancel: bool = False) -> None:
        self._threads.shutdown(wait=True, cancel_futures=cancel)
        self._client.close()
        self._http.close()

    def _process(self, item: WorkItem) -> ItemOutcome:
        timings: dict[str, float] = {}
        try:
            start = time.perf_counter()
            fs_in, _ = item.source.open()
            try:
                url = fs_in.sign(item.source_path, expiration=self.settings.url_expiry)
            except NotImplementedError:
                raise InvalidParameterError(
                    f"the remote backend needs a source the service can fetch by URL "
                    f"(s3://, az://, gs://), not {item.source.protocol}://") from None
            digest = _hash(fs_in, item.source_path)
            if item.known_hash == digest:
                return ItemOutcome(True, digest, unchanged=True, timings=timings)
            timings["sign"] = time.perf_counter() - start

            start = time.perf_counter()
            ref = self._client.remove_background(
                url, media_type=_MEDIA[item.output.format], **v2_options(item.steps[0]))
            job = self._client.wait(ref, timeout=self.settings.timeout)
            timings["service"] = time.perf_counter() - start

            start = time.perf_counter()
            result = self._http.get(job.outputs[0])
            result.raise_for_status()
            fs_out, _ = item.sink.open()
            write_output(fs_out, item.output_path, result.content)
            timings["write"] = time.perf_counter() - start
        except JobFailedError as exc:
            return ItemOutcome(False, error=f"service: {exc}", timings=timings)
        except (InvalidParameterError, ValueError) as exc:
            return ItemOutcome(False, error=str(exc), timings=timings)
        except (ApiError, ClientError, httpx.HTTPError, OSError) as exc:
            return ItemOutcome(False, error=f"service: {exc}", retryable=True, timings=timings)
        outcome = ItemOutcome(True, digest, timings=timings, details={
            "output_bytes": len(result.content), "job": job.job_id})
        if item.thumbs:
            outcome.thumbs = {"before": thumbnail(decode(fs_in.cat_file(item.source_path)).pixels),
                              "after": thumbnail(decode(result.content).pixels)}
        return outcome


def _hash(fs: Any, path: str) -> str:
    """The input's content hash, streamed (the remote backend never holds the image)."""
    digest = hashlib.sha256()
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
