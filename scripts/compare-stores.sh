#!/usr/bin/env bash
# Run one scenario against every store on this machine, one after another,
# then print the side-by-side table (docs/refstore.md quotes its output).
#   scripts/compare-stores.sh [SCENARIO] [DURATION]
# Needs PostgreSQL on 127.0.0.1:5432 (database test) and NATS JetStream on
# 127.0.0.1:4222; refstore and kafka (kfake) run embedded.
set -euo pipefail
scenario=${1:-burst}
duration=${2:-20s}
out=${OUT:-results/compare-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
go build -o "$out/evbench" ./cmd/evbench
run() { # name driver [dsn]
  local name=$1 driver=$2 dsn=${3:-}
  echo "== $name" >&2
  "$out/evbench" run "$scenario" --driver "$driver" ${dsn:+--dsn "$dsn" --reset} \
    --duration "$duration" --seed 7 --quiet --out "$out/$name" >"$out/$name.txt" 2>&1 \
    || echo "   $name exited $? (see $out/$name.txt)" >&2
}
run refstore refstore
run postgres postgres "postgres://127.0.0.1:5432/test?schema=evbench_compare"
run nats nats "nats://127.0.0.1:4222?stream=EVBENCH_COMPARE&subjects=evbcompare.>"
run kafka kafka
echo "== fsync floor (same sitting)" >&2
go test ./drivers/refstore -run '^$' -bench 'FsyncFloor' -benchtime 2s | grep -E '^Benchmark' >&2
"$out/evbench" compare "$out/refstore" "$out/postgres" "$out/nats" "$out/kafka"
