"""The ``studio`` fill engine: a product backdrop drawn from a prompt, with no model weights.

It is procedural, and says so: the prompt's colour, material, set and light words pick
parameters for noise textures, a light gradient and a shadow; words it does not know are
ignored and the result lists the ones it understood. The product's own pixels are never
touched, only the backdrop around them.

Usage:
    rgb, info = studio_fill(cutout_rgba, "white marble counter, soft morning light", seed=3)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from lampyris.errors import InputError
from lampyris.imaging.layout import place, subject_box
from lampyris.imaging.shadow import shadow_alpha
from lampyris.imaging.tone import srgb_decode, srgb_encode

Colour = tuple[int, int, int]

COLOURS: dict[str, Colour] = {
    "white": (244, 243, 240), "off white": (236, 233, 226), "ivory": (240, 235, 220),
    "cream": (241, 231, 208), "beige": (220, 203, 178), "taupe": (170, 155, 140),
    "black": (24, 24, 26), "charcoal": (52, 53, 56), "grey": (150, 150, 150),
    "gray": (150, 150, 150), "pink": (226, 150, 170), "pastel pink": (243, 204, 212),
    "blush": (238, 200, 196), "blue": (70, 110, 170), "pastel blue": (192, 214, 238),
    "navy": (30, 40, 78), "green": (70, 130, 90), "pastel green": (200, 228, 204),
    "sage": (166, 184, 154), "sage green": (160, 182, 148), "mint": (196, 232, 214),
    "olive": (120, 120, 70),
    "terracotta": (196, 108, 78), "red": (170, 40, 40), "burgundy": (96, 28, 40),
    "orange": (222, 130, 60), "peach": (244, 196, 168), "yellow": (238, 210, 90),
    "mustard": (205, 160, 50), "lavender": (206, 196, 232), "purple": (100, 60, 130),
    "brown": (110, 75, 50), "gold": (200, 165, 90),
}
SHADES = {"pastel": 0.55, "light": 0.35, "pale": 0.45, "dark": -0.45, "deep": -0.35}

# material word -> (material, default colour, default accent or None)
MATERIALS: dict[str, tuple[str, Colour, Colour | None]] = {
    "marble": ("marble", (238, 236, 232), None),
    "wood": ("wood", (186, 138, 92), None), "wooden": ("wood", (186, 138, 92), None),
    "oak": ("wood", (196, 152, 104), None), "walnut": ("wood", (112, 74, 48), None),
    "concrete": ("concrete", (160, 158, 153), None), "cement": ("concrete", (160, 158, 153), None),
    "linen": ("linen", (222, 212, 192), None), "fabric": ("linen", (214, 206, 192), None),
    "cloth": ("linen", (214, 206, 192), None), "paper": ("paper", (240, 239, 236), None),
    "sand": ("sand", (216, 192, 152), None), "stone": ("stone", (142, 137, 130), None),
    "slate": ("stone", (82, 86, 92), None), "velvet": ("velvet", (92, 30, 46), None),
}
SURFACE_WORDS = {"counter", "countertop", "table", "tabletop", "floor", "surface", "desk", "shelf"}
SWEEP_WORDS = {"sweep", "seamless", "studio", "backdrop", "cyclorama"}
GLOSS_WORDS = {"reflection", "reflective", "glossy", "mirror", "polished"}


@dataclass(frozen=True)
class Lighting:
    """How the backdrop is lit: a soft pool of light, its colour, and the shadow it casts."""

    position: tuple[float, float] = (-0.3, -0.6)  # the pool's centre, -1..1 of the frame
    spread: float = 0.9  # the pool's radius, in frame halves
    contrast: float = 0.25  # how much darker the frame is outside the pool
    key: float = 1.0  # overall exposure, linear
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)  # linear gains
    vignette: float = 0.12
    shadow: float = 0.45  # shadow opacity
    cast: float = 0.25  # strength of the directional cast shadow


LIGHTS: dict[str, dict[str, object]] = {
    "soft morning light": {"position": (-0.7, -0.8), "contrast": 0.2, "tint": (1.03, 1.0, 0.95),
                           "shadow": 0.35, "cast": 0.3},
    "morning light": {"position": (-0.7, -0.8), "tint": (1.03, 1.0, 0.95), "cast": 0.3},
    "soft": {"contrast": 0.15, "shadow": 0.32, "cast": 0.15, "vignette": 0.08},
    "warm": {"tint": (1.08, 1.0, 0.86)},
    "cool": {"tint": (0.92, 0.98, 1.1)},
    "golden hour": {"position": (0.85, -0.2), "spread": 0.8, "contrast": 0.4,
                    "tint": (1.18, 1.0, 0.72), "cast": 0.55},
    "dramatic": {"position": (-0.85, -0.7), "spread": 0.6, "contrast": 0.6, "vignette": 0.35,
                 "shadow": 0.6, "cast": 0.6},
    "spotlight": {"position": (0.0, -0.2), "spread": 0.45, "contrast": 0.8, "vignette": 0.3,
                  "shadow": 0.6, "cast": 0.2},
    "high key": {"key": 1.2, "contrast": 0.06, "vignette": 0.0, "shadow": 0.28, "cast": 0.1},
    "low key": {"key": 0.45, "contrast": 0.5, "vignette": 0.45, "shadow": 0.6},
}


@dataclass(frozen=True)
class BackdropSpec:
    """What a prompt asked for, as parameters; ``understood`` lists the words that set them."""

    colour: Colour = (240, 239, 236)
    accent: Colour | None = None  # veins, a second tone
    material: str = "paper"
    set: str = "sweep"  # "sweep" (seamless curve) or "surface" (a plane meeting a wall)
    lighting: Lighting = field(default_factory=Lighting)
    light_words: tuple[str, ...] = ()
    reflection: bool = False
    horizon: float = 0.56  # where the surface meets the wall (or the sweep curves), 0..1
    understood: tuple[str, ...] = ()


def _shade(colour: Colour, amount: float) -> Colour:
    target = 255.0 if amount > 0 else 0.0
    c = np.asarray(colour, np.float64)
    r, g, b = (round(float(v)) for v in c + (target - c) * abs(amount))
    return r, g, b


def _phrases(words: list[str], table: Mapping[str, object]) -> tuple[list[str], list[str]]:
    """Pull the table's phrases out of ``words`` (longest first): (found, rest with holes)."""
    found: list[str] = []
    rest = list(words)
    for phrase in sorted(table, key=lambda p: -len(p.split())):
        n = len(phrase.split())
        i = 0
        while i + n <= len(rest):
            if " ".join(rest[i : i + n]) == phrase:
                found.append(phrase)
                rest[i : i + n] = ["\0"]  # a hole, so phrases never join across it
            else:
                i += 1
    return found, rest


