"""The Photoshop image routes: Sensei cutout/mask (v1), remove-background and edit (v2),
the masking v1 routes (refine-mask, fill-masked-areas), and the psdService catalog routes
(product crop, renditions, depth blur).

The same calls reach Adobe (``https://image.adobe.io``) or a lampyris server: point
``base_url`` and ``ims_url`` at the server and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lampyris.client.base import DEFAULT_WAIT, ServiceClient
from lampyris.client.jobs import Job, JobRef
from lampyris.client.retry import Backoff
from lampyris.client.transfer import download

SENSEI_STATUS = "/sensei/status"
V2_STATUS = "/v2/status"
MASKING_STATUS = "/v1/status"
PIE_STATUS = "/pie/psdService/status"

#: ``(red, green, blue)`` 0–255 with optional ``alpha`` 0–1, or the wire's own mapping.
Colour = Sequence[float] | Mapping[str, float]


class PhotoshopClient(ServiceClient):
    """Background removal and masks through Adobe's Photoshop API (or a lampyris server).

    Submits return a :class:`JobRef` at once; :meth:`wait` polls it to a :class:`Job`.

    Usage:
        with PhotoshopClient("client-id", "client-secret") as ps:
            ref = ps.remove_background("https://bucket.s3.amazonaws.com/in.jpg?sig=...",
                                       media_type="image/png")
            job = ps.wait(ref, timeout=120)
            print(job.outputs[0])

        # a lampyris server answers the same routes, IMS included:
        PhotoshopClient("id", "secret", base_url="http://localhost:8000",
                        ims_url="http://localhost:8000")
    """

    # -- Sensei v1: the caller names both storage locations ------------------------------

    def create_cutout(
        self,
        input_href: str,
        output_href: str,
        *,
        input_storage: str = "external",
        output_storage: str = "external",
        mask_format: str | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /sensei/cutout: the subject on transparency, written to ``output_href``.

        ``mask_format`` is ``"soft"`` or ``"binary"``; left out, the server picks (soft).
        """
        body = _sensei_body(input_href, output_href, input_storage, output_storage, mask_format)
        answer = self.session.post_json(
            "/sensei/cutout", body, retry_server_errors=retry_server_errors
        )
        return self._linked_job(answer, SENSEI_STATUS)

    def create_mask(
        self,
        input_href: str,
        output_href: str,
        *,
        input_storage: str = "external",
        output_storage: str = "external",
        mask_format: str | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /sensei/mask: a greyscale mask of the subject, written to ``output_href``."""
        body = _sensei_body(input_href, output_href, input_storage, output_storage, mask_format)
        answer = self.session.post_json(
            "/sensei/mask", body, retry_server_errors=retry_server_errors
        )
        return self._linked_job(answer, SENSEI_STATUS)

    def sensei_status(self, job_id: str) -> Job:
        """GET /sensei/status/{id}, once (a failed job is returned, not raised)."""
        return Job.from_body(
            self.session.get_json(self._status_url(None, job_id, SENSEI_STATUS)), job_id=job_id
        )

    def cutout(
        self,
        input_href: str,
        output_href: str,
        *,
        input_storage: str = "external",
        output_storage: str = "external",
        mask_format: str | None = None,
        timeout: float = DEFAULT_WAIT,
        poll: Backoff | None = None,
    ) -> Job:
        """:meth:`create_cutout`, then :meth:`wait` for it (:class:`JobFailedError` if it fails)."""
        ref = self.create_cutout(
            input_href,
            output_href,
            input_storage=input_storage,
            output_storage=output_storage,
            mask_format=mask_format,
        )
        return self.wait(ref, timeout, poll)

    def mask(
        self,
        input_href: str,
        output_href: str,
        *,
        input_storage: str = "external",
        output_storage: str = "external",
        mask_format: str | None = None,
        timeout: float = DEFAULT_WAIT,
        poll: Backoff | None = None,
    ) -> Job:
        """:meth:`create_mask`, then :meth:`wait` for it (:class:`JobFailedError` if it fails)."""
        ref = self.create_mask(
            input_href,
            output_href,
            input_storage=input_storage,
            output_storage=output_storage,
            mask_format=mask_format,
        )
        return self.wait(ref, timeout, poll)

    # -- v2: the service stores the result and answers its URL ---------------------------

    def remove_background(
        self,
        image_url: str | None = None,
        *,
        upload_id: str | None = None,
        mode: str = "cutout",
        media_type: str | None = None,
        trim: bool | None = None,
        background_color: Colour | None = None,
        color_decontamination: float | None = None,
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /v2/remove-background; only the options given are sent (the server defaults
        the rest: input format, no trim, transparent, decontamination 1).

        ``mode`` is ``cutout``, ``mask`` or ``psd``. ``extensions`` go in the body's
        ``lampyris`` object (padding, canvas, shadow…): a lampyris server honours them,
        Adobe ignores them. ``upload_id`` (an id from Firefly's ``/v2/storage/image``)
        instead of ``image_url`` is understood by lampyris servers only.
        """
        body: dict[str, Any] = {"image": {"source": _source(image_url, upload_id)},
                                "mode": mode}
        if media_type is not None:
            body["output"] = {"mediaType": media_type}
        if trim is not None:
            body["trim"] = trim
        if background_color is not None:
            body["backgroundColor"] = _colour(background_color)
        if color_decontamination is not None:
            body["colorDecontamination"] = color_decontamination
        if extensions:
            body["lampyris"] = dict(extensions)
        answer = self.session.post_json(
            "/v2/remove-background", body, retry_server_errors=retry_server_errors
        )
        return self._accepted_job(answer, V2_STATUS)

    def edit(
        self,
        image_url: str | None = None,
        *,
        upload_id: str | None = None,
        edits: Mapping[str, Any] | None = None,
        media_type: str = "image/png",
        destination_url: str | None = None,
        storage_type: str | None = None,
        validity_period: int | None = None,
        quality: str | None = None,
        compression: str | None = None,
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /v2/edit: Lightroom's edits (``autoTone``, ``autoStraighten``, ``light``,
        ``color``, ``effects``, ``sharpen``, ``noiseReduction``, ``sharpness``, ``presets``,
        ``xmp``) on the Photoshop v2 wire, one output.

        The output goes to ``destination_url`` (pre-signed; ``storage_type`` ``azure`` or
        ``dropbox``), or, without one, is hosted by the service for ``validity_period``
        seconds (60..86400; the service's default, an hour, when left out) and named by the
        job's ``outputs``. ``media_type`` ``image/jpeg`` takes a named ``quality``
        (``high``…), ``image/png`` a named ``compression``. ``extensions`` go in the body's
        ``lampyris`` object (auto tone's ``strength``, a house ``look``…), as ``upload_id``
        instead of ``image_url``: lampyris servers only.
        """
        destination: dict[str, Any] = {}
        if destination_url is not None:
            destination["url"] = destination_url
            if storage_type is not None:
                destination["storageType"] = storage_type
        elif validity_period is not None:
            destination["validityPeriod"] = validity_period
        output: dict[str, Any] = {"destination": destination, "mediaType": media_type}
        if quality is not None:
            output["quality"] = quality
        if compression is not None:
            output["compression"] = compression
        body: dict[str, Any] = {"image": {"source": _source(image_url, upload_id)},
                                "edits": dict(edits or {}), "outputs": [output]}
        if extensions:
            body["lampyris"] = dict(extensions)
        answer = self.session.post_json(
            "/v2/edit", body, retry_server_errors=retry_server_errors
        )
        return self._accepted_job(answer, V2_STATUS)

    # -- masking v1: hosted results, like v2, polled at /v1/status -----------------------

    def refine_mask(
        self,
        image_url: str | None = None,
        mask_url: str | None = None,
        *,
        image_upload_id: str | None = None,
        mask_upload_id: str | None = None,
        color_decontamination: bool | None = None,
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /v1/refine-mask: a rough mask (white = subject) made to follow the photo's
        edges; only the options given are sent.

        The refined soft mask is hosted by the service (the job's ``outputs``); with
        ``color_decontamination`` it is the subject as RGBA instead. ``extensions`` go in the
        body's ``lampyris`` object (``radius``: how far the rough edge may be off), as the
        ``*_upload_id`` alternatives to the URLs: lampyris servers only.
        """
        body: dict[str, Any] = {
            "image": {"source": _source(image_url, image_upload_id, "image")},
            "mask": {"source": _source(mask_url, mask_upload_id, "mask")},
        }
        if color_decontamination is not None:
            body["colorDecontamination"] = color_decontamination
        if extensions:
            body["lampyris"] = dict(extensions)
        answer = self.session.post_json(
            "/v1/refine-mask", body, retry_server_errors=retry_server_errors
        )
        return self._accepted_job(answer, MASKING_STATUS)

    def fill_masked_areas(
        self,
        image_url: str | None = None,
        mask_urls: Sequence[str] = (),
        *,
        image_upload_id: str | None = None,
        mask_upload_ids: Sequence[str] = (),
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /v1/fill-masked-areas: what every mask's white marks is removed and filled.

        The masks are sent as given (URLs, then upload ids); none at all is the service's
        400, as Adobe answers it. ``extensions`` go in the body's ``lampyris`` object
        (``engine``, ``prompt``, ``seed``, ``mediaType``), as upload ids: lampyris servers
        only.
        """
        if isinstance(mask_urls, str) or isinstance(mask_upload_ids, str):
            raise ValueError("mask_urls and mask_upload_ids are lists: pass [url], not a string")
        masks = [{"source": {"url": url}} for url in mask_urls]
        masks += [{"source": {"uploadId": str(upload)}} for upload in mask_upload_ids]
        body: dict[str, Any] = {
            "image": {"source": _source(image_url, image_upload_id, "image")}, "masks": masks,
        }
        if extensions:
            body["lampyris"] = dict(extensions)
        answer = self.session.post_json(
            "/v1/fill-masked-areas", body, retry_server_errors=retry_server_errors
        )
        return self._accepted_job(answer, MASKING_STATUS)

    def masking_status(self, job_id: str) -> Job:
        """GET /v1/status/{id}, once (a failed job is returned, not raised)."""
        return Job.from_body(
            self.session.get_json(self._status_url(None, job_id, MASKING_STATUS)),
            job_id=job_id,
        )

    # -- psdService (v1 catalog): one input, outputs written to their hrefs ----------------

    def product_crop(
        self,
        input_href: str | None = None,
        outputs: Sequence[Mapping[str, Any]] = (),
        *,
        input_storage: str = "external",
        upload_id: str | None = None,
        unit: str = "Pixels",
        width: int = 0,
        height: int = 0,
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /pie/psdService/productCrop: the photo cropped to its subject, with ``width``
        x ``height`` of padding in total (``unit`` ``Pixels`` or ``Percent``), written to
        each of ``outputs`` (:func:`pie_output`)."""
        options = {"unit": unit.capitalize(), "width": width, "height": height}
        body = _pie_body(input_href, input_storage, upload_id, outputs, options, extensions)
        answer = self.session.post_json(
            "/pie/psdService/productCrop", body, retry_server_errors=retry_server_errors
        )
        return self._linked_job(answer, PIE_STATUS)

    def create_renditions(
        self,
        input_href: str | None = None,
        outputs: Sequence[Mapping[str, Any]] = (),
        *,
        input_storage: str = "external",
        upload_id: str | None = None,
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /pie/psdService/renditionCreate: each output the image at its ``width``
        (:func:`pie_output`'s ``width`` and ``max_width``), in its format."""
        body = _pie_body(input_href, input_storage, upload_id, outputs, None, extensions)
        answer = self.session.post_json(
            "/pie/psdService/renditionCreate", body, retry_server_errors=retry_server_errors
        )
        return self._linked_job(answer, PIE_STATUS)

    def depth_blur(
        self,
        input_href: str | None = None,
        outputs: Sequence[Mapping[str, Any]] = (),
        *,
        input_storage: str = "external",
        upload_id: str | None = None,
        options: Mapping[str, Any] | None = None,
        extensions: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /pie/psdService/depthBlur: ``options`` are Adobe's ``DepthBlurDetails``
        (``blurStrength``, ``focalRange``, ``haze``, ``temp``…), sent as given."""
        body = _pie_body(input_href, input_storage, upload_id, outputs, dict(options or {}),
                         extensions)
        answer = self.session.post_json(
            "/pie/psdService/depthBlur", body, retry_server_errors=retry_server_errors
        )
        return self._linked_job(answer, PIE_STATUS)

    def pie_status(self, job_id: str) -> Job:
        """GET /pie/psdService/status/{id}, once (a failed job is returned, not raised)."""
        return Job.from_body(
            self.session.get_json(self._status_url(None, job_id, PIE_STATUS)), job_id=job_id
        )

    def download(self, url: str) -> bytes:
        """A hosted result's bytes (its URL is pre-signed: no token is sent), with the
        client's retry policy."""
        return download(self.session.http, url, policy=self.session.retry, sleep=self._sleep)

    def status(self, job_id: str) -> Job:
        """GET /v2/status/{id}, once (a failed job is returned, not raised)."""
        return Job.from_body(
            self.session.get_json(self._status_url(None, job_id, V2_STATUS)), job_id=job_id
        )


def _sensei_body(
    input_href: str,
    output_href: str,
    input_storage: str,
    output_storage: str,
    mask_format: str | None,
) -> dict[str, Any]:
    output: dict[str, Any] = {"href": output_href, "storage": output_storage}
    if mask_format is not None:
        output["mask"] = {"format": mask_format}
    return {"input": {"href": input_href, "storage": input_storage}, "output": output}


def _source(url: str | None, upload_id: str | None, name: str = "") -> dict[str, str]:
    """A ``source``: Adobe's ``url``, or a lampyris server's ``uploadId``; ``name`` prefixes
    the arguments' names (``image`` for ``image_url``/``image_upload_id``)."""
    if (url is None) == (upload_id is None):
        prefix = f"{name}_" if name else ""
        raise ValueError(f"give exactly one of {name or 'image'}_url and {prefix}upload_id")
    return {"url": url} if url is not None else {"uploadId": str(upload_id)}


def _colour(colour: Colour) -> dict[str, float]:
    """The wire's ``{red, green, blue, alpha}``; all four are required when any is sent."""
    if isinstance(colour, Mapping):
        values = {key: colour[key] for key in ("red", "green", "blue") if key in colour}
        if len(values) != 3:
            raise ValueError(f"background_color needs red, green and blue: {colour!r}")
        return {**values, "alpha": colour.get("alpha", 1)}
    if len(colour) not in (3, 4):
        raise ValueError(f"background_color is (r, g, b) or (r, g, b, alpha): {colour!r}")
    red, green, blue, *alpha = colour
    return {"red": red, "green": green, "blue": blue, "alpha": alpha[0] if alpha else 1}


def pie_output(
    media_type: str = "image/png",
    href: str | None = None,
    *,
    storage: str = "external",
    quality: int | None = None,
    compression: str | None = None,
    width: int | None = None,
    max_width: int | None = None,
) -> dict[str, Any]:
    """One psdService output: ``href`` a pre-signed URL the service writes (``storage``
    ``external``, ``azure`` or ``dropbox``), or None for a lampyris server to host it (the
    rendition's ``href`` in the status, :func:`rendition_urls`). ``quality`` is Photoshop's
    JPEG 1..7, ``compression`` PNG's ``small``/``medium``/``large``; ``width`` and
    ``max_width`` (renditions) the size."""
    output: dict[str, Any] = {"type": media_type}
    if href is not None:
        output.update(href=href, storage=storage)
    for key, value in (("quality", quality), ("compression", compression), ("width", width),
                       ("maxWidth", max_width)):
        if value is not None:
            output[key] = value
    return output


def rendition_urls(job: Job) -> list[str]:
    """A psdService job's outputs, in the order asked: ``outputs[0]._links.renditions[]``'s
    hrefs (a lampyris server's hosted ones are signed URLs)."""
    outputs = job.body.get("outputs")
    entry = outputs[0] if isinstance(outputs, list) and outputs else None
    links = entry.get("_links") if isinstance(entry, Mapping) else None
    renditions = links.get("renditions") if isinstance(links, Mapping) else None
    if not isinstance(renditions, list):
        return []
    return [link["href"] for link in renditions
            if isinstance(link, Mapping) and isinstance(link.get("href"), str)]


def _pie_body(
    input_href: str | None,
    input_storage: str,
    upload_id: str | None,
    outputs: Sequence[Mapping[str, Any]],
    options: Mapping[str, Any] | None,
    extensions: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """A psdService body: the one input (Adobe's ``{href, storage}``, or a lampyris
    server's ``{uploadId}``), the outputs as given, Adobe's ``options``, our ``lampyris``."""
    if (input_href is None) == (upload_id is None):
        raise ValueError("give exactly one of input_href and upload_id")
    if not outputs:
        raise ValueError("give at least one output (pie_output(...))")
    source: dict[str, str] = ({"href": input_href, "storage": input_storage}
                              if input_href is not None else {"uploadId": str(upload_id)})
    body: dict[str, Any] = {"inputs": [source], "outputs": [dict(o) for o in outputs]}
    if options is not None:
        body["options"] = dict(options)
    if extensions:
        body["lampyris"] = dict(extensions)
    return body
