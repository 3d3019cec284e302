#!/usr/bin/env bash
# kill-store.sh: the outage experiment of the verdicts work. An external
# `evbench refstore serve` is killed (SIGKILL) for DOWN seconds in the middle
# of a RUN-second run at RATE events/s, then restarted on the same data
# directory and port. Extra arguments go to `evbench run` (e.g. a retry
# policy: --set load.retry='{attempts: 20, backoff: 100ms, max_backoff: 1s, deadline: 10s}').
#
#   scripts/kill-store.sh [--set ...]
#   RATE=1000 RUN=20 AT=8 DOWN=3 OUT=results/kill-store scripts/kill-store.sh
#
# It prints the run's summary and the outage, failed-latency and retry
# figures of result.json. Load only targets 127.0.0.1.
set -euo pipefail
RATE=${RATE:-1000} RUN=${RUN:-20} AT=${AT:-8} DOWN=${DOWN:-3}
OUT=${OUT:-results/kill-store-$(date -u +%Y%m%dT%H%M%SZ)}
BIN=${EVBENCH:-$(mktemp -d)/evbench}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/evbench
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$DATA"; }
trap cleanup EXIT

serve() {
	"$BIN" refstore serve --addr "$ADDR" --dir "$DATA" 2>"$DATA.log" &
	SERVER=$!
	for _ in $(seq 100); do grep -q listening "$DATA.log" 2>/dev/null && return; sleep 0.05; done
	echo "refstore serve did not start:" >&2; cat "$DATA.log" >&2; exit 1
}

serve
(
	sleep "$AT"; kill -9 "$SERVER"; echo "kill-store: killed refstore serve at ${AT}s" >&2
	sleep "$DOWN"; serve; echo "kill-store: restarted refstore serve after ${DOWN}s" >&2
	wait
) &
KILLER=$!
set +e
"$BIN" run burst --dsn "refstore://$ADDR" --out "$OUT" -q \
	--set load.stages='[]' --set load.start="$RATE" --set load.duration="${RUN}s" \
	--set consumers.rebuild=none --set gates='[]' "$@"
code=$?
set -e
kill "$KILLER" 2>/dev/null || true
pkill -f "refstore serve --addr $ADDR" 2>/dev/null || true
python3 - "$OUT/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
e = r["events"]
print("outages:", json.dumps(r.get("outages")))
print("events: failed %d retried %d gave_up %d acked %d" % (e["failed"], e.get("retried", 0), e.get("gave_up", 0), e["acked"]))
print("commit_latency_ms: p99 %.1f max %.1f" % (r["commit_latency_ms"]["p99"], r["commit_latency_ms"]["max"]))
print("failed_latency_ms:", json.dumps(r.get("failed_latency_ms")))
print("delivery: ok %s failures %s" % (r["delivery"]["ok"], r["delivery"].get("failures")))
PY
exit $code
