#!/usr/bin/env bash
# Issue 7 benchmark (docs/BENCHMARKS-analytics.md).
#
#   benches/analytics/run.sh N DIR [STEPS...]
#
# N: persons (280000000 for the §6 figures). DIR: scratch space outside the
# repository: the store (~30 B/person), the exported columns (5 B/person),
# a payee CSV and a Python venv with DuckDB. STEPS (default: all, in order):
#   build   generator -> SnapshotBuilder::add -> DIR/store (no CSV)
#   batch   Store::verify_batch / Snapshot::find_many, 10 M rows in memory,
#           the store mapped, then resident (Options { resident: true })
#   csv     write DIR/payees.csv (4 M rows); `tepat batch` on it; the
#           breakdown through tepat::batch::verify_csv
#   report  Store::counts + report(Overlap), by province and district, 5x
#   duckdb  export the columns, then DuckDB 2 threads, then tepat again
#   demo    `tepat demo` (1 M persons) in a scratch directory, wall time
#   floor   random 64-byte reads over an array as large as the snapshot,
#           1-32 in flight per thread, 1 and 2 threads (the memory's floor)
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 N DIR [build|batch|csv|report|duckdb|demo|floor ...]" >&2
    exit 2
fi
n=$1
dir=$2
shift 2
steps=${*:-build batch csv report duckdb demo}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
(cd "$here" && cargo build --release --quiet)
(cd "$root" && cargo build --release --quiet -p tepat-cli -p tepat-gen)
bench="$CARGO_TARGET_DIR/release/tepat-analytics-bench"
tepat="$CARGO_TARGET_DIR/release/tepat"
mkdir -p "$dir"
echo "# $(date -u +%FT%TZ) N=$n steps: $steps"
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg); $(free -g | awk '/Mem/{print "mem GiB total "$2", available "$7}')"
for step in $steps; do
    case $step in
    build)
        "$bench" build --persons "$n" --dir "$dir" ;;
    batch)
        "$bench" batch --dir "$dir" --rows 10000000 --reps 3
        "$bench" batch --dir "$dir" --rows 10000000 --reps 3 --resident 1 ;;
    csv)
        "$bench" payees --dir "$dir" --rows 4000000
        /usr/bin/time -f "RESULT tepat batch CLI: wall %e s, user %U s, sys %S s, max RSS %M KiB" \
            "$tepat" batch --store "$dir/store" --out "$dir/cli.verdicts.csv" "$dir/payees.csv"
        rm -f "$dir/cli.verdicts.csv"
        "$bench" csv --dir "$dir" --reps 2 ;;
    report)
        "$bench" report --dir "$dir" --reps 5 ;;
    duckdb)
        if [ ! -x "$dir/venv/bin/python" ]; then
            python3 -m venv "$dir/venv"
            "$dir/venv/bin/pip" install --quiet duckdb numpy pyarrow
        fi
        "$bench" export --dir "$dir"
        "$bench" report --dir "$dir" --reps 5
        "$dir/venv/bin/python" "$here/duckdb_overlap.py" "$dir" 5
        "$bench" report --dir "$dir" --reps 5 ;;
    floor)
        "$bench" floor --dir "$dir" --rows 10000000 --reps 3 ;;
    demo)
        scratch=$(mktemp -d "$dir/demo.XXXXXX")
        (cd "$root" && cargo build --release --quiet -p tepat-cli)
        start=$(date +%s.%N)
        (cd "$scratch" && "$tepat" demo > "$dir/demo.out" 2>&1)
        end=$(date +%s.%N)
        echo "RESULT demo wall_s=$(echo "$end - $start" | bc)"
        (cd "$scratch" && /usr/bin/time -f "RESULT demo via cargo run: wall %e s" \
            cargo run --release --quiet --manifest-path "$root/Cargo.toml" -p tepat-cli -- demo > /dev/null 2>&1) || true
        rm -rf "$scratch" ;;
    *)
        echo "unknown step $step" >&2; exit 2 ;;
    esac
done
