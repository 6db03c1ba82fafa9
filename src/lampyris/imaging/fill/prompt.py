"""Reading a ``studio`` prompt: its colour, material, set and light words, as parameters.

The word tables are the whole vocabulary the procedural backdrop can draw; ``parse_prompt``
turns a prompt into a ``BackdropSpec`` and reports every other word (``unused_words``), so a
prompt that asks for palm trees learns they were not drawn.

Usage:
    parse_prompt("oak table, palm trees").unused_words  # ("palm", "trees")
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import cast

import numpy as np

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

Material = tuple[str, Colour, Colour | None]  # (material, default colour, default accent)
_SAND: Material = ("sand", (216, 192, 152), None)
MATERIALS: dict[str, Material] = {
    "marble": ("marble", (238, 236, 232), None), "marbled": ("marble", (238, 236, 232), None),
    "wood": ("wood", (186, 138, 92), None), "wooden": ("wood", (186, 138, 92), None),
    "timber": ("wood", (186, 138, 92), None),
    "oak": ("wood", (196, 152, 104), None), "walnut": ("wood", (112, 74, 48), None),
    "concrete": ("concrete", (160, 158, 153), None), "cement": ("concrete", (160, 158, 153), None),
    "linen": ("linen", (222, 212, 192), None), "fabric": ("linen", (214, 206, 192), None),
    "cloth": ("linen", (214, 206, 192), None), "paper": ("paper", (240, 239, 236), None),
    "sand": _SAND, "sandy": _SAND, "beach": _SAND,
    "stone": ("stone", (142, 137, 130), None), "granite": ("stone", (142, 137, 130), None),
    "slate": ("stone", (82, 86, 92), None), "velvet": ("velvet", (92, 30, 46), None),
}
ACCENTED = frozenset({"marble", "wood", "stone"})  # materials that draw a second colour
SURFACE_WORDS = {"counter", "countertop", "table", "tabletop", "floor", "surface", "desk", "shelf",
                 "worktop"}
SWEEP_WORDS = {"sweep", "seamless", "studio", "backdrop", "background", "cyclorama"}
GLOSS_WORDS = {"reflection", "reflective", "glossy", "mirror", "polished"}
# Words that carry nothing to draw; every other word is either used or reported back.
STOP_WORDS = frozenset({"a", "an", "the", "and", "with", "on", "in", "of", "for", "at", "by",
                        "to", "onto", "into", "from", "or", "some", "very", "its", "plus"})
LIGHT_TAILS = frozenset({"light", "lighting", "lit"})  # "soft light": "light" belongs to "soft"


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


# Later entries override earlier ones key by key, so modifiers ("soft", "warm") come after
# the light sources they modify.
LIGHTS: dict[str, dict[str, object]] = {
    "soft morning light": {"position": (-0.7, -0.8), "contrast": 0.2, "tint": (1.03, 1.0, 0.95),
                           "shadow": 0.35, "cast": 0.3},
    "morning light": {"position": (-0.7, -0.8), "tint": (1.03, 1.0, 0.95), "cast": 0.3},
    "window light": {"position": (-1.1, -0.35), "spread": 1.05, "contrast": 0.45,
                     "tint": (0.98, 1.0, 1.03), "shadow": 0.4, "cast": 0.45},
    "natural light": {"position": (-0.8, -0.6), "contrast": 0.3, "tint": (0.99, 1.0, 1.02),
                      "cast": 0.35},
    "daylight": {"position": (-0.8, -0.6), "contrast": 0.3, "tint": (0.99, 1.0, 1.02),
                 "cast": 0.35},
    "sunlight": {"position": (0.7, -0.7), "contrast": 0.5, "tint": (1.08, 1.0, 0.9),
                 "shadow": 0.55, "cast": 0.7},
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
    "moody": {"key": 0.6, "contrast": 0.55, "vignette": 0.4, "shadow": 0.55},
}


@dataclass(frozen=True)
class BackdropSpec:
    """What a prompt asked for, as parameters: ``understood`` lists the words that set them,
    ``unused_words`` the others (stop words aside), in prompt order."""

    colour: Colour = (240, 239, 236)
    accent: Colour | None = None  # veins, a second tone
    material: str = "paper"
    set: str = "sweep"  # "sweep" (seamless curve) or "surface" (a plane meeting a wall)
    lighting: Lighting = field(default_factory=Lighting)
    light_words: tuple[str, ...] = ()
    reflection: bool = False
    horizon: float = 0.56  # where the surface meets the wall (or the sweep curves), 0..1
    eye: float = 0.406  # the camera's true horizon (the surface's vanishing line), rows 0..1
    squash: float = 0.35  # how flat a cast shadow lies on the floor, seen from the camera
    understood: tuple[str, ...] = ()
    unused_words: tuple[str, ...] = ()


# --- reading the prompt -----------------------------------------------------------------------

_TOKEN = re.compile(r"#[0-9a-f]{6}\b|[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class _Pick:
    """Prompt words read as one choice: where they are, what they say, what they set."""

    at: tuple[int, ...]
    text: str
    value: object = None


def _shade(colour: Colour, amount: float) -> Colour:
    target = 255.0 if amount > 0 else 0.0
    c = np.asarray(colour, np.float64)
    r, g, b = (round(float(v)) for v in c + (target - c) * abs(amount))
    return r, g, b


def _light_picks(tokens: list[str], free: list[bool]) -> list[_Pick]:
    """The light phrases (longest first) and a "light"/"lighting" just after one."""
    picks: list[_Pick] = []
    for phrase in sorted(LIGHTS, key=lambda p: -len(p.split())):
        words = phrase.split()
        n = len(words)
        for i in range(len(tokens) - n + 1):
            if tokens[i : i + n] == words and all(free[i : i + n]):
                at = list(range(i, i + n))
                tail = i + n
                if (tail < len(tokens) and free[tail] and tokens[tail] in LIGHT_TAILS
                        and not _is_shade_of_next(tokens, tail)):
                    at.append(tail)
                for j in at:
                    free[j] = False
                picks.append(_Pick(tuple(at), " ".join(tokens[j] for j in at), phrase))
    return picks


def _is_shade_of_next(tokens: list[str], i: int) -> bool:
    """"light" before a colour or material is a shade ("light grey"), not the light."""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    return tokens[i] in SHADES and (nxt in COLOURS or nxt in MATERIALS)


def _read(tokens: list[str], free: list[bool]) -> dict[str, list[_Pick]]:
    """Colour, material, set and gloss readings, left to right, over the words still free."""
    found: dict[str, list[_Pick]] = {"colour": [], "material": [], "set": [], "gloss": []}
    i = 0
    while i < len(tokens):
        if not free[i]:
            i += 1
            continue
        w = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) and free[i + 1] else ""
        two, pair = f"{w} {nxt}", (i, i + 1)
        step = 2
        if w.startswith("#"):
            found["colour"].append(_Pick((i,), w, (int(w[1:3], 16), int(w[3:5], 16),
                                                   int(w[5:7], 16))))
            step = 1
        elif two in COLOURS:
            found["colour"].append(_Pick(pair, two, COLOURS[two]))
        elif w in SHADES and nxt in COLOURS:
            found["colour"].append(_Pick(pair, two, _shade(COLOURS[nxt], SHADES[w])))
        elif w in SHADES and nxt in MATERIALS:  # "dark oak": the material's own colour, shaded
            found["material"].append(_Pick(pair, two, (MATERIALS[nxt], SHADES[w])))
        else:
            step = 1
            if w in COLOURS:
                found["colour"].append(_Pick((i,), w, COLOURS[w]))
            elif w in MATERIALS:
                found["material"].append(_Pick((i,), w, (MATERIALS[w], 0.0)))
            elif w in SURFACE_WORDS or w in SWEEP_WORDS:
                found["set"].append(_Pick((i,), w, "surface" if w in SURFACE_WORDS else "sweep"))
            elif w in GLOSS_WORDS:
                found["gloss"].append(_Pick((i,), w, True))
        i += step
    return found


def _lighting(picks: list[_Pick]) -> tuple[Lighting, list[_Pick]]:
    """The lighting the phrases set (in the table's order, later keys winning) and the phrases
    that set at least one surviving value: a light word wholly overridden is not used."""
    owner: dict[str, _Pick] = {}
    settings: dict[str, object] = {}
    for pick in sorted(picks, key=lambda p: list(LIGHTS).index(str(p.value))):
        for key, value in LIGHTS[str(pick.value)].items():
            settings[key], owner[key] = value, pick
    used = [p for p in picks if p in owner.values()]
    return Lighting(**settings), used  # type: ignore[arg-type]


def parse_prompt(prompt: str) -> BackdropSpec:
    """The backdrop a prompt describes, and which of its words it used.

    A word is used when it sets something the render draws: the first material (a later one
    naming the same material agrees with it), the first colour and, on a veined or grained
    material, the second; the last set word (and any agreeing with it); gloss; light phrases
    with a value not overridden. The rest, stop words aside, are ``unused_words``.

    Usage:
        parse_prompt("black velvet, low key").material  # "velvet"
        parse_prompt("oak table, palm trees").unused_words  # ("palm", "trees")
    """
    tokens = _TOKEN.findall(prompt.lower())
    free = [True] * len(tokens)
    lighting, used = _lighting(_light_picks(tokens, free))
    found = _read(tokens, free)
    colours = [cast(Colour, p.value) for p in found["colour"]]
    material, default, accent = MATERIALS["paper"]
    shade = 0.0
    if found["material"]:
        first = found["material"][0]
        chosen, shade = cast(tuple[Material, float], first.value)
        material, default, accent = chosen
        if shade and colours:  # an explicit colour wins over "dark" in "dark oak"
            first = _Pick(first.at[1:], first.text.split()[1], first.value)
        used += [first] + [p for p in found["material"][1:]
                           if cast(tuple[Material, float], p.value)[0] == chosen]
    used += found["colour"][: 2 if material in ACCENTED else 1]
    kind = str(found["set"][-1].value) if found["set"] else "sweep"
    used += [p for p in found["set"] if p.value == kind] + found["gloss"]
    used.sort(key=lambda p: p.at)
    taken = {i for p in used for i in p.at}
    return BackdropSpec(
        colour=colours[0] if colours else _shade(default, shade),
        accent=colours[1] if len(colours) > 1 and material in ACCENTED else accent,
        material=material,
        set=kind,
        lighting=lighting,
        light_words=tuple(str(p.value) for p in used if p.value in LIGHTS),
        reflection=bool(found["gloss"]),
        understood=tuple(p.text for p in used),
        unused_words=tuple(t for i, t in enumerate(tokens)
                           if i not in taken and t not in STOP_WORDS),
    )