def parse_prompt(prompt: str) -> BackdropSpec:
    """The backdrop a prompt describes; unknown words are ignored.

    Usage:
        parse_prompt("black velvet, low key").material  # "velvet"
    """
    text = prompt.lower()
    hexes = re.findall(r"#[0-9a-f]{6}\b", text)
    words = re.findall(r"[a-z]+", re.sub(r"#[0-9a-f]{6}\b", " ", text))
    understood: list[str] = list(hexes)
    light_words, words = _phrases(words, LIGHTS)
    colours: list[Colour] = [(int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)) for h in hexes]
    material: tuple[str, Colour, Colour | None] | None = None
    kind = "sweep"
    reflection = False
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        two = f"{w} {nxt}"
        if two in COLOURS:
            colours.append(COLOURS[two])
            understood.append(two)
            i += 2
            continue
        if w in SHADES and nxt in COLOURS:
            colours.append(_shade(COLOURS[nxt], SHADES[w]))
            understood.append(two)
            i += 2
            continue
        if w in COLOURS:
            colours.append(COLOURS[w])
        elif w in MATERIALS and material is None:
            material = MATERIALS[w]
        elif w in SURFACE_WORDS:
            kind = "surface"
        elif w in SWEEP_WORDS:
            kind = "sweep"
        elif w in GLOSS_WORDS:
            reflection = True
        else:
            i += 1
            continue
        understood.append(w)
        i += 1
    understood.extend(light_words)

    settings: dict[str, object] = {}
    for phrase in sorted(light_words, key=list(LIGHTS).index):
        settings.update(LIGHTS[phrase])
    name, default, accent = material or ("paper", (240, 239, 236), None)
    return BackdropSpec(
        colour=colours[0] if colours else default,
        accent=colours[1] if len(colours) > 1 else accent,
        material=name,
        set=kind,
        lighting=Lighting(**settings),  # type: ignore[arg-type]
        light_words=tuple(light_words),
        reflection=reflection,
        understood=tuple(understood),
    )


