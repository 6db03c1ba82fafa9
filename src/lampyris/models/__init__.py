"""Model specs, the model cache, and sessions on the engine chosen for this machine."""

from __future__ import annotations

from lampyris.models.registry import REGISTRY, resolve_spec
from lampyris.models.session import MattingSession, SessionOptions, engine_for, get_session
from lampyris.models.spec import ModelSpec, Normalisation
from lampyris.models.store import ModelStore

__all__ = [
    "REGISTRY",
    "MattingSession",
    "ModelSpec",
    "ModelStore",
    "Normalisation",
    "SessionOptions",
    "engine_for",
    "get_session",
    "resolve_spec",
]
