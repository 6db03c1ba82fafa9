"""Every image operation of Adobe's public OpenAPI files, by method and path template.

The 404 handler asks ``adobe_operation`` whether a path no route answered is one of Adobe's:
then it is a 501 ``not_implemented`` (a script sees "not served here", not "wrong base URL").
A route lampyris adds is matched before the handler runs, so adding one needs no change here.
Collected from ``shared/reference/adobe-openapi`` (the current and older Photoshop v1/v2,
Firefly v3/v4 and legacy v1/v2, Lightroom and the SDK-bundled specs; ``{jobID}`` of aio-lib's
spec read as ``{jobId}``): 58 operations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class AdobeOperation:
    """One of Adobe's operations: its method, path template and SDK/spec operation name."""

    method: str
    path: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def _ops(method: str, *rows: tuple[str, str]) -> tuple[AdobeOperation, ...]:
    return tuple(AdobeOperation(method, path, name) for path, name in rows)


ADOBE_OPERATIONS: tuple[AdobeOperation, ...] = (
    # Lightroom (lrService)
    *_ops("POST", ("/lrService/autoTone", "applyAutoTone"),
          ("/lrService/autoStraighten", "autoStraighten"), ("/lrService/presets", "applyPreset"),
          ("/lrService/edit", "applyEdits"), ("/lrService/xmp", "applyPresetXmp")),
    *_ops("GET", ("/lrService/status/{jobId}", "getLightroomStatus")),
    # Photoshop v1 (pie/psdService)
    *_ops("POST", ("/pie/psdService/actionJSON", "playPhotoshopActionsJson"),
          ("/pie/psdService/actionJsonCreate", "convertToActionsJson"),
          ("/pie/psdService/artboardCreate", "createArtboard"),
          ("/pie/psdService/depthBlur", "applyDepthBlur"),
          ("/pie/psdService/documentCreate", "createDocument"),
          ("/pie/psdService/documentManifest", "getDocumentManifest"),
          ("/pie/psdService/documentOperations", "modifyDocument"),
          ("/pie/psdService/photoshopActions", "playPhotoshopActions"),
          ("/pie/psdService/productCrop", "applyAutoCrop"),
          ("/pie/psdService/renditionCreate", "createRendition"),
          ("/pie/psdService/smartObject", "replaceSmartObject"),
          ("/pie/psdService/text", "editTextLayer")),
    *_ops("GET", ("/pie/psdService/status/{jobId}", "getPhotoshopStatus")),
    # Photoshop v1 (Sensei)
    *_ops("POST", ("/sensei/cutout", "removeBackground"), ("/sensei/mask", "createMask")),
    *_ops("GET", ("/sensei/status/{jobId}", "getSenseiStatus")),
    # Photoshop masking v1 and v2
    *_ops("POST", ("/v1/auto-crop", "autoCrop"), ("/v1/fill-masked-areas", "fillMaskedAreas"),
          ("/v1/mask-body-parts", "maskBodyParts"), ("/v1/mask-objects", "maskObjects"),
          ("/v1/refine-mask", "refineMask")),
    *_ops("GET", ("/v1/status/{jobId}", "getJobStatus")),
    *_ops("POST", ("/v2/create-artboard", "createArtboard"),
          ("/v2/create-composite", "createComposite"), ("/v2/edit", "edit"),
          ("/v2/execute-actions", "executeActions"),
          ("/v2/generate-manifest", "generateManifest"),
          ("/v2/remove-background", "removeBackground")),
    *_ops("GET", ("/v2/status/{jobId}", "getJobStatus")),
    # Firefly: legacy v1/v2, v3 (sync, as the SDK calls it, and async), v4
    *_ops("POST", ("/v1/images/expand", "expandImagesV1"), ("/v1/images/fill", "fillImagesV1"),
          ("/v2/images/generate", "generateImagesV2"), ("/v2/storage/image", "upload"),
          ("/v3/images/adaptive-composite", "adaptiveComposite"),
          ("/v3/images/expand", "expandImage"), ("/v3/images/expand-async", "expandImageAsync"),
          ("/v3/images/fill", "fillImage"), ("/v3/images/fill-async", "fillImageAsync"),
          ("/v3/images/generate", "generateImages"),
          ("/v3/images/generate-async", "generateImagesAsync"),
          ("/v3/images/generate-object-composite", "generateObjectComposite"),
          ("/v3/images/generate-object-composite-async", "generateObjectCompositeAsync"),
          ("/v3/images/generate-similar", "generateSimilarImages"),
          ("/v3/images/generate-similar-async", "generateSimilarImagesAsync"),
          ("/v3/images/precise-composite", "preciseComposite"),
          ("/v3/images/upscale", "upscale"), ("/v3/videos/generate", "generateVideo"),
          ("/v4/images/generate-async", "generateImagesV4Async"),
          ("/v4/images/generate-object-composite-async", "generateObjectCompositeV4Async")),
    *_ops("GET", ("/v3/custom-models", "getCustomModels"), ("/v3/status/{jobId}", "jobResult")),
    *_ops("PUT", ("/v3/cancel/{jobId}", "cancelJob")),
)


def _pattern(template: str) -> re.Pattern[str]:
    """``/v3/status/{jobId}`` → one non-empty path segment per parameter."""
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
                      + "/?")


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], AdobeOperation], ...]:
    return tuple((_pattern(op.path), op) for op in ADOBE_OPERATIONS)


def adobe_operations(path: str) -> list[AdobeOperation]:
    """Adobe's operations on ``path`` (any method)."""
    return [op for pattern, op in _compiled() if pattern.fullmatch(path)]


def adobe_operation(method: str, path: str) -> AdobeOperation | None:
    """Adobe's operation for ``method path``, if it is one."""
    wanted = method.upper()
    return next((op for op in adobe_operations(path) if op.method == wanted), None)
