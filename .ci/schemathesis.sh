#!/usr/bin/env bash
# schemathesis (PyPI) against `tepat serve`'s own /openapi.json: a demo
# store, a keeper's token, a bounded run (a few hundred requests per
# phase). Fails on a 5xx, a status the document does not list, or a body
# or content type that does not match it.
#
#   .ci/schemathesis.sh   (from the repository; cargo's target dir is used)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
venv=$target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4,<5'
fi
cargo build --quiet -p tepat-cli
tepat=$target/debug/tepat
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$tepat" demo --persons 20000 --dir "$work/demo" > "$work/demo.log"
token=$("$tepat" token new --role keeper --tokens "$work/tokens.toml" 2>/dev/null | tail -1)
# The self-service's per-address limit would answer 429 to nearly every
# generated request: raised here so that the route's logic is exercised.
# One worker: two generation switches at once are answered 503 by design.
"$tepat" serve --store "$work/demo/store" --listen 127.0.0.1:0 --tokens "$work/tokens.toml" \
  --today 2026-11-15 --self-service-per-minute 1000000 > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q '^listening on ' "$work/serve.log" && break; sleep 0.1; done
addr=$(sed -n 's/^listening on //p' "$work/serve.log")
[ -n "$addr" ] || { cat "$work/serve.log"; echo "error: tepat serve did not start" >&2; exit 1; }
echo "+ schemathesis run http://$addr/openapi.json (keeper token, --max-examples 25)"
"$venv/bin/schemathesis" run "http://$addr/openapi.json" \
  -H "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples 25 --workers 1 --seed 2026 --no-color
kill -0 "$pid" || { cat "$work/serve.log"; echo "error: tepat serve died under schemathesis" >&2; exit 1; }
