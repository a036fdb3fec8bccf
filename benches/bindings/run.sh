#!/usr/bin/env bash
# Issue 23 benchmark (docs/EMBEDDING.md, "Speed"): the bindings beside the
# Rust calls, same store, same rows, same run.
#
#   benches/bindings/run.sh DIR [--persons N] [--rows R] [--check-rows M] [--reps K] [--keep]
#
# DIR: scratch space outside the repository (the store, ~31 B/person; the
# payee list, ~31 B/row; a Python venv). Defaults: N = R = 10,000,000,
# M = 1,000,000 check calls, K = 5 alternating rounds. DIR's store and
# payee list are deleted at the end unless --keep.
#
# Figures (RESULT lines):
#   check per call, p50 of blocks of 100 calls: Rust Store::check_str, C
#     tepat_check (libtepat_ffi.so), Python Store.check; the C ABI's
#     overhead is C minus Rust, the Python binding's Python minus Rust.
#   verify_batch of every payee row: Rust Store::verify_batch (rows parsed
#     beforehand, 2 threads) and Python Store.verify_batch from a pyarrow
#     Table read from the same CSV (2 threads; parsing included).
set -euo pipefail
if [ $# -lt 1 ]; then
    sed -n '2,20p' "$0" >&2
    exit 2
fi
dir=$1
shift
persons=10000000 rows=10000000 check_rows=1000000 reps=5 keep=0
while [ $# -gt 0 ]; do
    case $1 in
    --persons) persons=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --check-rows) check_rows=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
case "$(cd "$(dirname "$dir")" 2>/dev/null && pwd)/" in
"$root"/*) echo "DIR must be outside the repository" >&2; exit 2 ;;
esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$dir"

echo "# $(date -u +%FT%TZ) persons=$persons rows=$rows check_rows=$check_rows reps=$reps commit $(git -C "$root" rev-parse --short HEAD)"
echo "# CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(lscpu | sed -n 's/^Flags:.*\(avx512vbmi\).*/\1/p')"
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg); $(free -g | awk '/Mem/{print "mem GiB total "$2", available "$7}')"

echo "# build (release)"
(cd "$here" && CARGO_TARGET_DIR=$CARGO_TARGET_DIR/bench cargo build --release --quiet)
(cd "$root" && cargo build --release --quiet -p tepat-ffi)
bench=$CARGO_TARGET_DIR/bench/release/tepat-bindings-bench
lib=$CARGO_TARGET_DIR/release
gcc -std=c11 -O2 -Wall -Wextra -I "$root/ffi/include" "$here/check.c" -L "$lib" -ltepat_ffi -o "$dir/check"
venv=$dir/venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check maturin pyarrow numpy
# Its own target directory (tepat is a workspace member there, a path
# dependency here: the builds must not share artifacts).
(cd "$root/python" && CARGO_TARGET_DIR=$CARGO_TARGET_DIR/python "$venv/bin/maturin" build --quiet --release \
    -i "$venv/bin/python" -o "$dir/wheels")
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$dir"/wheels/tepat-*.whl

if [ ! -f "$dir/store/CURRENT" ]; then
    "$bench" build --persons "$persons" --dir "$dir"
fi
if [ ! -f "$dir/payees.csv" ]; then
    "$bench" payees --dir "$dir" --rows "$rows"
fi
# The snapshot and the payee list in the page cache.
cat "$dir"/store/snapshot-*.tepat "$dir/payees.csv" >/dev/null

for round in $(seq 1 "$reps"); do
    echo "# round $round (load $(cut -d' ' -f1 /proc/loadavg))"
    "$bench" check --dir "$dir" --rows "$check_rows" --reps 1 | grep RESULT
    LD_LIBRARY_PATH=$lib "$dir/check" "$dir" "$check_rows" 1 2>/dev/null | grep RESULT
    (cd "$dir" && "$venv/bin/python" "$here/bench.py" "$dir" "$check_rows" 1 | grep RESULT)
    "$bench" batch --dir "$dir" --reps 1 | grep RESULT
done

if [ "$keep" -eq 0 ]; then
    rm -rf "$dir/store" "$dir/payees.csv" "$dir/wheels" "$dir/check"
    echo "# deleted the store and the payee list (--keep keeps them)"
fi
