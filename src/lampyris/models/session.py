"""Matting sessions: one per model per process, reused by every call, on the engine
``models.engine_choice`` picks (ONNX Runtime or OpenVINO).

A session turns an RGB image into a matte at the network's own resolution; upsampling to the
image's resolution is pixel work and lives in ``lampyris.imaging.matte``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from lampyris.errors import ModelError
from lampyris.models.engine_choice import EngineChoice, build_engine, choose_engine
from lampyris.models.settings import ModelSettings
from lampyris.models.spec import ModelSpec
from lampyris.models.store import ModelStore

MirrorPass = Literal["auto", "always", "never"]

UNSURE_FRACTION = 0.05
"""Above this share of undecided matte pixels, ``auto`` adds the mirror pass. Measured on the
reference sets: it keeps the full two-pass quality while skipping the pass on ~98 % of studio
product photos (carvana) and ~65 % of natural scenes."""


def unsure_fraction(pred: np.ndarray) -> float:
    """Share of the matte that is neither clearly background nor clearly subject."""
    return float(np.count_nonzero((pred > 0.1) & (pred < 0.9))) / pred.size


@dataclass(frozen=True)
class MattePasses:
    """The network's passes over one image, at its resolution: the first, and the mirrored
    one flipped back when it ran. ``matte`` is what ``predict`` returns: their average."""

    first: np.ndarray
    mirrored: np.ndarray | None = None

    @property
    def matte(self) -> np.ndarray:
        if self.mirrored is None:
            return self.first
        return (self.first + self.mirrored) * np.float32(0.5)


@dataclass(frozen=True)
class SessionOptions:
    """How a model runs: runtime, precision, ONNX Runtime providers and thread counts (0 = one
    per core)."""

    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    intra_op_threads: int = 0
    inter_op_threads: int = 1
    runtime: str = "auto"
    precision: str = "auto"

    @classmethod
    def from_settings(cls, settings: ModelSettings | None = None) -> SessionOptions:
        settings = settings or ModelSettings()
        return cls(tuple(settings.providers), settings.intra_op_threads, settings.inter_op_threads,
                   settings.runtime, settings.precision)


class MattingSession:
    """One loaded network. ``predict`` is thread-safe (both engines' ``run`` is)."""

    def __init__(self, spec: ModelSpec, store: ModelStore, options: SessionOptions) -> None:
        self.spec = spec
        self.options = options  # what it runs with: a worker pool's thread cap shows here
        path = store.path(spec)
        try:
            self.choice = engine_for(spec, options, store)
            self.engine = build_engine(self.choice, spec, path, providers=list(options.providers),
                                       intra_op_threads=options.intra_op_threads,
                                       inter_op_threads=options.inter_op_threads,
                                       cache_dir=store.cache_dir)
        except ModelError as exc:
            cause = exc.__cause__ or exc
            raise ModelError(f"could not load model {spec.name!r} from {path}: {cause}") from exc
        norm = spec.normalisation
        self._mean = np.asarray(norm.mean, np.float32)
        self._std = np.asarray(norm.std, np.float32)

    @property
    def providers(self) -> list[str]:
        """ONNX Runtime's execution providers in use, or OpenVINO's device."""
        return list(getattr(self.engine, "providers", ["OpenVINO CPU"]))

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        """Resize (area filter when shrinking: no aliasing) and normalise to an NCHW batch."""
        w, h = self.spec.input_size
        shrink = rgb.shape[0] >= h and rgb.shape[1] >= w
        small = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
        x = small.astype(np.float32)
        if self.spec.normalisation.scaling == "max":
            x /= max(float(x.max()), 1.0)
        else:
            x /= 255.0
        x = (x - self._mean) / self._std
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def predict(self, rgb: np.ndarray, *, mirror: MirrorPass = "auto") -> np.ndarray:
        """The matte of an HxWx3 uint8 RGB image, float32 in [0, 1] at the model's resolution.

        A mirror pass runs the flipped image too and averages both: the network is not mirror
        symmetric, and on hard images the average cuts u2netp's error by 5-10 %. ``auto`` runs
        it only when the first pass is unsure (over ``UNSURE_FRACTION`` of the map between 0.1
        and 0.9): clean studio shots rarely are, so they cost one pass.
        """
        return self.passes(rgb, mirror=mirror).matte

    def passes(self, rgb: np.ndarray, *, mirror: MirrorPass = "auto") -> MattePasses:
        """``predict``'s passes kept apart, so a caller can measure how far they disagree (the
        review score does) without a third inference."""
        batch = self.prepare(rgb)
        first = self._run(batch)
        if mirror == "always" or (mirror == "auto" and unsure_fraction(first) > UNSURE_FRACTION):
            mirrored = self._run(np.ascontiguousarray(batch[..., ::-1]))[:, ::-1]
            return MattePasses(first, np.ascontiguousarray(mirrored))
        return MattePasses(first)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        out = self.engine.run(batch)
        pred: np.ndarray = np.asarray(out, np.float32).reshape(out.shape[-2], out.shape[-1])
        if self.spec.output == "logits":
            pred = 1.0 / (1.0 + np.exp(-pred))
        if self.spec.min_max:
            lo, hi = float(pred.min()), float(pred.max())
            pred = (pred - lo) / (hi - lo) if hi > lo else np.zeros_like(pred)
        return np.clip(pred, 0.0, 1.0)


_sessions: dict[tuple[ModelSpec, SessionOptions], MattingSession] = {}
_lock = threading.Lock()
_default_options: SessionOptions | None = None


def set_default_options(options: SessionOptions | None) -> None:
    """Make ``options`` what ``get_session`` uses in this process when its caller names none
    (None: back to ``ModelSettings``). A worker pool gives each worker its share of the cores
    this way, as settings, rather than by writing ``LAMPYRIS_MODELS_*`` into ``os.environ``."""
    global _default_options
    _default_options = options


def default_options() -> SessionOptions:
    """The options a session gets in this process when its caller names none."""
    return _default_options or SessionOptions.from_settings()


def get_session(
    spec: ModelSpec, options: SessionOptions | None = None, store: ModelStore | None = None
) -> MattingSession:
    """The process-wide session for ``spec``: loading costs 0.1–2 s, so it happens once."""
    options = options or default_options()
    key = (spec, options)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            session = MattingSession(spec, store or ModelStore(), options)
            _sessions[key] = session
        return session


def engine_for(spec: ModelSpec, options: SessionOptions | None = None,
               store: ModelStore | None = None) -> EngineChoice:
    """The engine ``get_session`` would run ``spec`` on here, without loading it (measuring
    the candidates first if this machine has not yet)."""
    options = options or default_options()
    store = store or ModelStore()
    return choose_engine(spec, store.path(spec), runtime=options.runtime,
                         precision=options.precision, providers=list(options.providers),
                         cache_dir=store.cache_dir)