# --- rendering --------------------------------------------------------------------------------

def _wrap(x: np.ndarray, period: int) -> np.ndarray:
    """``x`` mod ``period``, in place (np.mod is several times slower on float32)."""
    x -= np.floor(x * np.float32(1.0 / period)) * np.float32(period)
    return x


class _Noise:
    """Value-noise fBm on arbitrary texture coordinates (so a perspective plane foreshortens
    it): periodic random lattices, sampled with cubic interpolation by ``cv2.remap``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def octave(self, u: np.ndarray, v: np.ndarray, cell: float) -> np.ndarray:
        # remap resolves 1/32 of a source pixel, so a lattice of large cells would come out in
        # steps: magnify the (periodic) lattice first, keeping a few source pixels per cell.
        n = 256 if cell <= 8 else 64
        m = 1 if cell <= 8 else min(16, int(np.ceil(cell / 4)))
        grid = self.rng.standard_normal((n, n)).astype(np.float32)
        if m > 1:
            padded = cv2.copyMakeBorder(grid, 2, 2, 2, 2, cv2.BORDER_WRAP)
            big = cv2.resize(padded, ((n + 4) * m, (n + 4) * m), interpolation=cv2.INTER_CUBIC)
            grid = np.ascontiguousarray(big[2 * m : (n + 2) * m, 2 * m : (n + 2) * m])
        period = n * m
        mx = _wrap(u * np.float32(m / cell), period)
        my = _wrap(v * np.float32(m / cell), period)
        return cv2.remap(grid, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_WRAP)

    def fbm(self, u: np.ndarray, v: np.ndarray, cell: float, octaves: int = 4) -> np.ndarray:
        """About unit standard deviation."""
        out = np.zeros(u.shape, np.float32)
        amp, total = 1.0, 0.0
        for _ in range(octaves):
            out += np.float32(amp) * self.octave(u, v, cell)
            total += amp * amp
            amp, cell = amp * 0.5, max(cell * 0.5, 1.0)
        return out * np.float32(1.0 / (0.75 * np.sqrt(total)))

    def grain(self, shape: tuple[int, int]) -> np.ndarray:
        return self.rng.standard_normal(shape, dtype=np.float32)


def _texture(material: str, u: np.ndarray, v: np.ndarray, noise: _Noise
             ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(accent mix 0..1, luminance gain around 1) of a material; None where it has none."""
    if material == "marble":
        warp = noise.fbm(u, v, 420.0, 6)
        s1 = np.sin((u * 0.8 + v * 0.5) * np.float32(0.0045) + warp * np.float32(1.6))
        s2 = np.sin((u * 0.4 - v * 0.9) * np.float32(0.007) + warp * np.float32(2.4))
        veins = (1.0 - np.abs(s1)) ** 24 * 0.85 + (1.0 - np.abs(s2)) ** 40 * 0.5
        cloud = noise.fbm(u, v, 300.0, 4)
        mix = veins + np.clip(cloud, 0, None) * np.float32(0.04)
        return np.clip(mix, 0, 1), 1.0 + cloud * np.float32(0.02)
    if material == "wood":
        rings = np.sin(v * np.float32(0.16) + noise.fbm(u * 0.012, v * 0.25, 30.0, 4) * 4.0)
        streak = noise.fbm(u * 0.02, v, 3.0, 2)
        plank = np.floor(v * np.float32(1.0 / 230.0))
        board = np.float32(1.0) + np.float32(0.06) * np.sin(plank * np.float32(12.9898)) * 1.0
        seam = np.clip(np.abs(np.mod(v, 230.0) - 115.0) - 113.5, 0, 1)  # 1 px dark lines
        lum = board * (1.0 + streak * np.float32(0.05)) * (1.0 - seam * np.float32(0.35))
        return (0.5 + 0.5 * rings) ** 4 * np.float32(0.5), lum
    if material == "concrete":
        pits = noise.grain(u.shape)
        lum = 1.0 + noise.fbm(u, v, 90.0, 5) * np.float32(0.035) + pits * np.float32(0.03)
        return None, lum - np.float32(0.2) * (pits > 2.6)
    if material == "linen":
        weave = np.sin(u * np.float32(2.1)) * np.sin(v * np.float32(2.1))
        slub = noise.fbm(u * 0.08, v, 4.0, 2) + noise.fbm(u, v * 0.08, 4.0, 2)
        return None, 1.0 + weave * np.float32(0.035) + slub * np.float32(0.025)
    if material == "paper":
        return None, 1.0 + noise.fbm(u, v, 220.0, 3) * np.float32(0.012)
    if material == "sand":
        ripple = np.sin(v * np.float32(0.06) + noise.fbm(u, v, 220.0, 3) * np.float32(2.0))
        return None, 1.0 + noise.grain(u.shape) * np.float32(0.06) + ripple * np.float32(0.02)
    if material == "stone":
        patches = np.clip(0.5 + noise.fbm(u, v, 150.0, 4) * 0.6, 0, 1) * np.float32(0.35)
        lum = 1.0 + noise.fbm(u, v, 50.0, 4) * np.float32(0.08) + noise.grain(u.shape) * 0.04
        return patches, lum
    if material == "velvet":
        return None, 1.0 + noise.fbm(u * 0.5, v, 220.0, 3) * np.float32(0.16)
    return None, None


