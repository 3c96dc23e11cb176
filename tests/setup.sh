#!/usr/bin/env bash
# Installs the Debian packages the suites need, if they are missing. Needs root (CI runs as root).
set -euo pipefail

need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
want qemu-system-x86_64 qemu-system-x86
want busybox busybox-static
want ipvsadm ipvsadm
want keepalived keepalived
want chromium chromium
want chromedriver chromium-driver
want cpio cpio
want depmod kmod
want ip iproute2
want faketime faketime
want python3 python3
want curl curl
want jq jq
python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)

if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "tests/setup.sh: missing ${need[*]} and not root: install them or run as root" >&2
        exit 1
    fi
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The contract suite's fuzzer, schemathesis, from PyPI into tests/.venv (pinned: a new release may add checks).
SCHEMATHESIS_VERSION=4.32.5
if ! tests/.venv/bin/st --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION into tests/.venv"
    python3 -m venv tests/.venv
    tests/.venv/bin/pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
# grpcurl for the README's gRPC examples (the readme suite runs them): Debian 12 has no package of it, so its
# Rust port from crates.io (same flags; pinned) into tests/.tools.
GRPCURL_VERSION=0.2.1
if ! tests/.tools/bin/grpcurl --version 2>/dev/null | grep -q "$GRPCURL_VERSION"; then
    echo "installing grpcurl-rs $GRPCURL_VERSION into tests/.tools"
    cargo install --quiet --locked --root tests/.tools "grpcurl-rs@$GRPCURL_VERSION"
fi
# The kernel the VM suites boot (cached after the first download).
tests/vm/build.sh >/dev/null
echo "prerequisites present"
