#!/usr/bin/env bash
# evbench's own memory over soak runs of growing length (make soak-memory).
#
#   scripts/soak-memory.sh
#   SOAK_DURATIONS="60 180 600" SOAK_RATE=1000 scripts/soak-memory.sh   # the defaults
#   SOAK_DURATIONS="15 45" scripts/soak-memory.sh                        # a quick check
#
# For each duration (seconds) it starts a fresh `evbench refstore serve` as a
# SEPARATE process on 127.0.0.1 (so the store's memory is not counted), runs
# `evbench run soak` against it at SOAK_RATE events/s (the soak scenario:
# zipf keys, one projector, its timeline rescaled to the duration), and
# records evbench's peak RSS (/usr/bin/time -f %M; without it, VmHWM polled
# from /proc). Then it prints a table (duration, events, peak RSS), the growth
# slope fitted by least squares (KB per second of run and bytes per event),
# and PASS/FAIL against the target: RSS growth <= 4 bytes per event + 1 KB per
# second of run.
#
# Exit status: 0 whether the target is met or not (the verdict is printed);
# non-zero only when something broke: the build, a store that did not start,
# an evbench run that could not complete (exit >= 2), or bad SOAK_DURATIONS.
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_DURATIONS=${SOAK_DURATIONS:-60 180 600}
SOAK_RATE=${SOAK_RATE:-1000}

die() {
  echo "soak-memory: $*" >&2
  exit 2
}

read -r -a durations <<<"$SOAK_DURATIONS"
[ "${#durations[@]}" -ge 2 ] || die "SOAK_DURATIONS=\"$SOAK_DURATIONS\": give at least two durations in seconds, e.g. \"60 180 600\""
for d in "${durations[@]}"; do
  [[ $d =~ ^[1-9][0-9]*$ ]] || die "SOAK_DURATIONS: \"$d\" is not a whole number of seconds"
done
[ "$(printf '%s\n' "${durations[@]}" | sort -u | wc -l)" -ge 2 ] || die "SOAK_DURATIONS: need at least two different durations"
[[ $SOAK_RATE =~ ^[1-9][0-9]*$ ]] || die "SOAK_RATE=\"$SOAK_RATE\": want events per second, e.g. 1000"
if command -v jq >/dev/null; then JSON=jq; elif command -v python3 >/dev/null; then JSON=python3; else
  die "neither jq nor python3 is installed (needed to read result.json)"
fi
TIME=
if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then TIME=/usr/bin/time; fi

tmp=$(mktemp -d -t evbench-soak.XXXXXX)
server=
cleanup() {
  local rc=$?
  set +e
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
  fi
  if [ -n "${KEEP_TMP:-}" ]; then echo "soak-memory: kept $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

EVB=$tmp/evbench
go build -o "$EVB" ./cmd/evbench >"$tmp/build.log" 2>&1 ||
  die "go build ./cmd/evbench failed: $(grep -m1 -v '^#' "$tmp/build.log")"

total=0
for d in "${durations[@]}"; do total=$((total + d)); done
echo "soak-memory: ${durations[*]} s at $SOAK_RATE events/s (about $(((total + 5 * ${#durations[@]}) / 60 + 1)) min); store in its own process" >&2

# start_store DIR LOG: starts refstore serve on a free port; sets server, addr.
start_store() {
  "$EVB" refstore serve --dir "$1" --addr 127.0.0.1:0 2>"$2" &
  server=$!
  addr=
  for _ in $(seq 1 100); do
    addr=$(sed -n 's/^refstore: listening on \([^ ]*\).*/\1/p' "$2" | head -1)
    [ -n "$addr" ] && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  die "refstore serve did not start: $(tail -n 2 "$2" | tr '\n' ' ')"
}
stop_store() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
}

# peak_rss_kb OUTFILE CMD...: runs CMD, writes its peak RSS in KB to OUTFILE,
# returns CMD's exit status.
peak_rss_kb() {
  local outfile=$1 rc=0
  shift
  if [ -n "$TIME" ]; then
    "$TIME" -f %M -o "$outfile" "$@" || rc=$?
    # GNU time may prepend "Command exited with non-zero status N".
    tail -n 1 "$outfile" >"$outfile.kb" && mv "$outfile.kb" "$outfile"
    return "$rc"
  fi
  "$@" &
  local pid=$! hwm=0 v
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
    sleep 0.2
  done
  wait "$pid" || rc=$?
  echo "$hwm" >"$outfile"
  return "$rc"
}

rows=()
for d in "${durations[@]}"; do
  echo "soak-memory: run ${d}s" >&2
  start_store "$tmp/store-$d" "$tmp/store-$d.log"
  rc=0
  peak_rss_kb "$tmp/rss-$d" "$EVB" run soak --driver refstore --dsn "refstore://$addr" \
    --duration "${d}s" --set load.start="$SOAK_RATE" --set 'gates=[]' --seed 7 \
    --out "$tmp/run-$d" -q >"$tmp/run-$d.log" 2>&1 || rc=$?
  stop_store
  if [ "$rc" -ge 2 ] || [ ! -s "$tmp/run-$d/result.json" ]; then
    die "evbench run soak (${d}s) exited $rc: $(tail -n 3 "$tmp/run-$d.log" | tr '\n' ' ')"
  fi
  [ "$rc" = 0 ] || echo "soak-memory: note: the ${d}s run exited $rc (delivery check or incomplete drain); its memory still counts" >&2
  if [ "$JSON" = jq ]; then
    events=$(jq -r '.events.acked' "$tmp/run-$d/result.json")
  else
    events=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"]["acked"])' "$tmp/run-$d/result.json")
  fi
  kb=$(tr -dc '0-9' <"$tmp/rss-$d")
  [ -n "$kb" ] && [ "$kb" -gt 0 ] || die "no peak RSS measured for the ${d}s run"
  rows+=("$d $events $kb")
done

printf '%s\n' "${rows[@]}" | awk -v rate="$SOAK_RATE" -v how="${TIME:+/usr/bin/time -f %M}" '
  { d[NR] = $1; e[NR] = $2; k[NR] = $3 }
  END {
    if (how == "") how = "VmHWM polled every 0.2 s"
    printf "\nevbench peak RSS (%s), store in a separate process, %d events/s offered\n\n", how, rate
    printf "%10s  %10s  %12s\n", "duration_s", "events", "peak_rss_MB"
    for (i = 1; i <= NR; i++) printf "%10d  %10d  %12.1f\n", d[i], e[i], k[i] / 1024
    # least squares: RSS (KB) and events against duration (s)
    n = NR; sx = sy = se = sxx = sxy = sxe = 0
    for (i = 1; i <= n; i++) { sx += d[i]; sy += k[i]; se += e[i]; sxx += d[i]*d[i]; sxy += d[i]*k[i]; sxe += d[i]*e[i] }
    den = n * sxx - sx * sx
    kbps = (n * sxy - sx * sy) / den        # RSS growth, KB per second of run
    eps = (n * sxe - sx * se) / den         # events per second of run
    bpe = (eps > 0) ? kbps * 1024 / eps : 0 # RSS growth, bytes per event
    budget = (4 * eps + 1024) / 1024        # target, KB per second
    printf "\nslope (least squares over %d runs): %.2f KB per second of run = %.2f bytes per event (at %.0f events/s)\n", n, kbps, bpe, eps
    printf "target: growth <= 4 bytes/event + 1 KB/s = %.2f KB/s at that rate\n", budget
    printf "%s\n", (kbps <= budget) ? "PASS" : "FAIL: evbench grows faster than the target (exit status stays 0)"
  }'