def _coordinates(spec: BackdropSpec, w: int, h: int, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Texture coordinates (u, v) in texture pixels, and the surface's depth blur weight."""
    unit = np.float32(1000.0 / max(w, h))  # textures keep their scale at any resolution
    ox, oy = rng.uniform(0, 4096, 2).astype(np.float32)
    x = (np.arange(w, dtype=np.float32) - w / 2)[None, :]
    y = np.arange(h, dtype=np.float32)[:, None]
    far = np.zeros((h, 1), np.float32)
    if spec.set == "surface":
        hy = spec.horizon * h
        t = np.clip((y - hy) / max(h - hy, 1.0), 0.0, 1.0)
        t0 = np.float32(0.35)
        z = (1 + t0) / (t + t0)  # 1 at the front edge, ~4 at the back: a plane in perspective
        u = x * z * unit + ox
        v = ((1 + t0) * (h - hy) * z) * unit + oy
        v = np.broadcast_to(v, (h, w))
        far = np.where(y >= hy, (1.0 - t) ** 3, 0.0).astype(np.float32)
    else:
        u = np.broadcast_to(x * unit + ox, (h, w))
        v = np.broadcast_to(y * unit + oy, (h, w))
    return np.ascontiguousarray(u, np.float32), np.ascontiguousarray(v, np.float32), far


def _light(spec: BackdropSpec, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """Linear gain map (HxW): the light's pool, the vignette and the set's shading."""
    lt = spec.lighting
    jx, jy = rng.uniform(-0.12, 0.12, 2)
    xn = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    yn = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    d2 = (xn - np.float32(lt.position[0] + jx)) ** 2 + (yn - np.float32(lt.position[1] + jy)) ** 2
    pool = np.exp(-d2 / np.float32(2 * lt.spread**2))
    gain = np.float32(lt.key) * (1 - np.float32(lt.contrast) + np.float32(lt.contrast) * pool)
    r2 = (xn * xn + yn * yn) * np.float32(0.5)
    gain = gain * (1 - np.float32(lt.vignette) * r2 ** np.float32(1.5))
    hy = np.float32(spec.horizon * 2 - 1)
    if spec.set == "sweep":  # the floor catches more light than the wall; a soft curve between
        k = np.clip((yn - hy + 0.35) / 0.7, 0, 1)
        gain = gain * (np.float32(0.86) + np.float32(0.14) * k * k * (3 - 2 * k))
    else:  # the wall sits back and a little darker, with a touch of occlusion at the edge
        wall = yn < hy
        occlusion = np.exp(-np.maximum(hy - yn, 0) / np.float32(0.05)) * np.float32(0.12)
        gain = gain * np.where(wall, np.float32(0.9) - occlusion, np.float32(1.0))
    return gain.astype(np.float32)


def render_backdrop(spec: BackdropSpec, size: tuple[int, int], *, seed: int) -> np.ndarray:
    """The backdrop alone, (w, h) -> HxWx3 uint8 sRGB; the same seed gives the same pixels,
    another seed moves the texture's phase and the light a little.

    Usage:
        render_backdrop(parse_prompt("oak table, warm"), (1024, 768), seed=0)
    """
    return _encode(_render_linear(spec, size, seed))


def _render_linear(spec: BackdropSpec, size: tuple[int, int], seed: int) -> np.ndarray:
    """The backdrop in linear light (HxWx3 float32), so shadows need no second decode."""
    w, h = size
    if w < 1 or h < 1:
        raise InputError(f"backdrop size must be positive, got {size}")
    rng = np.random.default_rng(seed)
    noise = _Noise(rng)
    u, v, far = _coordinates(spec, w, h, rng)
    mix, lum = _texture(spec.material, u, v, noise)
    base = srgb_decode(np.asarray(spec.colour, np.float32) / 255.0).astype(np.float32)
    if spec.accent is not None:
        accent = srgb_decode(np.asarray(spec.accent, np.float32) / 255.0).astype(np.float32)
    elif spec.material == "marble" and float(base.mean()) < 0.2:  # light veins on dark stone
        accent = base * np.float32(0.3) + np.float32(0.45)
    else:
        accent = base * np.float32(0.35)
    lin = np.broadcast_to(base, (h, w, 3)).astype(np.float32)
    if mix is not None:
        lin = lin + mix[..., None] * (accent - base)
    if lum is not None:
        lin = lin * lum[..., None]
    if spec.set == "surface":  # the wall behind: the surface's tone, plain and out of focus
        hy = round(spec.horizon * h)
        wall = lin[hy:].reshape(-1, 3).mean(axis=0) * np.float32(0.5) + base * np.float32(0.5)
        lin[:hy] = wall
        if hy < h:  # the back of the surface falls out of focus
            sigma = max(0.6, 1.2 * max(w, h) / 1000)
            soft = cv2.GaussianBlur(lin, (0, 0), sigma)
            lin = lin + far[..., None] * (soft - lin)
    tint = np.asarray(spec.lighting.tint, np.float32)
    out: np.ndarray = lin * _light(spec, w, h, rng)[..., None] * tint
    return out


def _encode(lin: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.clip(srgb_encode(lin) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


# --- the product on its backdrop --------------------------------------------------------------


def _placed(layer: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """The cutout on the output canvas: as it is, or trimmed and stood bottom-centre."""
    if layer.ndim != 3 or layer.shape[2] != 4 or layer.dtype != np.uint8:
        raise InputError("studio fill needs an 8-bit RGBA cutout")
    if size is None:
        return layer
    w, h = size
    x0, y0, x1, y1 = subject_box(layer[..., 3])
    product = layer[y0:y1, x0:x1]
    bh, bw = product.shape[:2]
    if bw > w or bh > h:
        raise InputError(f"the product ({bw}x{bh}) does not fit a {w}x{h} backdrop")
    top = max(0, min(round(h * 0.88) - bh, h - bh))
    return place(product, (w, h), ((w - bw) // 2, top))


def _cast_shadow(alpha: np.ndarray, spec: BackdropSpec) -> np.ndarray:
    """The silhouette laid back on the floor, away from the light: flattened, sheared, soft."""
    x0, y0, x1, y1 = subject_box(alpha)
    size = max(x1 - x0, y1 - y0)
    k = -float(spec.lighting.position[0]) * 0.5  # light from the left, shadow to the right
    squash = 0.35  # a point h above the base lands squash*h behind it, k*h to the side
    m = np.array([[1, -k, k * y1], [0, squash, y1 * (1 - squash)]], np.float32)
    a = alpha.astype(np.float32) * np.float32(1.0 / 255.0)
    cast = cv2.warpAffine(a, m, (alpha.shape[1], alpha.shape[0]), flags=cv2.INTER_LINEAR)
    cast = cv2.GaussianBlur(cast, (0, 0), max(1.0, size * 0.04))
    return cast * np.float32(spec.lighting.cast * spec.lighting.shadow)


def _reflection(layer: np.ndarray, bg_lin: np.ndarray) -> np.ndarray:
    """A faded, mirrored copy of the product below its base, as on a glossy surface."""
    alpha = layer[..., 3]
    _, y0, _, y1 = subject_box(alpha)
    reach = min(round((y1 - y0) * 0.45), layer.shape[0] - y1)
    if reach <= 0:
        return bg_lin
    src = layer[y1 - reach : y1][::-1]
    fade = (1.0 - np.arange(reach, dtype=np.float32) / reach) ** 1.6 * np.float32(0.35)
    a = src[..., 3].astype(np.float32) * np.float32(1.0 / 255.0) * fade[:, None]
    a = cv2.GaussianBlur(a, (0, 0), 1.0)[..., None]
    rgb = srgb_decode(src[..., :3].astype(np.float32) / 255.0).astype(np.float32)
    out = bg_lin.copy()
    out[y1 : y1 + reach] = bg_lin[y1 : y1 + reach] * (1 - a) + rgb * a
    return out


def _over(layer: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """The product over the backdrop by its alpha; opaque product pixels are copied as they are."""
    a = layer[..., 3:4].astype(np.float32) * np.float32(1.0 / 255.0)
    rgb = layer[..., :3].astype(np.float32) * a + backdrop.astype(np.float32) * (1 - a)
    out: np.ndarray = (rgb + 0.5).astype(np.uint8)
    opaque = layer[..., 3] == 255
    out[opaque] = layer[..., :3][opaque]
    return out


def studio_fill(
    layer: np.ndarray, prompt: str, *, seed: int = 0, size: tuple[int, int] | None = None
) -> tuple[np.ndarray, dict[str, object]]:
    """The cutout ``layer`` (RGBA) on a backdrop drawn from ``prompt``, with its shadows.

    At the layer's own size the product stays where it is; with ``size`` (w, h) it is trimmed
    and stood bottom-centre. Returns (HxWx3 uint8, metadata).

    Usage:
        rgb, info = studio_fill(cutout, "oak table, golden hour, glossy", seed=1)
    """
    placed = _placed(layer, size)
    h, w = placed.shape[:2]
    alpha = placed[..., 3]
    spec = parse_prompt(prompt)
    _, _, _, y1 = subject_box(alpha)
    # The product stands on the surface, whatever its height: the horizon goes behind it.
    horizon = float(np.clip(min(spec.horizon, y1 / h - 0.12), 0.08, spec.horizon))
    spec = replace(spec, horizon=horizon)
    lin = _render_linear(spec, (w, h), seed)
    if alpha.any():
        shade = np.maximum(shadow_alpha(alpha, spec.lighting.shadow), _cast_shadow(alpha, spec))
        lin = lin * (1 - shade[..., None])
        if spec.reflection:
            lin = _reflection(placed, lin)
    out = _over(placed, _encode(lin))
    lt = spec.lighting
    info: dict[str, object] = {
        "engine": "studio",
        "procedural": True,  # drawn from noise and gradients, not by a generative model
        "understood": list(spec.understood),
        "material": spec.material,
        "set": spec.set,
        "colour": "#{:02x}{:02x}{:02x}".format(*spec.colour),
        "light": {"words": list(spec.light_words), "position": list(lt.position),
                  "key": lt.key, "contrast": lt.contrast},
        "reflection": spec.reflection,
        "seed": seed,
    }
    return out, info
