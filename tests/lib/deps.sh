#!/bin/sh
# make deps: install only what is missing (Debian packages, npm packages),
# so that `make check` and `make demo` are one command on a fresh machine.
set -eu
cd "$(dirname "$0")/../.."

DEBS="pkg-config libncurses-dev libcurl4-openssl-dev libjansson-dev libpq-dev libcsv-dev zlib1g-dev
libcmocka-dev postgresql tmux miller hyperfine groff-base man-db curl time gdb openssl"

missing=""
for p in $DEBS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "deps: installing Debian packages:$missing"
    if [ "$(id -u)" -ne 0 ]; then
        SUDO=sudo
    else
        SUDO=
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# npm packages the tests use, in a git-ignored folder of the project.
if [ ! -f tests/node/node_modules/s3rver/bin/s3rver.js ]; then
    echo "deps: installing npm packages into tests/node/node_modules"
    (cd tests/node && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

# Tools that come with this machine's Python (not from Debian): check and say.
for tool in moto_server aws; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "deps: '$tool' is not on PATH; the S3 tests need it (pip install 'moto[server]' awscli)" >&2
        exit 1
    fi
done
echo "deps: all present"
