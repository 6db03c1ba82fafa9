"""Lightroom's develop routes (``/lrService/*``): auto tone, auto straighten, edit, presets, XMP.

The caller names both storage locations (pre-signed URLs), as for Sensei; a job has one
output. Against a lampyris server the status also reports what the job chose (the settings
auto tone picked, the straighten angle) in each output's ``lampyris`` object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lampyris.client.base import ServiceClient
from lampyris.client.jobs import Job, JobRef

LR_STATUS = "/lrService/status"


class LightroomClient(ServiceClient):
    """Lightroom's develop routes through Adobe's API (or a lampyris server).

    Every submit takes the input and output hrefs (``*_storage``: ``external``, ``azure`` or
    ``dropbox``), the output ``output_type`` (``image/jpeg``, ``image/png`` or
    ``application/rdf+xml`` for an XMP sidecar of the settings) and JPEG ``quality`` (1..12),
    and returns a :class:`JobRef`; :meth:`wait` polls it to a :class:`Job`.

    Usage:
        with LightroomClient("id", "secret", base_url="http://localhost:8000",
                             ims_url="http://localhost:8000") as lr:
            job = lr.wait(lr.auto_tone(signed_get_url, signed_put_url))
            print(job.body["outputs"][0]["lampyris"]["settings"])   # lampyris servers only
    """

    def auto_tone(
        self,
        input_href: str,
        output_href: str,
        *,
        input_storage: str = "external",
        output_storage: str = "external",
        output_type: str = "image/jpeg",
        quality: int | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /lrService/autoTone: exposure, contrast, white balance… chosen from the image."""
        body = {
            "inputs": _ref(input_href, input_storage),
            "outputs": _outputs(output_href, output_storage, output_type, quality),
        }
        return self._submit("autoTone", body, retry_server_errors)

    def auto_straighten(
        self,
        input_href: str,
        output_href: str,
        *,
        upright_mode: str | None = None,
        constrain_crop: bool | None = None,
        input_storage: str = "external",
        output_storage: str = "external",
        output_type: str = "image/jpeg",
        quality: int | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /lrService/autoStraighten: ``upright_mode`` ``auto``, ``full``, ``level`` or
        ``vertical`` (left out: the service's default, ``auto``)."""
        body: dict[str, Any] = {
            "inputs": _ref(input_href, input_storage),
            "outputs": _outputs(output_href, output_storage, output_type, quality),
        }
        if upright_mode is not None or constrain_crop is not None:
            body["options"] = {"uprightMode": upright_mode or "auto"}
            if constrain_crop is not None:
                body["options"]["constrainCrop"] = constrain_crop
        return self._submit("autoStraighten", body, retry_server_errors)

    def edit(
        self,
        input_href: str,
        output_href: str,
        options: Mapping[str, Any],
        *,
        input_storage: str = "external",
        output_storage: str = "external",
        output_type: str = "image/jpeg",
        quality: int | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /lrService/edit: ``options`` in Lightroom's names, e.g.
        ``{"Exposure": 0.5, "Contrast": 10, "WhiteBalance": "Auto"}``."""
        body = {
            "inputs": {"source": _ref(input_href, input_storage)},
            "options": dict(options),
            "outputs": _outputs(output_href, output_storage, output_type, quality),
        }
        return self._submit("edit", body, retry_server_errors)

    def presets(
        self,
        input_href: str,
        preset_hrefs: Sequence[str],
        output_href: str,
        *,
        input_storage: str = "external",
        preset_storage: str = "external",
        output_storage: str = "external",
        output_type: str = "image/jpeg",
        quality: int | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /lrService/presets: up to 10 XMP preset files, applied in order."""
        body = {
            "inputs": {
                "source": _ref(input_href, input_storage),
                "presets": [_ref(href, preset_storage) for href in preset_hrefs],
            },
            "outputs": _outputs(output_href, output_storage, output_type, quality),
        }
        return self._submit("presets", body, retry_server_errors)

    def xmp(
        self,
        input_href: str,
        output_href: str,
        xmp: str,
        *,
        orientation: int | None = None,
        input_storage: str = "external",
        output_storage: str = "external",
        output_type: str = "image/jpeg",
        quality: int | None = None,
        retry_server_errors: bool = False,
    ) -> JobRef:
        """POST /lrService/xmp: one preset given inline (its XMP text); ``orientation`` (EXIF
        1..8) flips and/or turns the picture."""
        options: dict[str, Any] = {"xmp": xmp}
        if orientation is not None:
            options["orientation"] = orientation
        body = {
            "inputs": {"source": _ref(input_href, input_storage)},
            "options": options,
            "outputs": _outputs(output_href, output_storage, output_type, quality),
        }
        return self._submit("xmp", body, retry_server_errors)

    def status(self, job_id: str) -> Job:
        """GET /lrService/status/{id}, once (a failed job is returned, not raised)."""
        return Job.from_body(
            self.session.get_json(self._status_url(None, job_id, LR_STATUS)), job_id=job_id
        )

    def _submit(self, route: str, body: dict[str, Any], retry_server_errors: bool) -> JobRef:
        answer = self.session.post_json(
            f"/lrService/{route}", body, retry_server_errors=retry_server_errors
        )
        return self._linked_job(answer, LR_STATUS)


def _ref(href: str, storage: str) -> dict[str, str]:
    return {"href": href, "storage": storage}


def _outputs(
    href: str, storage: str, output_type: str, quality: int | None
) -> list[dict[str, Any]]:
    output: dict[str, Any] = {"href": href, "storage": storage, "type": output_type}
    if quality is not None:
        output["quality"] = quality
    return [output]
