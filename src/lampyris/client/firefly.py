"""Firefly's routes: uploads (``/v2/storage/image``) and generative fill
(``/v3/images/fill-async``).

The same calls reach Adobe (``https://firefly-api.adobe.io``) or a lampyris server. A source is
a URL or an upload id (:func:`source`); results are hosted by the service and come back as
URLs on the job (``Job.outputs``), valid about an hour.
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
UPLOAD_PATH = "/v2/storage/image"
UPLOAD_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/tiff"})


def source(url: str | None = None, upload_id: str | None = None) -> dict[str, str]:
    """A Firefly source (``PublicBinaryInputV3``): exactly one of ``url`` and ``upload_id``."""
    if (url is None) == (upload_id is None):
        raise ValueError("give exactly one of url and upload_id")
    return {"url": url} if url is not None else {"uploadId": str(upload_id)}


class FireflyClient(ServiceClient):
    """Uploads and generative fill through Adobe's Firefly API (or a lampyris server).

    Usage:
        with FireflyClient("id", "secret", base_url="http://localhost:8000",
                           ims_url="http://localhost:8000") as ff:
            image = ff.upload(cutout_png, "image/png")
            mask = ff.upload(mask_png, "image/png")
            job = ff.wait(ff.fill(source(upload_id=image), source(upload_id=mask),
                                  prompt="white marble", seeds=[3]))
            filled = ff.download(job.outputs[0])
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
                                "mask": {"source": dict(mask)}}
        if invert_mask:
            body["mask"]["invert"] = True
        if prompt:
            body["prompt"] = prompt
        if negative_prompt:
            body["negativePrompt"] = negative_prompt
        if seeds is not None:
            body["seeds"] = list(seeds)
        if size is not None:
            body["size"] = {"width": size[0], "height": size[1]}
        if extensions:
            body["lampyris"] = dict(extensions)
        answer = self.session.post_json(
            "/v3/images/fill-async", body, retry_server_errors=retry_server_errors
        )
        return self._accepted_job(answer, V3_STATUS)

    def status(self, job_id: str) -> Job:
        """GET /v3/status/{id}, once (a failed job is returned, not raised)."""
        return Job.from_body(
            self.session.get_json(self._status_url(None, job_id, V3_STATUS)), job_id=job_id
        )

    def download(self, url: str) -> bytes:
        """A result's bytes (its URL is pre-signed: no token is sent), with the retry policy."""
        return download(self.session.http, url, policy=self.session.retry, sleep=self._sleep)


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
