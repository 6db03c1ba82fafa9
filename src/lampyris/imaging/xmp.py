"""Lightroom / Camera Raw XMP presets in, develop settings out as an XMP sidecar.

Why: ``/lrService/presets`` and ``/lrService/xmp`` take presets that people made in Lightroom,
and a job's settings are worth handing back in a form Lightroom opens. XMP presets are RDF/XML
whose ``crs:`` (Camera Raw settings) properties carry the sliders, as attributes or as child
elements of one or more ``rdf:Description`` blocks.

Reading is defensive, because presets are uploaded text: at most 1 MiB, no ``<!DOCTYPE`` or
``<!ENTITY`` (entity-expansion attacks), Unicode only, then the stdlib parser. Values Lightroom
allows but lampyris' ranges do not are clamped, as Lightroom clamps them; a slider that is not
a number is refused. Settings lampyris does not render (curves, HSL, lens corrections, grain,
profiles…) are listed in ``Preset.unsupported`` so a caller can say what was left out.

Mapping decisions (Lightroom's names → ``ToneSettings``):

* Process 2012+ sliders map one to one (``Exposure2012`` → ``exposure``, ``Clarity2012`` →
  ``clarity``, ``PostCropVignetteAmount`` → ``vignette``, ``LuminanceSmoothing`` →
  ``noise_reduction``…). ``SharpenEdgeMasking`` is stored on the 0..100 scale of Lightroom's
  Masking slider (real sidecars hold values such as 40 or 60), so it maps one to one too.
* ``IncrementalTemperature`` / ``IncrementalTint`` are the rendered-file sliders and map one to
  one. The raw-file ``Temperature`` (Kelvin) / ``Tint`` are used only when no incremental value
  is given and ``WhiteBalance`` is ``Custom`` or absent (with a named white balance they merely
  record what it resolved to for that raw file). They are approximated relative to daylight
  (5500 K, tint 0): ``temperature = (1e6/5500 − 1e6/K) / 1.5`` — one step per 1.5 mired, so
  ±100 spans about 3000 K .. 31000 K (Lightroom's raw range, 2000..50000 K, is clamped to it) —
  and ``tint = Tint / 1.5`` (raw −150..150 onto −100..100).
* Process 2010 names are fallbacks used only when the 2012 name is absent: ``Exposure``,
  ``Contrast`` and ``Clarity`` one to one; ``FillLight`` ≈ ``shadows``; ``HighlightRecovery``
  (or ``Recovery``) ≈ −``highlights``. 2010's ``Shadows`` (its black clipping, not 2012's
  Shadows) and ``Brightness`` have no counterpart and are reported as unsupported.

Writing emits the changed settings (or every one, ``complete=True``) with Lightroom's names and
precision: exposure to 0.01 EV, radius to 0.1, other sliders to whole steps.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, get_args
from xml.sax.saxutils import escape

from lampyris.errors import InvalidParameterError
from lampyris.imaging.tone_settings import ToneSettings, WhiteBalance

CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_DESCRIPTION, _LI = f"{{{RDF}}}Description", f"{{{RDF}}}li"
_ALT, _SEQ, _BAG = f"{{{RDF}}}Alt", f"{{{RDF}}}Seq", f"{{{RDF}}}Bag"
_PARSE_TYPE = f"{{{RDF}}}parseType"

MAX_PRESET_SIZE = 1 << 20  # bytes, or characters for text
PROCESS_VERSION = "15.4"  # Lightroom's process version 6
_MAX_DEPTH = 16  # nested structs deeper than this are kept opaque (and count as set)

# A property value: simple text, an rdf:Seq/Bag (list) or a struct (dict of crs properties).
Value = str | list[Any] | dict[str, Any]

# Process 2012+ name → ToneSettings field, one to one.
SLIDERS: dict[str, str] = {
    "Exposure2012": "exposure",
    "Contrast2012": "contrast",
    "Highlights2012": "highlights",
    "Shadows2012": "shadows",
    "Whites2012": "whites",
    "Blacks2012": "blacks",
    "IncrementalTemperature": "temperature",
    "IncrementalTint": "tint",
    "Vibrance": "vibrance",
    "Saturation": "saturation",
    "Clarity2012": "clarity",
    "Dehaze": "dehaze",
    "Texture": "texture",
    "PostCropVignetteAmount": "vignette",
    "Sharpness": "sharpness",
    "SharpenRadius": "sharpen_radius",
    "SharpenDetail": "sharpen_detail",
    "SharpenEdgeMasking": "sharpen_edge_masking",
    "LuminanceSmoothing": "noise_reduction",
    "ColorNoiseReduction": "color_noise_reduction",
}

# Process 2010 name → (its 2012 successor, field, scale): used only without the successor.
LEGACY: dict[str, tuple[str, str, float]] = {
    "Exposure": ("Exposure2012", "exposure", 1.0),
    "Contrast": ("Contrast2012", "contrast", 1.0),
    "Clarity": ("Clarity2012", "clarity", 1.0),
    "FillLight": ("Shadows2012", "shadows", 1.0),
    "HighlightRecovery": ("Highlights2012", "highlights", -1.0),
    "Recovery": ("Highlights2012", "highlights", -1.0),
}
# Process 2010 names with no counterpart: unsupported unless their successor is present.
_LEGACY_UNMAPPED = {"Shadows": "Blacks2012", "Brightness": "Exposure2012"}

# Absolute (raw-file) white balance → incremental sliders; see the module docstring.
REFERENCE_KELVIN = 5500.0
MIRED_PER_STEP = 1.5
TINT_PER_STEP = 1.5
_KELVIN_RANGE = (2000.0, 50000.0)

# Names that describe the preset or file rather than change the picture.
_METADATA = frozenset({
    "Version", "ProcessVersion", "CompatibleVersion", "HasSettings", "AlreadyApplied", "UUID",
    "Name", "ShortName", "SortName", "Description", "Group", "Cluster", "Copyright",
    "ContactInfo", "PresetType", "CameraModelRestriction", "RawFileName", "ToneCurveName",
    "ToneCurveName2010", "ToneCurveName2012", "LensProfileSetup", "LensProfileName",
    "LensProfileFilename", "LensProfileIsEmbedded", "GrainSeed", "JPEGHandling",
})
# Enable* flags, crop geometry (HasCrop says whether it applies), Upright's bookkeeping and the
# grey mixer (ConvertToGrayscale says whether it applies) are not settings on their own.
_METADATA_PREFIXES = ("Supports", "Requires", "Enable", "Crop", "Upright", "GrayMixer")
_METADATA_SUFFIXES = ("Digest", "Version")

# Neutral values other than zero, for deciding whether an unrendered setting is in use.
_NEUTRAL_NUMBERS: dict[str, float] = {
    "Brightness": 50, "Shadows": 5, "ParametricShadowSplit": 25, "ParametricMidtoneSplit": 50,
    "ParametricHighlightSplit": 75, "PostCropVignetteMidpoint": 50,
    "PostCropVignetteFeather": 50, "PostCropVignetteStyle": 1, "VignetteMidpoint": 50,
    "GrainSize": 25, "GrainFrequency": 50, "LuminanceNoiseReductionDetail": 50,
    "ColorNoiseReductionDetail": 50, "ColorNoiseReductionSmoothness": 50,
    "PerspectiveScale": 100, "LensProfileDistortionScale": 100,
    "LensProfileVignettingScale": 100, "LensProfileChromaticAberrationScale": 100,
    "DefringePurpleHueLo": 30, "DefringePurpleHueHi": 70, "DefringeGreenHueLo": 40,
    "DefringeGreenHueHi": 60, "ColorGradeBlending": 50, "CurveRefineSaturation": 100,
}
_NEUTRAL_TEXT = frozenset({"", "false", "off", "none"})
_DEFAULT_PROFILES = frozenset({"", "embedded", "adobe standard", "adobe color"})

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FORBIDDEN = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_LUA_PRESET = re.compile(r"^\s*s\s*=\s*\{")
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_WHITE_BALANCES: tuple[str, ...] = get_args(WhiteBalance)


@dataclass(frozen=True)
class Preset:
    """What a preset sets: ``settings`` maps ToneSettings field names to (clamped) values and
    holds only what the preset names; ``unsupported`` lists the ``crs:`` names it sets to
    something other than neutral that lampyris does not render."""

    name: str | None
    settings: dict[str, Any]
    unsupported: list[str] = field(default_factory=list)


# --- reading ---------------------------------------------------------------------------------


def read_preset(text: str | bytes) -> Preset:
    """The develop settings of a Lightroom / Camera Raw XMP preset or sidecar."""
    root = _parse(_decode(text))
    props = _merged_properties(root)
    if not props:
        raise InvalidParameterError("preset: no Camera Raw (crs:) settings found")
    settings = _settings(props)
    unsupported = [name for name, value in props.items() if _unsupported(name, value, props)]
    order = list(ToneSettings.model_fields)
    return Preset(
        name=_name(props.get("Name")),
        settings=dict(sorted(settings.items(), key=lambda kv: order.index(kv[0]))),
        unsupported=unsupported,
    )


def _decode(text: str | bytes) -> str:
    if isinstance(text, bytes):
        if len(text) > MAX_PRESET_SIZE:
            raise InvalidParameterError(f"preset: larger than {MAX_PRESET_SIZE} bytes")
        encoding = "utf-16" if text[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
        try:
            text = text.decode(encoding)
        except UnicodeDecodeError as e:
            raise InvalidParameterError(f"preset: not UTF-8 (or UTF-16) text: {e}") from e
    elif len(text) > MAX_PRESET_SIZE:
        raise InvalidParameterError(f"preset: larger than {MAX_PRESET_SIZE} characters")
    return text.lstrip("\ufeff \t\r\n")


def _parse(text: str) -> ET.Element:
    if _LUA_PRESET.match(text):
        raise InvalidParameterError(
            "preset: only XMP presets are read, not Lightroom's legacy .lrtemplate (Lua) "
            "format; export it again from Lightroom Classic 7.3 or later as .xmp"
        )
    if forbidden := _FORBIDDEN.search(text):
        raise InvalidParameterError(
            f"preset: <!{forbidden.group(1).upper()}> is not allowed in XMP "
            "(document type and entity declarations are refused)"
        )
    try:
        return ET.fromstring(text)
    except ET.ParseError as e:
        raise InvalidParameterError(f"preset: not well-formed XML: {e}") from e


def _descriptions(root: ET.Element) -> list[ET.Element]:
    """Top-level rdf:Description blocks, in document order; structs nested inside a property
    (a ``crs:Look``'s own Description) are the property's value, not more settings."""
    found, stack = [], [root]
    while stack:
        element = stack.pop()
        if element.tag == _DESCRIPTION:
            found.append(element)
        else:
            stack.extend(reversed(element))
    return found


def _merged_properties(root: ET.Element) -> dict[str, Value]:
    props: dict[str, Value] = {}
    for description in _descriptions(root):
        props.update(_properties(description, 0))
    return props


def _properties(element: ET.Element, depth: int) -> dict[str, Value]:
    """The crs: properties of one Description (or parseType="Resource" struct): attributes
    first, then child elements, as Lightroom writes them."""
    props: dict[str, Value] = {}
    for key, value in element.attrib.items():
        if key.startswith(f"{{{CRS}}}"):
            props[key[len(CRS) + 2:]] = value.strip()
    for child in element:
        if isinstance(child.tag, str) and child.tag.startswith(f"{{{CRS}}}"):
            props[child.tag[len(CRS) + 2:]] = _element_value(child, depth + 1)
    return props


def _element_value(element: ET.Element, depth: int) -> Value:
    if depth > _MAX_DEPTH:
        return {"": "..."}
    if element.get(_PARSE_TYPE) == "Resource":
        return _properties(element, depth)
    children = list(element)
    if not children:
        return (element.text or "").strip()
    container = children[0]
    items = [li for li in container if li.tag == _LI]
    if container.tag == _ALT:
        return _alternative(items)
    if container.tag in (_SEQ, _BAG):
        return [_element_value(li, depth + 1) for li in items]
    if container.tag == _DESCRIPTION:
        return _properties(container, depth) or {"": "..."}
    return {"": "..."}  # some structure we do not read: count it as set


def _alternative(items: list[ET.Element]) -> str:
    """An rdf:Alt's x-default entry, else its first."""
    chosen = next((li for li in items if li.get(XML_LANG) == "x-default"), None)
    if chosen is None and items:
        chosen = items[0]
    return "" if chosen is None else (chosen.text or "").strip()


def _name(value: Value | None) -> str | None:
    return (value or None) if isinstance(value, str) else None


def _white_balance(value: Value) -> str | None:
    """Lightroom's white balance name as ToneSettings spells it, or None if unknown."""
    if isinstance(value, str):
        return next((wb for wb in _WHITE_BALANCES if wb.lower() == value.lower()), None)
    return None


def _is_metadata(name: str) -> bool:
    return (
        name in _METADATA
        or name.startswith(_METADATA_PREFIXES)
        or name.endswith(_METADATA_SUFFIXES)
    )


def _number(name: str, value: Value) -> float:
    if not isinstance(value, str) or not _NUMBER.fullmatch(value.strip()):
        shown = value if isinstance(value, str) else "a structure"
        raise InvalidParameterError(f"preset: {name} is not a number: {shown!r}")
    return float(value)


def _clamp(field_name: str, value: float) -> float:
    for bound in ToneSettings.model_fields[field_name].metadata:
        if (low := getattr(bound, "ge", None)) is not None:
            value = max(value, float(low))
        if (high := getattr(bound, "le", None)) is not None:
            value = min(value, float(high))
    return value


def _settings(props: dict[str, Value]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name, (successor, field_name, scale) in LEGACY.items():
        if name in props and successor not in props:
            settings[field_name] = _clamp(field_name, scale * _number(name, props[name]))
    for name, field_name in SLIDERS.items():
        if name in props:
            settings[field_name] = _clamp(field_name, _number(name, props[name]))
    if "WhiteBalance" not in props:
        settings.update(_absolute_white_balance(props))
    elif white_balance := _white_balance(props["WhiteBalance"]):
        settings["white_balance"] = white_balance
        if white_balance == "Custom":
            settings.update(_absolute_white_balance(props))
    return settings


def _absolute_white_balance(props: dict[str, Value]) -> dict[str, float]:
    """Raw files' Kelvin / tint as the incremental sliders (see the module docstring)."""
    moves: dict[str, float] = {}
    if "Temperature" in props and "IncrementalTemperature" not in props:
        kelvin = min(max(_number("Temperature", props["Temperature"]), _KELVIN_RANGE[0]),
                     _KELVIN_RANGE[1])
        mired = 1e6 / REFERENCE_KELVIN - 1e6 / kelvin
        moves["temperature"] = _clamp("temperature", mired / MIRED_PER_STEP)
    if "Tint" in props and "IncrementalTint" not in props:
        moves["tint"] = _clamp("tint", _number("Tint", props["Tint"]) / TINT_PER_STEP)
    return moves


def _unsupported(name: str, value: Value, props: dict[str, Value]) -> bool:
    """Whether ``name`` is a setting lampyris does not render, set to something not neutral."""
    if name == "WhiteBalance":
        return _white_balance(value) is None
    if name in SLIDERS or name in LEGACY or name in ("Temperature", "Tint"):
        return False
    if _is_metadata(name):
        return False
    if name in _LEGACY_UNMAPPED and _LEGACY_UNMAPPED[name] in props:
        return False
    return not _neutral(name, value)


def _neutral(name: str, value: Value) -> bool:
    if isinstance(value, dict):
        if name == "Look":
            look = value.get("Name", "")
            return isinstance(look, str) and look.lower() in _DEFAULT_PROFILES
        return not value
    if isinstance(value, list):
        return not value or (name.startswith("ToneCurve") and _identity_curve(value))
    if name == "CameraProfile":
        return value.lower() in _DEFAULT_PROFILES
    if _NUMBER.fullmatch(value):
        number = float(value)
        return number == 0 or number == _NEUTRAL_NUMBERS.get(name)
    return value.lower() in _NEUTRAL_TEXT


def _identity_curve(points: list[Any]) -> bool:
    """A tone curve whose points ("x, y") all lie on the diagonal."""
    for point in points:
        parts = point.split(",") if isinstance(point, str) else []
        if len(parts) != 2 or not all(_NUMBER.fullmatch(p.strip()) for p in parts):
            return False
        if float(parts[0]) != float(parts[1]):
            return False
    return True


# --- writing ---------------------------------------------------------------------------------

# ToneSettings field → (crs name, decimals, signed), in the order Lightroom writes them.
_WRITTEN: dict[str, tuple[str, int, bool]] = {
    "exposure": ("Exposure2012", 2, True),
    "contrast": ("Contrast2012", 0, True),
    "highlights": ("Highlights2012", 0, True),
    "shadows": ("Shadows2012", 0, True),
    "whites": ("Whites2012", 0, True),
    "blacks": ("Blacks2012", 0, True),
    "temperature": ("IncrementalTemperature", 0, True),
    "tint": ("IncrementalTint", 0, True),
    "texture": ("Texture", 0, True),
    "clarity": ("Clarity2012", 0, True),
    "dehaze": ("Dehaze", 0, True),
    "vibrance": ("Vibrance", 0, True),
    "saturation": ("Saturation", 0, True),
    "sharpness": ("Sharpness", 0, False),
    "sharpen_radius": ("SharpenRadius", 1, True),
    "sharpen_detail": ("SharpenDetail", 0, False),
    "sharpen_edge_masking": ("SharpenEdgeMasking", 0, False),
    "noise_reduction": ("LuminanceSmoothing", 0, False),
    "color_noise_reduction": ("ColorNoiseReduction", 0, False),
    "vignette": ("PostCropVignetteAmount", 0, True),
}


def write_xmp(settings: ToneSettings, *, name: str | None = None, complete: bool = False) -> bytes:
    """``settings`` as an XMP packet (UTF-8) that Lightroom and :func:`read_preset` both read.

    Only the settings that differ from the defaults are written (at Lightroom's precision),
    unless ``complete``: then every slider is, so Lightroom's raw-file defaults (Sharpness 40,
    Color noise reduction 25) cannot fill the gaps. ``name`` makes it a named preset.
    """
    if name is not None and _XML_INVALID.search(name):
        raise InvalidParameterError("preset name: contains characters XML cannot hold")
    attributes = [("Version", PROCESS_VERSION), ("ProcessVersion", PROCESS_VERSION)]
    default = ToneSettings()
    if complete or settings.white_balance != default.white_balance:
        attributes.append(("WhiteBalance", settings.white_balance))
    for field_name, (crs_name, decimals, signed) in _WRITTEN.items():
        value = round(float(getattr(settings, field_name)), decimals)
        if complete or value != getattr(default, field_name):
            attributes.append((crs_name, _format(value, decimals, signed)))
    attributes.append(("HasSettings", "True"))
    if name is not None:
        digest = uuid.uuid5(uuid.NAMESPACE_URL, repr((name, attributes))).hex.upper()
        attributes += [
            ("PresetType", "Normal"), ("UUID", digest), ("SupportsAmount", "False"),
            ("SupportsColor", "True"), ("SupportsMonochrome", "True"),
        ]
    return _packet(attributes, name).encode("utf-8")


def _format(value: float, decimals: int, signed: bool) -> str:
    """Lightroom's spelling: "+0.50", "-12", "0", "+1.0"."""
    text = f"{value:.{decimals}f}"
    if float(text) == 0:
        return text.lstrip("-")
    return f"+{text}" if signed and value > 0 else text


def _packet(attributes: list[tuple[str, str]], name: str | None) -> str:
    lines = "".join(
        f'\n    crs:{key}="{escape(value, {chr(34): "&quot;"})}"' for key, value in attributes
    )
    body = "/>"
    if name is not None:
        body = (
            ">\n   <crs:Name>\n    <rdf:Alt>\n"
            f'     <rdf:li xml:lang="x-default">{escape(name)}</rdf:li>\n'
            "    </rdf:Alt>\n   </crs:Name>\n  </rdf:Description>"
        )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="lampyris">\n'
        f' <rdf:RDF xmlns:rdf="{RDF}">\n'
        '  <rdf:Description rdf:about=""\n'
        f'    xmlns:crs="{CRS}"{lines}{body}\n'
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>\n'
    )
