#!/usr/bin/env bash
# Service benchmark (docs/BENCHMARKS-service.md): `tepat serve` over
# loopback with keep-alive, wrk as the load generator on the same cores,
# against nginx answering a fixed body (the machine's HTTP floor) and
# against the library and the CLI doing the same work, all in one run.
#
#   benches/service/run.sh DIR [N] [SECS]
#
# DIR: scratch directory outside the repository (at 10 M persons ≈ 2 GB
# at most: the generated register.csv 0.8 GB, the pristine store and the
# library's copy of its snapshot 300 MB each, the working copies of the
# store 300 MB each while they run, a claims log ≈ 200 bytes per claim).
# N: persons (default 10000000). SECS:
# seconds per measured wrk run (default 10).
#
# Needs nginx and wrk (Debian: apt-get install nginx wrk); when either is
# missing the script installs both with apt-get, as root or through sudo.
#
# What it does, in this order:
#   1. builds `tepat` and `tepat-gen` (release) and benches/payouts'
#      `tepat-payouts`; CARGO_TARGET_DIR defaults to the repository's target/;
#   2. once per N: `tepat-gen` (seed 1) into DIR/gen, `tepat build` of
#      DIR/gen/register.csv into DIR/store.pristine; the NIKs payable for
#      PBI_JK in PERIOD (by `tepat batch`) into DIR/niks.txt, shuffled; a
#      payee list of 1,000,000 rows, DIR/batch.csv (payees.csv's rows,
#      repeated if N / 10 is fewer); the library's base snapshot
#      (DIR/lib/base) is a copy of the built store's snapshot;
#   3. a keeper token into DIR/tokens.toml;
#   4. `tepat serve` on a copy of the pristine store (DIR/store): nginx's
#      floor and POST /v1/check at 64 connections, POST /v1/batch of
#      DIR/batch.csv with curl; then, the service stopped, `tepat batch` on
#      the same store and file, and the two verdict files compared;
#   5. `tepat serve` on another fresh copy (DIR/claims-store, on DIR's disk):
#      a check warm-up, then POST /v1/claim at 256 connections; the
#      service's metrics; the paid claims in the store (`tepat report
#      payouts`) against wrk's count; then the library's group-commit claims
#      (`tepat-payouts claims`, 256 clients, PBI_JK) on the same snapshot.
#
# Before each measured run the script waits (up to LOAD_WAIT seconds,
# default 600) for the 1-minute load average to fall below LOAD_MAX (default
# 0.7) and prints the load. wrk runs with WRK_THREADS threads (default 2).
# Checks and claims ask PBI_JK for PERIOD (default: the current month, an
# open one), for the NIKs of DIR/niks.txt: every payable PBI_JK person.
# PARTS=claims runs step 5 alone (a claims-path change measured again).
# Results are printed as RESULT lines and Markdown tables on stdout.
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [N] [SECS]" >&2
    exit 2
fi
dir=$(mkdir -p "$1" && cd "$1" && pwd)
n=${2:-10000000}
secs=${3:-10}
threads=${WRK_THREADS:-2}
load_max=${LOAD_MAX:-0.7}
load_wait=${LOAD_WAIT:-600}
batch_rows=1000000
# The month claimed and checked: open for PBI_JK on the day of the run.
period=${PERIOD:-$(date -u +%Y-%m)}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    sudo=()
    if [ "$(id -u)" != 0 ]; then
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx wrk
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
(cd "$repo" && cargo build --release --quiet -p tepat-cli -p tepat-gen)
(cd "$repo/benches/payouts" && cargo build --release --quiet)
tepat="$CARGO_TARGET_DIR/release/tepat"
gen="$CARGO_TARGET_DIR/release/tepat-gen"
payouts="$CARGO_TARGET_DIR/release/tepat-payouts"

load() { cut -d' ' -f1-3 /proc/loadavg; }

