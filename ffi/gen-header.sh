#!/usr/bin/env bash
# Regenerates include/tepat.h from the crate with the pinned cbindgen, or
# with --check fails when the committed header differs from what the
# sources generate (CI). Installs cbindgen when it is missing or another
# version.
set -euo pipefail
CBINDGEN_VERSION=0.29.4
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(cbindgen --version 2>/dev/null)" != "cbindgen $CBINDGEN_VERSION" ]; then
    echo "+ cargo install cbindgen --version $CBINDGEN_VERSION --locked" >&2
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked
fi
header=$here/include/tepat.h
if [ "${1:-}" = "--check" ]; then
    fresh=$(mktemp)
    trap 'rm -f "$fresh"' EXIT
    cbindgen --config "$here/cbindgen.toml" --crate tepat-ffi --output "$fresh" "$here"
    if ! diff -u "$header" "$fresh"; then
        echo "error: ffi/include/tepat.h is stale (the diff above is what ffi/src makes of it): run ffi/gen-header.sh and commit it" >&2
        exit 1
    fi
    echo "ffi/include/tepat.h is up to date"
else
    cbindgen --config "$here/cbindgen.toml" --crate tepat-ffi --output "$header" "$here"
fi
