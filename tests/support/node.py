"""Run Node.js scripts against the packages installed in tests/node/node_modules.

``require('@adobe/photoshop-apis')`` (and the other SDKs, azurite, node-fetch) resolves from
tests/node/node_modules through ``NODE_PATH``, whether the script is inline source or a file
anywhere in the tree; inline source runs with tests/node as its working directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from support.procs import TESTS_DIR

NODE_DIR = TESTS_DIR / "node"
NODE_MODULES = NODE_DIR / "node_modules"
ADOBE_PACKAGES = (
    "@adobe/photoshop-apis",
    "@adobe/aio-lib-photoshop-api",
    "@adobe/firefly-apis",
    "@adobe/lightroom-apis",
)


@dataclass(frozen=True)
class NodeResult:
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> NodeResult:
        """Raise with both streams when the script failed; returns self for chaining."""
        if self.returncode != 0:
            raise AssertionError(
                f"node exited with {self.returncode}\n--- stdout\n{self.stdout}\n"
                f"--- stderr\n{self.stderr}"
            )
        return self


def node_binary() -> str | None:
    return shutil.which("node")


def available() -> bool:
    return node_binary() is not None and NODE_MODULES.is_dir()


def node_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(NODE_MODULES)]
    if env.get("NODE_PATH"):
        paths.append(env["NODE_PATH"])
    env["NODE_PATH"] = os.pathsep.join(paths)
    env.setdefault("NO_UPDATE_NOTIFIER", "1")
    if extra:
        env.update(extra)
    return env


def run_node(
    script: str | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    cwd: str | os.PathLike[str] | None = None,
) -> NodeResult:
    """Run inline CommonJS ``script`` source, or the file at ``path``, with ``args``.

    ``env`` is added to the current environment. Raises ``subprocess.TimeoutExpired`` (after
    killing node) when it runs past ``timeout`` seconds.
    """
    if (script is None) == (path is None):
        raise ValueError("pass exactly one of script= or path=")
    node = node_binary()
    if node is None:
        raise FileNotFoundError("node is not on PATH")
    with tempfile.TemporaryDirectory(prefix="lampyris-node-") as tmp:
        if script is not None:
            target = Path(tmp) / "script.cjs"
            target.write_text(script)
        else:
            assert path is not None
            target = Path(path)
        res = subprocess.run(
            [node, str(target), *args],
            cwd=cwd if cwd is not None else NODE_DIR,
            env=node_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    return NodeResult(returncode=res.returncode, stdout=res.stdout, stderr=res.stderr)