# Waits until the 1-minute load is below $load_max (at most $load_wait s).
wait_quiet() {
    local waited=0
    while awk -v m="$load_max" '{ exit !($1 >= m) }' /proc/loadavg; do
        if [ "$waited" -ge "$load_wait" ]; then
            echo "# load still $(load) after ${waited}s; measuring anyway" >&2
            break
        fi
        sleep 5
        waited=$((waited + 5))
    done
    echo "# load before $1: $(load) (waited ${waited}s)"
}

avx512=no
if grep -qw avx512f /proc/cpuinfo; then avx512=yes; fi
echo "# tepat service benchmark: N=$n, ${secs}s per wrk run, wrk threads $threads, $(date -u +%FT%TZ)"
echo "# commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "# cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1); $(nproc) cores; AVX-512: $avx512; $(uname -sr)"
echo "# $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $("$nginx_bin" -v 2>&1)"
echo "# load at start: $(load)"

# --- 2. data -------------------------------------------------------------
if [ "$(cat "$dir/gen/persons.txt" 2>/dev/null)" != "$n" ]; then
    rm -rf "${dir:?}/gen" "${dir:?}/store.pristine" "${dir:?}/lib" "${dir:?}/niks.txt" "${dir:?}/batch.csv"
    echo "# generating $n persons"
    "$gen" --persons "$n" --out "$dir/gen" 2>&1 | grep -v '^\s*$' || true
    echo "$n" >"$dir/gen/persons.txt"
fi
if [ ! -f "$dir/store.pristine/.built" ]; then
    rm -rf "$dir/store.pristine"
    /usr/bin/time -f "# tepat build: wall %e s, peak RSS %M KiB" \
        "$tepat" build --register "$dir/gen/register.csv" --store "$dir/store.pristine" --as-of 2026-11-01
    touch "$dir/store.pristine/.built"
fi
if [ "$(cat "$dir/niks.period" 2>/dev/null)" != "$period" ] || [ ! -s "$dir/niks.txt" ]; then
    # Candidates: the register's living PBI_JK enrollees who are not civil
    # servants; kept: those `tepat batch` finds payable for $period (not
    # measured), in a fixed shuffled order.
    awk -F, -v p="$period" 'NR == 1 { print "nik,program,period"; next }
        $8 == 0 && $9 == 0 && ("|" $11 "|") ~ /[|]PBI_JK[|]/ { print $1 ",PBI_JK," p }' \
        "$dir/gen/register.csv" >"$dir/candidates.csv"
    "$tepat" batch --store "$dir/store.pristine" "$dir/candidates.csv" --out "$dir/candidates.verdicts.csv" 2>/dev/null
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["payable"] == "true" && !seen[$c["nik"]]++ { print $c["nik"] }' "$dir/candidates.verdicts.csv" |
        shuf --random-source=<(yes) >"$dir/niks.txt"
    echo "$period" >"$dir/niks.period"
    rm -f "$dir/candidates.csv" "$dir/candidates.verdicts.csv" "$dir/candidates.summary.json"
fi
if [ ! -s "$dir/batch.csv" ]; then
    awk -v rows="$batch_rows" 'NR == 1 { print; next } { line[++n] = $0 }
        END { for (i = 0; i < rows; i++) print line[i % n + 1] }' \
        "$dir/gen/payees.csv" >"$dir/batch.csv"
fi
if [ "$(cat "$dir/lib/base/persons.txt" 2>/dev/null)" != "$n" ]; then
    mkdir -p "$dir/lib/base"
    snaps=("$dir"/store.pristine/snapshot-*.tepat)
    cp "${snaps[0]}" "$dir/lib/base/base.tepat"
    echo "$n" >"$dir/lib/base/persons.txt"
fi
echo "# store: $(du -sh "$dir/store.pristine" | cut -f1); payable PBI_JK NIKs in the list: $(wc -l <"$dir/niks.txt"); batch rows: $(($(wc -l <"$dir/batch.csv") - 1)) ($(du -h "$dir/batch.csv" | cut -f1))"

# --- 3. a token ------------------------------------------------------------
rm -f "$dir/tokens.toml" "$dir/access-log.key"
token=$("$tepat" token new --role keeper --tokens "$dir/tokens.toml" --id bench 2>/dev/null)

