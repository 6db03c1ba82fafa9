"""Import OpenVINO with its usage telemetry declined.

``import openvino`` loads its model converter, which sends a usage event to Intel from a
background thread and writes a client id and counters under ``~/intel`` unless a consent file
says no (opt-out by default). lampyris makes no network calls of its own accord and writes
nothing outside its own folders, and the thread also made forked workers deadlock. Declining
consent in-process, before the first import, stops all three without touching the user's home.
"""

from __future__ import annotations

import contextlib
import importlib
from types import ModuleType


def load_openvino() -> ModuleType:
    """The ``openvino`` package, imported (once) with telemetry declined."""
    with contextlib.suppress(ImportError):  # a release without the telemetry package
        from openvino_telemetry.utils import opt_in_checker

        def declined(self: object, *args: object, **kwargs: object) -> object:
            return opt_in_checker.ConsentCheckResult.DECLINED

        opt_in_checker.OptInChecker.check = declined  # type: ignore[method-assign]
    return importlib.import_module("openvino")
