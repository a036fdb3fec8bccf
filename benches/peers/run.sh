#!/usr/bin/env bash
# Builds and runs the side-by-side lookup benchmark (docs/BENCHMARKS.md).
#
#   benches/peers/run.sh N DIR [extra tepat-peers arguments...]
#
# N: persons (e.g. 10000000). DIR: a scratch directory outside the
# repository with room for the snapshot and every peer's files (about
# 300 B per person for all engines at once; sled is the largest).
# Example: benches/peers/run.sh 10000000 /path/to/scratch
#          benches/peers/run.sh 100000000 /path/to/scratch --engines tepat
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 N DIR [--engines tepat,lmdb,sled,redb,hashmap] [--reps 5] [--lookups 1000000] [--batch 10000000] [--keep]" >&2
    exit 2
fi
n=$1
dir=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/../../target}"
(cd "$here" && cargo build --release --quiet)
mkdir -p "$dir"
exec "$CARGO_TARGET_DIR/release/tepat-peers" --persons "$n" --dir "$dir" "$@"