# --- the service and nginx -------------------------------------------------
serve_pid=""
nginx_pid=""
addr=""
stop_all() {
    if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; fi
    if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; fi
}
trap stop_all EXIT

# Starts `tepat serve` on store $1; sets serve_pid and addr.
serve() {
    local out="$dir/serve.out"
    "$tepat" serve --store "$1" --listen 127.0.0.1:0 --tokens "$dir/tokens.toml" >"$out" 2>&1 &
    serve_pid=$!
    local i
    for i in $(seq 600); do
        addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$out" | head -1)
        if [ -n "$addr" ]; then break; fi
        if ! kill -0 "$serve_pid" 2>/dev/null; then cat "$out" >&2; exit 1; fi
        sleep 0.1
    done
    [ -n "$addr" ] || { echo "tepat serve did not start" >&2; exit 1; }
    echo "# tepat serve --store $1 listening on $addr (pid $serve_pid, open $((i / 10)).$((i % 10)) s)"
}

# SIGTERM, and waits for the service to exit.
unserve() {
    kill -TERM "$serve_pid"
    wait "$serve_pid" || true
    serve_pid=""
}

start_nginx() {
    local nd="$dir/nginx"
    rm -rf "$nd"
    mkdir -p "$nd/logs"
    cat >"$nd/nginx.conf" <<EOF
worker_processes $(nproc);
pid $nd/nginx.pid;
error_log $nd/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $nd/body;
    proxy_temp_path $nd/proxy;
    fastcgi_temp_path $nd/fastcgi;
    uwsgi_temp_path $nd/uwsgi;
    scgi_temp_path $nd/scgi;
    server {
        listen 127.0.0.1:${NGINX_PORT:-7781};
        location / {
            default_type application/json;
            return 200 '{"ok":true}';
        }
    }
}
EOF
    "$nginx_bin" -p "$nd" -c "$nd/nginx.conf" -g 'daemon off;' &
    nginx_pid=$!
    local i
    for i in $(seq 100); do
        if curl -sf -o /dev/null "http://127.0.0.1:${NGINX_PORT:-7781}/"; then return; fi
        sleep 0.1
    done
    echo "nginx did not start" >&2
    exit 1
}

stop_nginx() {
    kill -QUIT "$nginx_pid"
    wait "$nginx_pid" || true
    nginx_pid=""
}

# wrk LABEL CONNECTIONS SECS URL SCRIPT ARGS...: prints the command and
# wrk's output; the RESULT line is prefixed with the label.
run_wrk() {
    local label=$1 conns=$2 s=$3 url=$4 script=$5
    shift 5
    echo "# wrk -t $threads -c $conns -d ${s}s --latency --timeout 10s -s benches/service/$(basename "$script") $url -- TOKEN $* (load $(load))"
    wrk -t "$threads" -c "$conns" -d "${s}s" --latency --timeout 10s -s "$script" "$url" -- "$token" "$@" |
        sed "s/^RESULT /RESULT $label /"
}

metric() { curl -s "http://$addr/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# --- 4. check and batch ----------------------------------------------------
if [ "${PARTS:-all}" != claims ]; then
rm -rf "$dir/store"
cp -a "$dir/store.pristine" "$dir/store"
serve "$dir/store"
nik1=$(head -1 "$dir/niks.txt")
echo "# a check: $(curl -s -H "Authorization: Bearer $token" "http://$addr/v1/check" \
    -d "{\"nik\":\"$nik1\",\"program\":\"PBI_JK\",\"period\":\"$period\"}")"
# Warm-up: fault the snapshot's pages in (not measured).
wrk -t "$threads" -c 64 -d 5s -s "$here/check.lua" "http://$addr/v1/check" -- "$token" "$dir/niks.txt" PBI_JK "$period" >/dev/null

start_nginx
wait_quiet "nginx"
run_wrk nginx 64 "$secs" "http://127.0.0.1:${NGINX_PORT:-7781}/" "$here/check.lua" "$dir/niks.txt" PBI_JK "$period"
stop_nginx

