#!/usr/bin/env bash
# The bindings' gate (docs/EMBEDDING.md), run by .ci/run after the
# workspace tests: the C header is current, the C test passes natively and
# under valgrind memcheck, the Python package builds, installs and passes
# its tests, and PHP reaches the library through FFI. Installs what is
# missing (Debian packages, cbindgen, a Python venv).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }
target=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TARGET_DIR=$target
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

step "bindings: Debian packages (only those missing)"
missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
# (grep reads everything: with pipefail, grep -q could end php with SIGPIPE)
if ! php -m 2>/dev/null | grep -x FFI >/dev/null; then missing+=(php-cli); fi
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "+ apt-get install -y ${missing[*]}"
  apt_get() { if [ "$(id -u)" -eq 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq "${missing[@]}"
else
  echo "gcc, valgrind, php (FFI) and python3-venv are installed"
fi

step "bindings: ffi/include/tepat.h is what cbindgen makes of ffi/src"
ffi/gen-header.sh --check 2>&1 | grep -v '^WARN: Skip'

step "bindings: the C test (gcc -Werror, shared and static library)"
cargo build -p tepat-ffi --quiet
lib=$target/debug
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic -O1 -g -I ffi/include)
gcc "${cflags[@]}" ffi/tests/c_api.c -L "$lib" -ltepat_ffi -lpthread -o "$scratch/c_api"
mkdir "$scratch/c"
LD_LIBRARY_PATH=$lib "$scratch/c_api" "$scratch/c" ffi/tests/data/register.csv
gcc "${cflags[@]}" ffi/tests/c_api.c "$lib/libtepat_ffi.a" -lpthread -ldl -lm -o "$scratch/c_api_static"
mkdir "$scratch/c_static"
"$scratch/c_api_static" "$scratch/c_static" ffi/tests/data/register.csv

step "bindings: the C test under valgrind memcheck (a build for the baseline x86-64: valgrind has no AVX-512)"
# sled's I/O thread pool is started on first use and never joined: its
# threads' TLS shows as "possibly lost" at exit. Errors and definitely
# lost bytes fail the run.
# Unoptimised (a third of the CPU time of the dev profile's build; the test
# runs about 25 s under valgrind then).
RUSTFLAGS="-C target-cpu=x86-64" CARGO_TARGET_DIR=$target/portable cargo build -p tepat-ffi --quiet \
  --profile valgrind --config 'profile.valgrind.inherits="dev"' \
  --config 'profile.valgrind.opt-level=0' --config 'profile.valgrind.package."*".opt-level=0'
portable=$target/portable/valgrind
gcc "${cflags[@]}" ffi/tests/c_api.c -L "$portable" -ltepat_ffi -lpthread -o "$scratch/c_api_portable"
mkdir "$scratch/vg"
LD_LIBRARY_PATH=$portable valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
  --log-file="$scratch/valgrind.log" "$scratch/c_api_portable" "$scratch/vg" ffi/tests/data/register.csv
grep -E 'definitely lost|possibly lost:|ERROR SUMMARY' "$scratch/valgrind.log" | sed 's/^==[0-9]*== *//'
grep -q 'ERROR SUMMARY: 0 errors' "$scratch/valgrind.log"
grep -qE 'definitely lost: 0 bytes|All heap blocks were freed' "$scratch/valgrind.log"

step "bindings: Python (maturin wheel, abi3; pytest)"
venv=$target/bindings-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check maturin pytest pyarrow numpy
(cd python && cargo fmt --check)
# Its own target directory: tepat is a member of the root workspace and a
# path dependency here, and the two builds of it must not share artifacts.
(cd python && CARGO_TARGET_DIR=$target/python "$venv/bin/maturin" build --quiet --profile dev \
  -i "$venv/bin/python" -o "$scratch/wheels")
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$scratch"/wheels/tepat-*.whl
# From outside python/, so that the installed package is the one tested.
(cd "$scratch" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$root/python/tests")

step "bindings: PHP through the C ABI (FFI)"
mkdir "$scratch/php"
TEPAT_LIB=$lib/libtepat_ffi.so php php/tests/test_tepat.php "$scratch/php"

echo
echo "bindings passed."
