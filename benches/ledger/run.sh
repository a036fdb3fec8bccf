#!/usr/bin/env bash
# Central-ledger benchmark (docs/BENCHMARKS-ledger.md).
#
#   benches/ledger/run.sh DIR [RECORDS] [INDEX_PERSONS] [INDEX_PERIODS]
#
# DIR: the service benchmark's data directory, made by
# `benches/service/run.sh DIR N` (its base snapshot DIR/lib/base/base.tepat,
# its payable PBI_JK NIKs DIR/niks.txt and their month DIR/niks.period).
# RECORDS: claims synced (default 1000000). INDEX_PERSONS × INDEX_PERIODS:
# the claims the index part grows the table to (default 10000000 × 10).
# PG_SERVER: the PostgreSQL server (default postgresql://postgres@127.0.0.1:5432);
# each part makes a database tepat_bench_<part> of its own there.
#
# In one run: the sync and its COPY floor; pgbench inserting one
# claim-shaped row per transaction at 2 and 16 clients (10 s each);
# reserved against local claims at 1, 16 and 64 clients (10 s each); the
# claims table grown to INDEX_PERSONS × INDEX_PERIODS rows.
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [RECORDS] [INDEX_PERSONS] [INDEX_PERIODS]" >&2
    exit 2
fi
dir=$(cd "$1" && pwd)
records=${2:-1000000}
index_persons=${3:-10000000}
index_periods=${4:-10}
server=${PG_SERVER:-postgresql://postgres@127.0.0.1:5432}
here=$(cd "$(dirname "$0")" && pwd)
for f in lib/base/base.tepat niks.txt niks.period; do
    [ -s "$dir/$f" ] || { echo "$dir/$f is missing: run benches/service/run.sh $dir first" >&2; exit 1; }
done
period=$(cat "$dir/niks.period")
target=${CARGO_TARGET_DIR:-$here/target}
(cd "$here" && CARGO_TARGET_DIR="$target" cargo build --release --quiet)
bench="$target/release/tepat-ledger-bench"
work="$dir/ledger-bench"
mkdir -p "$work"

echo "# tepat ledger benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "# cpu: $(lscpu | sed -n 's/^Model name: *//p'); $(nproc) cores; AVX-512: $(grep -q avx512f /proc/cpuinfo && echo yes || echo no)"
echo "# $(psql "$server/postgres" -Atc 'SELECT version()')"
echo "# synchronous_commit=$(psql "$server/postgres" -Atc 'SHOW synchronous_commit'), shared_buffers=$(psql "$server/postgres" -Atc 'SHOW shared_buffers')"

echo "## sync: $records claims, and the COPY floor"
"$bench" sync --snapshot "$dir/lib/base/base.tepat" --niks "$dir/niks.txt" --server "$server" \
    --dir "$work" --records "$records" --period "$period"
rm -rf "$work/sync-store"

echo "## pgbench: one claim-shaped row per transaction"
psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS tepat_bench_pgbench WITH (FORCE)" -c "CREATE DATABASE tepat_bench_pgbench"
psql -q "$server/tepat_bench_pgbench" -c "CREATE TABLE bench_claims (id bigserial PRIMARY KEY,
    point text COLLATE \"C\" NOT NULL, request_id text NOT NULL, program text COLLATE \"C\" NOT NULL,
    period text COLLATE \"C\" NOT NULL, claim_key bigint, nik bigint, amount bigint,
    village bigint NOT NULL, operator text NOT NULL, at timestamptz NOT NULL,
    outcome text NOT NULL, reasons text NOT NULL)"
for c in 2 16; do
    echo "# pgbench -n -f benches/ledger/insert.sql -c $c -j 2 -T 10"
    pgbench -n -f "$here/insert.sql" -c "$c" -j 2 -T 10 "$server/tepat_bench_pgbench" 2>&1 |
        sed -n 's/^tps = \([0-9.]*\).*/\1/p' | sed "s/^/RESULT pgbench clients=$c rows_per_s=/"
done

echo "## reserved claims against local ones"
"$bench" reserve --snapshot "$dir/lib/base/base.tepat" --niks "$dir/niks.txt" --server "$server" \
    --dir "$work" --clients 1,16,64 --secs 10 --period "$period"

echo "## the claims table grown to $index_persons x $index_periods claims"
"$bench" index --server "$server" --persons "$index_persons" --periods "$index_periods"
rm -rf "$work"