wait_quiet "check"
run_wrk check 64 "$secs" "http://$addr/v1/check" "$here/check.lua" "$dir/niks.txt" PBI_JK "$period"
echo "# service after checks: tepat_http_requests_total{route=\"/v1/check\",status=\"200\"} $(curl -s "http://$addr/metrics" | grep -F 'route="/v1/check"' | grep -F 'status="200"' | awk '{print $2}')"

wait_quiet "HTTP batch"
echo "# curl -s --data-binary @batch.csv -H 'Authorization: Bearer TOKEN' http://$addr/v1/batch -o batch.http.csv"
t=$(curl -s --data-binary "@$dir/batch.csv" -H "Authorization: Bearer $token" \
    -D "$dir/batch.http.headers" -o "$dir/batch.http.csv" -w '%{time_total}' "http://$addr/v1/batch")
rows=$(($(wc -l <"$dir/batch.http.csv") - 1))
echo "RESULT batch_http rows=$rows secs=$t rows_per_s=$(awk -v r="$rows" -v t="$t" 'BEGIN { printf "%.0f", r / t }')"
unserve

wait_quiet "CLI batch"
echo "# tepat batch --store store batch.csv --out batch.cli.csv"
/usr/bin/time -f "RESULT batch_cli_wall wall_s=%e user_s=%U sys_s=%S max_rss_kib=%M" \
    "$tepat" batch --store "$dir/store" "$dir/batch.csv" --out "$dir/batch.cli.csv" 2>&1 |
    grep -E '^RESULT|rows:' || true
awk -F'[:,]' '/"seconds"/ { s = $2 } /"rows"/ { r = $2 } END { printf "RESULT batch_cli rows=%d secs=%.3f rows_per_s=%.0f (the command'"'"'s own timing, store open included)\n", r, s, r / s }' \
    "$dir/batch.cli.summary.json"
if cmp -s "$dir/batch.http.csv" "$dir/batch.cli.csv"; then
    echo "# verdicts: the service's and the command's files are identical"
else
    echo "# verdicts: the service's and the command's files DIFFER"
fi
fi

# --- 5. claims -----------------------------------------------------------
rm -rf "$dir/claims-store"
cp -a "$dir/store.pristine" "$dir/claims-store"
serve "$dir/claims-store"
# Warm-up with checks only (nothing recorded): the snapshot's pages in.
wrk -t "$threads" -c 64 -d 5s -s "$here/check.lua" "http://$addr/v1/check" -- "$token" "$dir/niks.txt" PBI_JK "$period" >/dev/null
wait_quiet "HTTP claims"
run_wrk claim 256 "$secs" "http://$addr/v1/claim" "$here/claim.lua" "$dir/niks.txt" "$threads" "run$(date +%s)" PBI_JK "$period"
paid_m=$(metric 'tepat_claims_total{outcome="paid"}')
refused_m=$(metric 'tepat_claims_total{outcome="refused"}')
flushes=$(metric tepat_store_flushes_total)
echo "RESULT claim_metrics paid=${paid_m:-0} refused=${refused_m:-0} flushes=${flushes:-0} claims_per_flush=$(awk -v p="${paid_m:-0}" -v r="${refused_m:-0}" -v f="${flushes:-0}" 'BEGIN { printf "%.1f", (p + r) / (f > 0 ? f : 1) }')"
unserve
# paid is the 6th field from the end of `tepat report payouts --format csv`,
# refused the 2nd, in the national row, region 00 (a region's name may hold
# a quoted comma, the counts not).
"$tepat" report payouts --store "$dir/claims-store" --program PBI_JK --format csv |
    awk -F, '$1 == "00" { p += $(NF - 6); r += $(NF - 1) } END { printf "RESULT claim_store paid=%d refused=%d\n", p, r }'
echo "# claims log: $(du -h "$dir/claims-store/claims.log" 2>/dev/null | cut -f1)"

wait_quiet "library claims"
echo "# tepat-payouts claims --dir lib --secs $secs --threads 256 --modes group --program PBI_JK"
"$payouts" claims --dir "$dir/lib" --secs "$secs" --threads 256 --modes group --program PBI_JK
echo "# load at end: $(load)"
rm -rf "$dir/claims-store" "$dir/store"
