#!/usr/bin/env bash
# Installs the real servers the integration tests start (see tests/support/):
#   - Ceph (mon + osd + radosgw) from Debian apt, when radosgw or a Ceph tool is missing;
#   - Debian's chromium (the console's browser tests), when /usr/lib/chromium/chromium is missing;
#   - Azurite and Adobe's npm SDKs into tests/node/node_modules (npm ci from the committed
#     lockfile), when node_modules is missing or older than the lockfile.
# PostgreSQL 15 is expected from the machine image (/usr/lib/postgresql/15/bin).
# Idempotent and quiet: does nothing (in well under a second) when everything is there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_DIR="$ROOT/tests/node"

die() { echo "install-test-services: $*" >&2; exit 1; }
say() { echo "install-test-services: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        return 1
    fi
}

apt_install() {
    local log
    log="$(mktemp)"
    export DEBIAN_FRONTEND=noninteractive
    if as_root apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1; then
        rm -f "$log"; return 0
    fi
    # The package lists may be stale or absent on a fresh machine: refresh them once and retry.
    if as_root apt-get update -qq >>"$log" 2>&1 &&
        as_root apt-get install -y -qq --no-install-recommends "$@" >>"$log" 2>&1; then
        rm -f "$log"; return 0
    fi
    tail -n 30 "$log" >&2
    rm -f "$log"
    return 1
}

# --- Ceph (S3 via radosgw) -------------------------------------------------------------------
CEPH_TOOLS=(radosgw radosgw-admin ceph-mon ceph-osd ceph ceph-authtool monmaptool)
missing=()
for tool in "${CEPH_TOOLS[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 ||
        die "Ceph is missing (${missing[*]}) and apt-get is not available to install it"
    say "installing Ceph (missing: ${missing[*]}) with apt-get ..."
    apt_install ceph-mon ceph-osd radosgw ceph-common ||
        die "apt-get install ceph-mon ceph-osd radosgw ceph-common failed (needs root or passwordless sudo)"
    for tool in "${CEPH_TOOLS[@]}"; do
        command -v "$tool" >/dev/null 2>&1 || die "Ceph installed but '$tool' is still not on PATH"
    done
fi

# --- Chromium (the console's browser tests drive it through Playwright) ----------------------
# Debian's build, never `playwright install`: the tests launch /usr/lib/chromium/chromium.
CHROMIUM=/usr/lib/chromium/chromium
if [ ! -x "$CHROMIUM" ]; then
    command -v apt-get >/dev/null 2>&1 ||
        die "$CHROMIUM is missing and apt-get is not available to install chromium"
    say "installing chromium with apt-get ..."
    apt_install chromium ||
        die "apt-get install chromium failed (needs root or passwordless sudo)"
    [ -x "$CHROMIUM" ] || die "chromium installed but $CHROMIUM is still missing"
fi

# --- Node tools (Azurite + Adobe SDKs) -------------------------------------------------------
[ -f "$NODE_DIR/package-lock.json" ] || die "missing $NODE_DIR/package-lock.json"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    die "node and npm are required (Node >= 18) to install tests/node; install Node.js first"
fi
# npm writes node_modules/.package-lock.json on every install: use it as the stamp.
stamp="$NODE_DIR/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$NODE_DIR/package-lock.json" -nt "$stamp" ] ||
    [ "$NODE_DIR/package.json" -nt "$stamp" ]; then
    say "installing Node test tools (npm ci in tests/node) ..."
    log="$(mktemp)"
    if ! (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
        # npm puts the reason first and a long usage text after it
        grep -v '^npm error *$' "$log" | head -n 15 >&2
        tail -n 1 "$log" >&2
        rm -f "$log"
        die "npm ci in tests/node failed"
    fi
    rm -f "$log"
    [ -x "$NODE_DIR/node_modules/.bin/azurite-blob" ] || die "npm ci ran but azurite-blob is missing"
    touch "$stamp"
fi
