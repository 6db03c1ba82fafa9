"""Firefly's routes: uploads (``/v2/storage/image``), generative fill and expand, object
composite, image generation and variations (the ``/v3/images/*-async`` jobs), status and
cancel.

The same calls reach Adobe (``https://firefly-api.adobe.io``) or a lampyris server. A source is
a URL or an upload id (:func:`source`); results are hosted by the service and come back as
URLs on the job (``Job.outputs``), valid about an hour. Every submit returns a :class:`JobRef`
at once; ``wait`` polls it to a :class:`Job`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from lampyris.client.base import ServiceClient
from lampyris.client.errors import ServiceError
from lampyris.client.jobs import Job, JobRef
from lampyris.client.retry import SERVER_STATUSES, with_retries
from lampyris.client.transfer import download

FIREFLY_BASE_URL = "https://firefly-api.adobe.io"
#: The scopes Adobe's Firefly guides ask for.
FIREFLY_SCOPES = "openid,AdobeID,session,additional_info,read_organizations,firefly_api,ff_apis"
V3_STATUS = "/v3/status"
V3_CANCEL = "/v3/cancel"
UPLOAD_PATH = "/v2/storage/image"
UPLOAD_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/tiff"})


def source(url: str | None = None, upload_id: str | None = None) -> dict[str, str]:
    """A Firefly source (``PublicBinaryInputV3``): exactly one of ``url`` and ``upload_id``."""
    if (url is None) == (upload_id is None):
        raise ValueError("give exactly one of url and upload_id")
    return {"url": url} if url is not None else {"uploadId": str(upload_id)}


class FireflyClient(ServiceClient):
    """Uploads and Firefly's image jobs through Adobe's Firefly API (or a lampyris server).

    Results are JPEG, as Adobe's are; a lampyris server writes exact-pixel PNG when asked with
    ``extensions={"format": "png"}`` (Adobe ignores the ``lampyris`` object).

    Usage:
        with FireflyClient("id", "secret", base_url="http://localhost:8000",
                           ims_url="http://localhost:8000") as ff:
            image = ff.upload(cutout_png, "image/png")
            mask = ff.upload(mask_png, "image/png")
            job = ff.wait(ff.fill(source(upload_id=image), source(upload_id=mask),
                                  prompt="white marble", seeds=[3]))
            filled = ff.download(job.outputs[0])
            scene = ff.wait(ff.object_composite(source(upload_id=image), "on a beach",
                                                mask=source(upload_id=mask)))
    """

    default_base_url = FIREFLY_BASE_URL

    def upload(self, data: bytes, media_type: str) -> str:
        """POST /v2/storage/image: the image's upload id (valid 7 days on Adobe's service).

        ``media_type`` is ``image/jpeg``, ``image/png``, ``image/webp`` or ``image/tiff``.
        A 429 waits and retries, and so does a 5xx or a broken connection: a repeated upload
        only leaves an unused copy behind.
        """
        if media_type not in UPLOAD_TYPES:
            raise ValueError(f"uploads are {', '.join(sorted(UPLOAD_TYPES))}, not {media_type}")
        return with_retries(
            lambda: self._upload_once(data, media_type),
            policy=self.session.retry,
            sleep=self._sleep,
            retry_statuses=SERVER_STATUSES,
        )

    def _upload_once(self, data: bytes, media_type: str) -> str:
        response = self.session.send("POST", UPLOAD_PATH, content=data, media_type=media_type)
        return _upload_id(response)

    def fill(
        self,
        image: Mapping[str, str],
        mask: Mapping[str, str],
        *,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        invert_mask: bool = False,
        seeds: Sequence[int] | None = None,
        size: tuple[int, int] | None = None,
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /v3/images/fill-async: the mask's white area of ``image`` generated.

        ``image`` and ``mask`` are :func:`source` objects; ``seeds`` one per variation;
        ``size`` (width, height) of the result. ``extensions`` go in the body's ``lampyris``
        object (``engine``): a lampyris server honours them, Adobe ignores them.
        """
        body: dict[str, Any] = {"image": {"source": dict(image)},
                                "mask": _mask(mask, invert_mask)}
        _prompts(body, prompt, negative_prompt)
        _variations(body, seeds, None, size, extensions)
        return self._submit("/v3/images/fill-async", body, retry_server_errors)

    def expand(
        self,
        image: Mapping[str, str],
        *,
        mask: Mapping[str, str] | None = None,
        invert_mask: bool = False,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        placement: Mapping[str, Any] | None = None,
        seeds: Sequence[int] | None = None,
        size: tuple[int, int] | None = None,
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /v3/images/expand-async: ``image`` on a larger canvas (``size``; the
        service's default is 2048x2048), the new area generated.

        ``placement`` is Firefly's ``{"inset": {top, bottom, left, right}, "alignment":
        {horizontal, vertical}}``; ``mask`` (white = generate) replaces it, they cannot be
        combined.
        """
        if placement is not None and mask is not None:
            raise ValueError("give placement or mask, not both: Firefly refuses the two together")
        body: dict[str, Any] = {"image": {"source": dict(image)}}
        if mask is not None:
            body["mask"] = _mask(mask, invert_mask)
        if placement is not None:
            body["placement"] = dict(placement)
        _prompts(body, prompt, negative_prompt)
        _variations(body, seeds, None, size, extensions)
        return self._submit("/v3/images/expand-async", body, retry_server_errors)

    def object_composite(
        self,
        image: Mapping[str, str],
        prompt: str,
        *,
        mask: Mapping[str, str] | None = None,
        content_class: str | None = None,
        placement: Mapping[str, Any] | None = None,
        seeds: Sequence[int] | None = None,
        size: tuple[int, int] | None = None,
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /v3/images/generate-object-composite-async: the product in ``image`` placed
        in a scene from ``prompt``.

        The product is what ``mask`` marks white (sent as the top-level ``mask.source``);
        without one, the image's transparency, or all of it on a larger ``size``.
        ``content_class`` is ``photo`` or ``art``.
        """
        body: dict[str, Any] = {"image": {"source": dict(image)}, "prompt": prompt}
        if mask is not None:
            body["mask"] = {"source": dict(mask)}
        if content_class is not None:
            body["contentClass"] = content_class
        if placement is not None:
            body["placement"] = dict(placement)
        _variations(body, seeds, None, size, extensions)
        return self._submit("/v3/images/generate-object-composite-async", body,
                            retry_server_errors)

    def generate(
        self,
        prompt: str,
        *,
        negative_prompt: str | None = None,
        content_class: str | None = None,
        seeds: Sequence[int] | None = None,
        num_variations: int | None = None,
        size: tuple[int, int] | None = None,
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /v3/images/generate-async: pictures of ``prompt``, one per seed (or
        ``num_variations`` with fresh seeds), ``size`` 2048x2048 unless given.

        A lampyris server without a text-to-image model answers 501 ``not_implemented``
        (:class:`ServerError`, ``code == "not_implemented"``) naming the setting to configure.
        """
        body: dict[str, Any] = {"prompt": prompt}
        _prompts(body, None, negative_prompt)
        if content_class is not None:
            body["contentClass"] = content_class
        _variations(body, seeds, num_variations, size, extensions)
        return self._submit("/v3/images/generate-async", body, retry_server_errors)

    def generate_similar(
        self,
        image: Mapping[str, str],
        *,
        seeds: Sequence[int] | None = None,
        num_variations: int | None = None,
        size: tuple[int, int] | None = None,
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /v3/images/generate-similar-async: variations of ``image`` (a
        :func:`source`); answered 501 like :meth:`generate` where no model is configured."""
        body: dict[str, Any] = {"image": {"source": dict(image)}}
        _variations(body, seeds, num_variations, size, extensions)
        return self._submit("/v3/images/generate-similar-async", body, retry_server_errors)

    def cancel(self, job: JobRef | str) -> Mapping[str, Any]:
        """PUT /v3/cancel/{id}: stop a job that has not finished (its ``cancelUrl`` when the
        submit answer gave one on this host). Returns the answer (a lampyris server says
        ``cancelled`` or ``cancel_pending``); a finished job answers 409
        (:class:`ServiceError`, ``code == "job_completed"``)."""
        job_id = job.job_id if isinstance(job, JobRef) else job
        href = job.body.get("cancelUrl") if isinstance(job, JobRef) else None
        url = self._status_url(href if isinstance(href, str) else None, job_id, V3_CANCEL)
        answer = self.session.send("PUT", url)
        try:  # Adobe documents no body for the 200
            body = answer.json() if answer.content else {}
        except ValueError:
            body = {}
        return body if isinstance(body, Mapping) else {}

    def _submit(self, path: str, body: dict[str, Any], retry_server_errors: bool) -> JobRef:
        answer = self.session.post_json(path, body, retry_server_errors=retry_server_errors)
        return self._accepted_job(answer, V3_STATUS)

    def status(self, job_id: str) -> Job:
        """GET /v3/status/{id}, once (a failed job is returned, not raised)."""
        return Job.from_body(
            self.session.get_json(self._status_url(None, job_id, V3_STATUS)), job_id=job_id
        )

    def download(self, url: str) -> bytes:
        """A result's bytes (its URL is pre-signed: no token is sent), with the retry policy."""
        return download(self.session.http, url, policy=self.session.retry, sleep=self._sleep)


def _mask(mask: Mapping[str, str], invert: bool) -> dict[str, Any]:
    """``InputMaskV3``: the source, and ``invert`` only when set."""
    return {"source": dict(mask), **({"invert": True} if invert else {})}


def _prompts(body: dict[str, Any], prompt: str | None, negative_prompt: str | None) -> None:
    if prompt:
        body["prompt"] = prompt
    if negative_prompt:
        body["negativePrompt"] = negative_prompt


def _variations(body: dict[str, Any], seeds: Sequence[int] | None, count: int | None,
                size: tuple[int, int] | None, extensions: Mapping[str, Any] | None) -> None:
    """What every image job takes: the seeds (or how many variations), the output size and
    the ``lampyris`` extension object; only what was given is sent."""
    if seeds is not None:
        body["seeds"] = list(seeds)
    if count is not None:
        body["numVariations"] = count
    if size is not None:
        body["size"] = {"width": size[0], "height": size[1]}
    if extensions:
        body["lampyris"] = dict(extensions)


def _upload_id(response: httpx.Response) -> str:
    try:
        body = response.json()
        upload_id = body["images"][0]["id"]
    except (ValueError, KeyError, IndexError, TypeError):
        upload_id = None
    if not isinstance(upload_id, str) or not upload_id:
        raise ServiceError(response.status_code, "invalid_response",
                           "upload answer has no images[0].id", response.text[:500])
    return upload_id
