#!/usr/bin/env bash
# Payout-point cuts (docs/BENCHMARKS-points.md): `tepat subset` of the
# largest regency out of a national store of N persons, then of every
# regency in one pass (`--plan`), with the time, the peak memory and the
# point stores' size per person.
#
#   benches/points/run.sh DIR [N]
#
# Also the largest regency's cut keyed (`--key`).
#
# PLAN=0 skips the cut of every regency (at 280 M persons it writes the
# whole register again, 514 stores).
#
# DIR: scratch directory outside the repository (at 10 M persons about
# 3 GB: the register 0.8 GB, the national store 0.3 GB, the points' stores
# as much again). N: persons (default 10000000).
#
# What it does: builds `tepat` and `tepat-gen` (release; CARGO_TARGET_DIR
# defaults to the repository's target/); once per N, `tepat-gen` (seed 1)
# into DIR/gen and `tepat build` into DIR/national; then the two cuts,
# each into a fresh directory, timed by /usr/bin/time.
set -euo pipefail

dir=${1:?usage: benches/points/run.sh DIR [N]}
n=${2:-10000000}
repo=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
(cd "$repo" && cargo build --release --quiet -p tepat-cli -p tepat-gen)
tepat="$CARGO_TARGET_DIR/release/tepat"
gen="$CARGO_TARGET_DIR/release/tepat-gen"
mkdir -p "$dir"

echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; commit $(cd "$repo" && git rev-parse --short HEAD)"
if [ "$(cat "$dir/gen/persons.txt" 2>/dev/null)" != "$n" ]; then
    rm -rf "${dir:?}/gen" "${dir:?}/national"
    "$gen" --persons "$n" --out "$dir/gen" 2>&1 | grep -v '^\s*$' || true
    "$tepat" build --register "$dir/gen/register.csv" --store "$dir/national" --as-of 2026-11-01
    echo "$n" >"$dir/gen/persons.txt"
fi

# Persons by regency of residence (village_code is the register's 4th column).
awk -F, 'NR > 1 { c[substr($4, 1, 4)]++ } END { for (k in c) print c[k], k }' "$dir/gen/register.csv" |
    sort -rn >"$dir/regencies.txt"
read -r biggest_persons biggest <"$dir/regencies.txt"
regencies=$(wc -l <"$dir/regencies.txt")
echo "== $n persons; $regencies regencies; the largest, $biggest, has $biggest_persons residents"

cut_timed() { # label, then tepat subset's arguments
    local label=$1
    shift
    /usr/bin/time -f "$label: %e s wall, %U s user, %M KiB peak" "$tepat" subset --store "$dir/national" "$@" \
        >"$dir/$label.tsv"
    awk -F'\t' 'NR > 1 { p += $2; b += $4; k++ } END { printf "  %d points, %d persons, %.1f B/person\n", k, p, b / p }' "$dir/$label.tsv"
}

rm -rf "${dir:?}/one"
cut_timed one --regions "$biggest" --out "$dir/one"
head -2 "$dir/one.tsv" | column -t

# The same cut keyed (every NIK and KK a pseudonym: docs/FORMAT.md,
# "Keyed snapshots"), with a key made for it.
rm -rf "${dir:?}/keyed" "${dir:?}/keyed.key"
"$tepat" key new --out "$dir/keyed.key" 2>/dev/null
cut_timed keyed --regions "$biggest" --key "$dir/keyed.key" --out "$dir/keyed"

[ "${PLAN:-1}" = 0 ] && exit 0
{
    echo "point_id,regions,programs"
    awk '{ print "R" $2 "," $2 "," }' "$dir/regencies.txt"
} >"$dir/plan.csv"
rm -rf "${dir:?}/plan"
cut_timed plan --plan "$dir/plan.csv" --out "$dir/plan"
