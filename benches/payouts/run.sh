#!/usr/bin/env bash
# Payout-point benchmark (docs/BENCHMARKS-payouts.md): check latency, durable
# claims/s with group commit on and off, a PostgreSQL peer (pgbench, default
# durability), and store open time as recorded claims grow.
#
#   benches/payouts/run.sh DIR [N] [SECS] [OPEN_CLAIMS] [PARTS...]
#
# DIR: scratch directory outside the repository (the 10 M snapshot is
# 300 MB; each claim run's live state some 10-100 MB; PostgreSQL's cluster
# is made and removed under DIR/pg). N: persons (default 10000000). SECS:
# seconds per claim run (default 10). OPEN_CLAIMS: claim counts for the open
# table (default 100000,1000000). PARTS: any of build check parts claims family pg
# open compact syncs tmpfs apply (default all but the last three, in that order):
# `syncs` measures the disk's fdatasyncs per second under DIR, `tmpfs` runs the
# claims with group commit on stores under /dev/shm (the CPU-only rate), `apply`
# times `tepat apply` (wall, peak RSS) on change files of APPLY_ROWS rows
# (default 100000 300000 1000000) against fresh N-person stores.
# PostgreSQL (Debian: apt-get install postgresql postgresql-contrib) runs as
# the `postgres` user when started by root, on a Unix socket under DIR only
# (listen_addresses=''), port 5433, with its default durability (fsync on,
# synchronous_commit on); it is stopped on exit.
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [N] [SECS] [OPEN_CLAIMS] [build check parts claims family pg open compact]" >&2
    exit 2
fi
dir=$(mkdir -p "$1" && cd "$1" && pwd)
n=${2:-10000000}
secs=${3:-10}
open_claims=${4:-100000,1000000}
shift $(( $# < 4 ? $# : 4 ))
parts=${*:-build check parts claims family pg open compact}
here=$(cd "$(dirname "$0")" && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/../../target}"
(cd "$here" && cargo build --release --quiet)
bin="$CARGO_TARGET_DIR/release/tepat-payouts"
clients="1,16,64,256"

echo "# tepat-payouts: N=$n, ${secs}s per claim run, $(nproc) cores, $(date -u +%FT%TZ)"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"

pgbin=""
pgdir=""
as=()
stop_pg() {
    "${as[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
}

pg() {
    local sock
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
        echo "PostgreSQL is not installed (apt-get install postgresql postgresql-contrib)" >&2
        return 1
    fi
    pgdir="$dir/pg"
    sock="$pgdir/sock"
    rm -rf "$pgdir"
    mkdir -p "$pgdir/sock"
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres: "$pgdir"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U bench >/dev/null
    "${as[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
        -o "-p 5433 -k $sock -c listen_addresses='' -c max_connections=300" start >/dev/null
    trap stop_pg EXIT
    local psql=("$pgbin/psql" -q -h "$sock" -p 5433 -U bench)
    "${psql[@]}" -d postgres -c "CREATE DATABASE bench" >/dev/null
    "${psql[@]}" -d bench -f "$here/schema.sql" >/dev/null
    echo
    echo "PostgreSQL $("${psql[@]}" -d bench -Atc 'SHOW server_version'): fsync=$("${psql[@]}" -d bench -Atc 'SHOW fsync'), synchronous_commit=$("${psql[@]}" -d bench -Atc 'SHOW synchronous_commit'), wal_sync_method=$("${psql[@]}" -d bench -Atc 'SHOW wal_sync_method')"
    echo
    echo "| peer | clients | transactions | s | claims/s (tps) | latency avg ms |"
    echo "|---|---:|---:|---:|---:|---:|"
    local c out
    for c in ${clients//,/ }; do
        out=$("$pgbin/pgbench" -h "$sock" -p 5433 -U bench -n -M prepared \
            -c "$c" -j 2 -T "$secs" -f "$here/claim.sql" bench 2>&1)
        echo "| PostgreSQL | $c | $(grep -m1 'processed:' <<<"$out" | sed 's/.*processed: \([0-9]*\).*/\1/') | $secs | $(grep -m1 '^tps' <<<"$out" | sed 's/tps = \([0-9.]*\).*/\1/') | $(grep -m1 'latency average' <<<"$out" | sed 's/latency average = \([0-9.]*\).*/\1/') |"
    done
    echo
    echo "rows: $("${psql[@]}" -d bench -Atc 'SELECT count(*) FROM claims') claims, $("${psql[@]}" -d bench -Atc 'SELECT count(*) FROM audit') audit; refused: $("${psql[@]}" -d bench -Atc "SELECT count(*) FROM requests WHERE NOT paid")"
    stop_pg
    trap - EXIT
    rm -rf "$pgdir"
}

for part in $parts; do
    echo
    echo "## $part (load $(cut -d' ' -f1-3 /proc/loadavg))"
    case $part in
        build) "$bin" build --persons "$n" --dir "$dir" ;;
        check) "$bin" check --dir "$dir" ;;
        parts) "$bin" parts --dir "$dir" --secs 4 --threads 1,2,16 ;;
        claims) "$bin" claims --dir "$dir" --secs "$secs" --threads "$clients" ;;
        tmpfs)
            shm=$(mktemp -d /dev/shm/tepat-claims.XXXXXX)
            "$bin" claims --dir "$dir" --secs "$secs" --threads "$clients" --modes group --stores "$shm"
            rm -rf "$shm" ;;
        syncs) "$bin" syncs --dir "$dir" --secs "$secs" ;;
        apply)
            (cd "$here/../.." && cargo build --release --quiet -p tepat-cli)
            for rows in ${APPLY_ROWS:-100000 300000 1000000}; do
                "$bin" changes --dir "$dir" --changes "$rows"
                ls -l "$dir/apply-$rows.csv" | awk '{print "file bytes", $5}'
                /usr/bin/time -f "RESULT tepat apply rows=$rows wall_s=%e user_s=%U sys_s=%S max_rss_kib=%M" \
                    "$CARGO_TARGET_DIR/release/tepat" apply --store "$dir/apply-$rows" "$dir/apply-$rows.csv"
                rm -rf "$dir/apply-$rows" "$dir/apply-$rows.csv"
            done ;;
        family) "$bin" claims --dir "$dir" --secs "$secs" --threads "$clients" --program PKH ;;
        compact) "$bin" compact --dir "$dir" --changes 10000 --threads 1 --secs 3 ;;
        pg) pg ;;
        open) "$bin" open --dir "$dir" --claims "$open_claims" ;;
        *) echo "unknown part $part" >&2; exit 2 ;;
    esac
done
