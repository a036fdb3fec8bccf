#!/usr/bin/env bash
# Times `tepat-merge` at N persons: generates the civil register and the
# three sources once per N (tepat-gen --sources), then runs the merge under
# /usr/bin/time -v and prints the figures docs/MERGE.md quotes.
#
#   benches/merge/run.sh PERSONS [DATA_DIR] [THREADS]
#   REGION=3201 benches/merge/run.sh 5500000 ...   # everyone in one regency
#
# With REGION, everyone lives there: Kab. Bogor (3201) at 5.5 M persons is
# the largest partition of a 280 M merge, so its peak RSS is the national
# merge's memory bound (docs/MERGE.md).
#
# DATA_DIR (default /tmp/tepat-merge-bench) must be outside the repository;
# it holds gen-N/ (inputs), out-N/ (outputs) and merge-N.log. Delete it after.
set -euo pipefail
persons=${1:?usage: run.sh PERSONS [DATA_DIR] [THREADS]}
data=${2:-/tmp/tepat-merge-bench}
threads=${3:-2}
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

(cd "$root" && cargo build --release -q -p tepat-gen && cargo build --release -q -p tepat-merge --example merge)
mkdir -p "$data"
tag="$persons${REGION:+-$REGION}"
gen="$data/gen-$tag"
out="$data/out-$tag"
log="$data/merge-$tag.log"
if [ ! -f "$gen/truth/summary.json" ]; then
  rm -rf "$gen"
  "$target/release/tepat-gen" --persons "$persons" --sources ${REGION:+--region "$REGION"} --out "$gen"
fi
rm -rf "$out"
sync
/usr/bin/time -v "$target/release/examples/merge" --threads "$threads" \
  --civil "$gen/dukcapil.csv" \
  --source DTKS="$gen/dtks.csv" --source REGSOSEK="$gen/regsosek.csv" --source P3KE="$gen/p3ke.csv" \
  --out "$out" 2> "$log"

input_bytes=$(cat "$gen"/dukcapil.csv "$gen"/dtks.csv "$gen"/regsosek.csv "$gen"/p3ke.csv | wc -c)
rows=$(( $(cat "$gen"/dukcapil.csv "$gen"/dtks.csv "$gen"/regsosek.csv "$gen"/p3ke.csv | wc -l) - 4 ))
seconds=$(grep -oP 'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): \K.*' "$log" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
rss_kb=$(grep -oP 'Maximum resident set size \(kbytes\): \K[0-9]+' "$log")
cpu=$(grep -oP 'Percent of CPU this job got: \K[0-9]+' "$log")
user=$(grep -oP 'User time \(seconds\): \K[0-9.]+' "$log")
sys=$(grep -oP 'System time \(seconds\): \K[0-9.]+' "$log")
echo "commit      $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo '+dirty')"
echo "cpu         $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "persons     $persons${REGION:+ (all in region $REGION)}; input rows $rows ($((input_bytes / 1000000)) MB)"
grep -E '^  |^merge:' "$log"
awk -v s="$seconds" -v r="$rows" -v b="$input_bytes" -v m="$rss_kb" -v c="$cpu" -v u="$user" -v y="$sys" 'BEGIN {
  printf "wall        %.1f s (%s %% CPU), %.2f M input rows/s, %.0f MB/s of input, peak RSS %.0f MB\n", s, c, r / s / 1e6, b / s / 1e6, m / 1024
  printf "cpu time    %.1f s user + %.1f s system = %.2f us per input row\n", u, y, (u + y) / r * 1e6 }'
