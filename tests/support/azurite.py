"""Azurite (Azure Blob Storage emulator) on 127.0.0.1, from tests/node/node_modules.

Azurite enforces Shared Key and SAS auth for real: read-only SAS refused for writes, expiry and
tampering → 403. ``scripts/install-test-services.sh`` installs it (``npm ci`` in tests/node).
Starts in well under a second.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from support.procs import (
    TESTS_DIR,
    ServerStartError,
    free_port,
    port_open,
    register_cleanup,
    remove_tree,
    short_tempdir,
    spawn,
    stop_group,
    unregister_cleanup,
    wait_until,
)

NODE_DIR = TESTS_DIR / "node"
AZURITE_BLOB = NODE_DIR / "node_modules" / ".bin" / "azurite-blob"

# The emulator's well-known development account (public, documented by Microsoft).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def available() -> bool:
    return AZURITE_BLOB.exists()


@dataclass
class Azurite:
    """A running Azurite blob service. ``blob_endpoint`` is ``http://127.0.0.1:PORT/devstoreaccount1``."""

    blob_endpoint: str
    account_name: str
    account_key: str
    port: int
    data_dir: Path
    start_seconds: float = 0.0
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.blob_endpoint};"
        )

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def stop(self) -> None:
        unregister_cleanup(id(self))
        if self._proc is not None:
            stop_group(self._proc.pid, grace=5.0)
            self._proc.wait(timeout=5)
            self._proc = None
        remove_tree(self.data_dir)


def start_azurite(*, timeout: float = 30.0) -> Azurite:
    if not available():
        raise ServerStartError(
            f"azurite: {AZURITE_BLOB} missing; run scripts/install-test-services.sh"
        )
    t0 = time.monotonic()
    d = short_tempdir("lampyris-azurite-")
    (d / "data").mkdir()
    port = free_port()
    server = Azurite(
        blob_endpoint=f"http://127.0.0.1:{port}/{ACCOUNT_NAME}",
        account_name=ACCOUNT_NAME,
        account_key=ACCOUNT_KEY,
        port=port,
        data_dir=d,
    )
    register_cleanup(id(server), server.stop)
    log = d / "azurite.log"
    # AZURITE_ACCOUNTS would replace the well-known dev account: never inherit it.
    env = {k: v for k, v in os.environ.items() if k != "AZURITE_ACCOUNTS"}
    try:
        server._proc = spawn(
            [
                AZURITE_BLOB,
                "--blobHost", "127.0.0.1",
                "--blobPort", str(port),
                "--location", d / "data",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--silent",
            ],
            log=log,
            cwd=d,
            env=env,
        )  # fmt: skip
        wait_until(
            lambda: port_open(port),
            timeout=timeout,
            what="azurite",
            alive=[server._proc],
            log=log,
        )
    except BaseException:
        server.stop()
        raise
    server.start_seconds = time.monotonic() - t0
    return server
