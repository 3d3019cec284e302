#!/usr/bin/env bash
# evbench against each store's own benchmark tool, in one sitting, on this
# machine's servers, 400 B messages, and the disk's fsync floor measured in
# the same sitting; writes docs/performance.md (make bench-peers).
#
#   scripts/bench-peers.sh
#
# Peers: natscli v0.5.0 `nats bench js pub sync|async` (installed into a
# temporary GOBIN for this run only), pgbench with a custom insert script
# (same table shape as drivers/postgres, its own schema), and
# scripts/peers/franzgo (a plain franz-go producer loop on in-process kfake,
# as evbench's embedded kafka). Every comparison runs peer, evbench, peer,
# evbench. evbench is open loop: its throughput figure is the highest offered
# rate it sustained (achieved within 1% of offered, late <= 0.1% of events,
# nothing failed), found by a short rate search; the peers are closed loops
# and report their peak.
#
# Needs: NATS JetStream on 127.0.0.1:4222, PostgreSQL on 127.0.0.1:5432
# (database test, trust auth), pgbench and psql, Go, jq or python3, and the
# Go module proxy once for natscli. Everything targets 127.0.0.1.
# Takes about 7 minutes on the 2-core VM (plus about a minute the first time
# natscli is compiled).
#
# Environment overrides (defaults in brackets):
#   STEP_SECONDS [8]   load length of one evbench step of a rate search
#   SEARCH_STEPS [4]   steps of a rate search in round 1 (round 2: one less)
#   PEER_SECONDS [10]  pgbench and franzgo run length
#   LAT_SECONDS [5]    evbench latency runs (NATS at LAT_RATE, Postgres at PG_LAT_RATE)
#   LAT_RATE [1000]    offered events/s of the NATS sync-latency comparison
#   PG_LAT_RATE [200]  offered events/s of the Postgres latency comparison
#   LATE_MAX [0.001]   a step is sustained when at most this fraction of its events was late
#   PG_DSN_EXTRA []    appended to the postgres driver DSN, e.g. '&group_commit=off'
#   NATS_CLI []        an existing natscli v0.5.0 binary (skips the install)
#   OUT_DOC [docs/performance.md]
#   KEEP_TMP []        1 keeps the temporary directory (results, logs)
# Exit status: 0 when every measurement ran; 1 when a service is down, a
# build failed, or a measurement failed (the doc is still written, with the
# failed cells marked).
set -euo pipefail
cd "$(dirname "$0")/.."

STEP_SECONDS=${STEP_SECONDS:-8}
SEARCH_STEPS=${SEARCH_STEPS:-4}
PEER_SECONDS=${PEER_SECONDS:-10}
LAT_SECONDS=${LAT_SECONDS:-5}
LAT_RATE=${LAT_RATE:-1000}
PG_LAT_RATE=${PG_LAT_RATE:-200}
PG_DSN_EXTRA=${PG_DSN_EXTRA:-}
LATE_MAX=${LATE_MAX:-0.001}
OUT_DOC=${OUT_DOC:-docs/performance.md}
SIZE=400
NATS_URL=nats://127.0.0.1:4222
PG_URL=postgres://127.0.0.1:5432/test
NATS_SYNC_MSGS=20000
NATS_ASYNC_MSGS=300000
# Names owned by this script (removed at exit).
CLI_STREAM=EVBPEERS_CLI
CLI_SUBJECT=evbpeerscli.bench
EVB_STREAM=EVBPEERS
EVB_SUBJECTS='evbpeers.>'
PGB_SCHEMA=evbench_peers_pgbench
EVB_SCHEMA=evbench_peers

t0=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say() { printf '[%4ss] %s\n' "$(($(date +%s) - t0))" "$*" >&2; }
die() {
  echo "bench-peers: $*" >&2
  exit 1
}

# ---------- prerequisites: one line each when something is missing ----------
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
command -v go >/dev/null || die "go is not on PATH (Go 1.26 is needed)"
command -v pgbench >/dev/null || die "pgbench is not on PATH (Debian: apt-get install postgresql-client)"
command -v psql >/dev/null || die "psql is not on PATH (Debian: apt-get install postgresql-client)"
if command -v jq >/dev/null; then JSON=jq; elif command -v python3 >/dev/null; then JSON=python3; else
  die "neither jq nor python3 is installed (needed to read result.json)"
fi
up 4222 || die "NATS is down at 127.0.0.1:4222; start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"
nats_info=$(timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/4222; head -n1 <&3' 2>/dev/null || true)
case $nats_info in
*'"jetstream":true'*) ;;
*) die "nats-server at 127.0.0.1:4222 does not offer JetStream; restart it with -js (see .ci/services)" ;;
esac
nats_version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' <<<"$nats_info")
up 5432 || die "PostgreSQL is down at 127.0.0.1:5432; start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql 2>/dev/null | head -1) main start"
psql -h 127.0.0.1 -p 5432 -d test -XAtqc 'SELECT 1' >/dev/null 2>&1 ||
  die "PostgreSQL at 127.0.0.1:5432 refuses database test (psql -h 127.0.0.1 -d test -c 'SELECT 1' shows why)"
pg_version=$(psql -h 127.0.0.1 -d test -XAtqc 'SHOW server_version')
pg_sync=$(psql -h 127.0.0.1 -d test -XAtqc "SELECT current_setting('fsync') || '/' || current_setting('synchronous_commit')")

# NATS sync mode: the server's config file (if any) decides; without one the
# default applies (sync_interval 2m: acks before fsync).
nats_sync="default (no config file: sync_interval 2m, PubAck before fsync)"
if npid=$(pgrep -x nats-server | head -1) && [ -n "$npid" ]; then
  cfg=$(tr '\0' '\n' <"/proc/$npid/cmdline" 2>/dev/null | awk 'p{print; exit} $0=="-c"||$0=="--config"||$0=="-config"{p=1}')
  if [ -n "$cfg" ]; then
    si=$(grep -Eo 'sync_interval[^,}]*' "$cfg" 2>/dev/null | head -1 || true)
    nats_sync="config $cfg (${si:-no sync_interval: default 2m, PubAck before fsync})"
  fi
fi

# ---------- temp dir, cleanup ----------
tmp=$(mktemp -d -t evbench-peers.XXXXXX)
mkdir -p "$tmp/logs" "$tmp/evb" "$tmp/gobin" "$tmp/pgb"
natspid=
NATS=${NATS_CLI:-}
cleanup() {
  local rc=$?
  set +e
  [ -n "$natspid" ] && kill "$natspid" 2>/dev/null && wait "$natspid" 2>/dev/null
  if [ -n "$NATS" ] && [ -x "$NATS" ]; then
    "$NATS" -s "$NATS_URL" stream rm -f "$CLI_STREAM" >/dev/null 2>&1
    "$NATS" -s "$NATS_URL" stream rm -f "$EVB_STREAM" >/dev/null 2>&1
  fi
  PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -d test -XAtq -c "DROP SCHEMA IF EXISTS $PGB_SCHEMA CASCADE" \
    -c "DROP SCHEMA IF EXISTS $EVB_SCHEMA CASCADE" >/dev/null 2>&1
  if [ -n "${KEEP_TMP:-}" ]; then echo "bench-peers: kept $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------- builds (natscli installs in the background meanwhile) ----------
say "building evbench, the franz-go peer and the fsync-floor benchmark; installing natscli v0.5.0"
if [ -z "$NATS" ]; then
  GOBIN=$tmp/gobin go install github.com/nats-io/natscli/nats@v0.5.0 >"$tmp/logs/natscli-install.log" 2>&1 &
  natspid=$!
fi
EVB=$tmp/evbench
go build -o "$EVB" ./cmd/evbench >"$tmp/logs/build.log" 2>&1 ||
  die "go build ./cmd/evbench failed: $(grep -m1 -v '^#' "$tmp/logs/build.log")"
go build -o "$tmp/franzgo" ./scripts/peers/franzgo >"$tmp/logs/build-franzgo.log" 2>&1 ||
  die "go build ./scripts/peers/franzgo failed: $(grep -m1 -v '^#' "$tmp/logs/build-franzgo.log")"
go test -c -o "$tmp/refstore.test" ./drivers/refstore >"$tmp/logs/build-floor.log" 2>&1 ||
  die "go test -c ./drivers/refstore (fsync floor benchmark) failed: $(grep -m1 -v '^#' "$tmp/logs/build-floor.log")"
if [ -n "$natspid" ]; then
  wait "$natspid" || die "go install github.com/nats-io/natscli/nats@v0.5.0 failed: $(tail -1 "$tmp/logs/natscli-install.log")"
  natspid=
  NATS=$tmp/gobin/nats
fi
[ -x "$NATS" ] || die "natscli not found at $NATS"
"$NATS" --version 2>&1 | grep -q '0\.5\.0' || echo "bench-peers: warning: $NATS is not natscli v0.5.0" >&2

# Exact 400 B payloads when the scenario schema offers them (events.payload:
# random), else the JSON envelope sized to 400 B by events.size.
payload_mode=envelope
printf 'name: probe\nevents:\n  payload: random\nload:\n  start: 1\n  duration: 1s\n' >"$tmp/probe.yaml"
if "$EVB" validate "$tmp/probe.yaml" >/dev/null 2>&1; then payload_mode=random; fi
COMMON=(--seed 7 --set 'load.stages=[]' --set consumers.rebuild=none --set 'consumers.pause=[]'
  --set consumers.drain=10s --set "events.size={min: $SIZE, max: $SIZE}" --set events.batch=1 --set 'gates=[]')
[ "$payload_mode" = random ] && COMMON+=(--set events.payload=random)
COMMON_TXT="--seed 7 --set 'load.stages=[]' --set consumers.rebuild=none --set 'consumers.pause=[]' --set consumers.drain=10s --set 'events.size={min: $SIZE, max: $SIZE}' --set events.batch=1 --set 'gates=[]'"
[ "$payload_mode" = random ] && COMMON_TXT+=" --set events.payload=random"

# fail STEP MESSAGE: one line to stderr; remembered in a file, since most
# steps run in command substitutions (subshells).
fail() {
  echo "$1" >>"$tmp/failed"
  echo "bench-peers: $1 failed: $2" >&2
}
lastlines() { tail -n 3 "$1" 2>/dev/null | tr '\n' ' ' | cut -c1-300; }

# ---------- numbers ----------
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
round3() { # to three significant digits, as an integer
  awk -v x="$1" 'BEGIN { if (x < 1) { print 0; exit } e = int(log(x)/log(10)) - 2; if (e < 0) e = 0; m = 10^e; printf "%d", int(x/m + 0.5) * m }'
}
fmt_int() { # 12345.6 -> 12,346
  awk -v x="$1" 'BEGIN { s = sprintf("%d", x + 0.5); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'
}
fmt_us() { awk -v x="$1" 'BEGIN { if (x >= 1000) printf "%.2f ms", x/1000; else printf "%.0f µs", x }'; }
mean2() { # mean of the numeric arguments, "" when none
  local n=0 s=0 v
  for v in "$@"; do [ -n "$v" ] && { s=$(calc "$s + $v"); n=$((n + 1)); }; done
  [ "$n" -gt 0 ] && calc "$s / $n" || echo ""
}

# ---------- evbench ----------
# evb_summary RESULT_JSON: sustained achieved late scheduled failed service_p50_us commit_p50_us window_full
evb_summary() {
  if [ "$JSON" = jq ]; then
    jq -r --arg late_max "$LATE_MAX" '[ ((.complete == true) and (.events.failed == 0) and (.achieved_rate >= 0.99 * .offered_rate)
              and (.events.late <= ($late_max | tonumber) * .events.scheduled)),
            .achieved_rate, .events.late, .events.scheduled, .events.failed,
            ((.service_time_ms.p50 // 0) * 1000), ((.commit_latency_ms.p50 // 0) * 1000), (.events.window_full // 0) ] | map(tostring) | join(" ")' "$1"
  else
    python3 - "$1" "$LATE_MAX" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1])); e = r["events"]
ok = r.get("complete") is True and e["failed"] == 0 and r["achieved_rate"] >= 0.99 * r["offered_rate"] and e["late"] <= float(sys.argv[2]) * e["scheduled"]
print(str(ok).lower(), r["achieved_rate"], e["late"], e["scheduled"], e["failed"],
      (r.get("service_time_ms") or {}).get("p50", 0) * 1000, (r.get("commit_latency_ms") or {}).get("p50", 0) * 1000,
      e.get("window_full", 0))
EOF
  fi
}

# evb_run LABEL RATE SECONDS PROJECTORS DRIVER [DSN]: prints evb_summary's line.
evb_run() {
  local label=$1 rate=$2 secs=$3 proj=$4 driver=$5 dsn=${6:-} rc=0
  local out=$tmp/evb/$label
  "$EVB" run burst --driver "$driver" ${dsn:+--dsn "$dsn" --reset} "${COMMON[@]}" \
    --set load.start="$rate" --set load.duration="${secs}s" --set consumers.projectors="$proj" \
    --out "$out" -q >"$tmp/logs/$label.log" 2>&1 || rc=$?
  # Exit 1 (a gate or the delivery check failed) still measured the run.
  if [ "$rc" -ge 2 ] || [ ! -s "$out/result.json" ]; then
    fail "$label" "evbench exited $rc: $(lastlines "$tmp/logs/$label.log")"
    return 1
  fi
  evb_summary "$out/result.json" || {
    fail "$label" "could not read $out/result.json"
    return 1
  }
}

# search NAME ROUND START UP DOWN STEPS PROJECTORS DRIVER [DSN]
# Highest sustained offered rate: up by UP until a rate fails, then bisect
# (geometric) between the best sustained and the lowest failed; a failure
# with nothing sustained yet drops to DOWN times the rate (at most 90% of
# the rate it achieved). Sets
# S_LO (highest sustained, 0 if none), S_HI (lowest failed, 0 if none),
# S_TRACE (what was tried), S_SVC, S_COMMIT (p50 µs at S_LO).
search() {
  local name=$1 round=$2 r=$3 up=$4 down=$5 steps=$6 proj=$7 driver=$8 dsn=${9:-}
  local lo=0 hi=0 i line ok ach late sched failed svc com wfull next
  S_TRACE="" S_SVC="" S_COMMIT=""
  r=$(round3 "$r")
  for ((i = 1; i <= steps; i++)); do
    [ "$r" -ge 1 ] || break
    say "  evbench $name round $round: offered $r/s"
    line=$(evb_run "$name-r$round-$i" "$r" "$STEP_SECONDS" "$proj" "$driver" "$dsn") || break
    read -r ok ach late sched failed svc com wfull <<<"$line"
    local verdict=no extra=""
    [ "$ok" = true ] && verdict=ok
    [ "$wfull" = 0 ] || extra+=", window full $wfull"
    [ "$failed" = 0 ] || extra+=", failed $failed"
    S_TRACE+="$(fmt_int "$r") $verdict (achieved $(fmt_int "$ach"), late $late/$sched$extra); "
    if [ "$ok" = true ]; then
      lo=$r S_SVC=$svc S_COMMIT=$com
      if [ "$hi" -gt 0 ]; then next=$(calc "sqrt($lo * $hi)"); else next=$(calc "$r * $up"); fi
    else
      hi=$r
      if [ "$lo" -gt 0 ]; then next=$(calc "sqrt($lo * $hi)"); else
        next=$(awk -v a="$ach" -v r="$r" -v f="$down" 'BEGIN { x = 0.9 * a; if (f * r < x) x = f * r; print x }')
      fi
    fi
    next=$(round3 "$next")
    if [ "$lo" -gt 0 ] && [ "$hi" -gt 0 ] && awk -v l="$lo" -v h="$hi" 'BEGIN { exit !(h / l <= 1.1) }'; then break; fi
    if [ "$next" -le "$lo" ] || { [ "$hi" -gt 0 ] && [ "$next" -ge "$hi" ]; }; then break; fi
    r=$next
  done
  S_LO=$lo S_HI=$hi
  S_TRACE=${S_TRACE%; }
}

# ---------- peers ----------
# nats_bench MODE ROUND: prints "msgs_per_sec p50_us p99_us"
nats_bench() {
  local mode=$1 round=$2 csv=$tmp/nats-$1-$2.csv msgs extra=()
  if [ "$mode" = sync ]; then msgs=$NATS_SYNC_MSGS; else msgs=$NATS_ASYNC_MSGS extra=(--batch 500); fi
  "$NATS" -s "$NATS_URL" bench js pub "$mode" "$CLI_SUBJECT" "${extra[@]}" --stream "$CLI_STREAM" --create --purge \
    --size "$SIZE" --msgs "$msgs" --no-progress --csv "$csv" >"$tmp/logs/nats-$mode-$round.log" 2>&1 || {
    fail "natscli $mode round $round" "$(lastlines "$tmp/logs/nats-$mode-$round.log")"
    return 1
  }
  awk -F, '/^#/ { for (i = 1; i <= NF; i++) { h = $i; sub(/^#/, "", h); c[h] = i }; next }
    NF > 3 { print $c["MsgsPerSec"], $c["P50LatencyMicroSecs"], $c["P99LatencyMicroSecs"]; exit }' "$csv"
}
nats_cmd() { # MODE
  local extra=""
  [ "$1" = async ] && extra=" --batch 500"
  echo "nats -s $NATS_URL bench js pub $1 $CLI_SUBJECT$extra --stream $CLI_STREAM --create --purge --size $SIZE --msgs $([ "$1" = sync ] && echo $NATS_SYNC_MSGS || echo $NATS_ASYNC_MSGS) --no-progress --csv F"
}

# The pgbench table has the columns, keys and indexes of drivers/postgres's
# events table (schema.go); positions and versions come from a sequence.
payload_hex=$(head -c "$SIZE" /dev/urandom | od -An -v -tx1 | tr -d ' \n')
cat >"$tmp/pgbench-insert.sql" <<EOF
\set key random(0, 9999)
INSERT INTO $PGB_SCHEMA.events (position, stream_id, stream_version, event_id, type, payload, seq, created_at_ns) SELECT p, 'order-' || :key, p, gen_random_uuid(), 'OrderPlaced', '\\x$payload_hex'::bytea, p, (extract(epoch FROM clock_timestamp()) * 1e9)::bigint FROM nextval('$PGB_SCHEMA.pos') AS p;
EOF
pg_ddl() {
  cat <<EOF
DROP SCHEMA IF EXISTS $PGB_SCHEMA CASCADE;
CREATE SCHEMA $PGB_SCHEMA;
CREATE SEQUENCE $PGB_SCHEMA.pos;
CREATE TABLE $PGB_SCHEMA.events (
	position       bigint PRIMARY KEY,
	stream_id      text NOT NULL,
	stream_version bigint NOT NULL,
	event_id       uuid NOT NULL UNIQUE,
	type           text NOT NULL,
	payload        bytea NOT NULL,
	seq            bigint NOT NULL,
	created_at_ns  bigint NOT NULL,
	recorded_at    timestamptz NOT NULL DEFAULT now(),
	UNIQUE (stream_id, stream_version)
);
EOF
}
pg_setup() {
  pg_ddl | PGOPTIONS='-c client_min_messages=warning' psql -h 127.0.0.1 -d test -XAtq -v ON_ERROR_STOP=1 >/dev/null
}
# pgbench_run CLIENTS ROUND: prints "tps p50_us p99_us"
pgbench_run() {
  local c=$1 round=$2 j=$(($1 < 2 ? 1 : 2)) log=$tmp/logs/pgbench-c$1-$2.log
  pg_setup || { fail "pgbench c$c round $round" "could not create schema $PGB_SCHEMA"; return 1; }
  PGOPTIONS='-c synchronous_commit=on' pgbench -h 127.0.0.1 -p 5432 -n -M prepared -f "$tmp/pgbench-insert.sql" \
    -c "$c" -j "$j" -T "$PEER_SECONDS" -l --log-prefix="$tmp/pgb/c$c-r$round" test >"$log" 2>&1 || {
    fail "pgbench c$c round $round" "$(lastlines "$log")"
    return 1
  }
  local tps
  tps=$(awk '/^tps = / { print $3; exit }' "$log")
  cat "$tmp/pgb/c$c-r$round".* | awk '{ print $3 }' | sort -n |
    awk -v tps="$tps" '{ v[NR] = $1 } END { if (NR == 0) exit 1; print tps, v[int(NR * 0.5) + (NR * 0.5 > int(NR * 0.5))], v[int(NR * 0.99) + (NR * 0.99 > int(NR * 0.99))] }'
}
pgbench_cmd() { echo "PGOPTIONS='-c synchronous_commit=on' pgbench -h 127.0.0.1 -n -M prepared -f insert.sql -c $1 -j $(($1 < 2 ? 1 : 2)) -T $PEER_SECONDS -l test"; }

# franzgo_run ROUND: prints "msgs_per_sec p50_us p99_us"
franzgo_run() {
  local log=$tmp/logs/franzgo-$1.log line
  "$tmp/franzgo" -duration "${PEER_SECONDS}s" -size "$SIZE" -window 1024 >"$log" 2>&1 || {
    fail "franzgo round $1" "$(lastlines "$log")"
    return 1
  }
  line=$(grep -m1 '^{' "$log")
  if [ "$JSON" = jq ]; then
    jq -r '"\(.msgs_per_sec) \(.p50_ms * 1000) \(.p99_ms * 1000)"' <<<"$line"
  else
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["msgs_per_sec"], r["p50_ms"]*1000, r["p99_ms"]*1000)' "$line"
  fi
}

# ---------- the sitting ----------
NATS_DSN="$NATS_URL?stream=$EVB_STREAM&subjects=$EVB_SUBJECTS"
PG_DSN1="$PG_URL?schema=$EVB_SCHEMA&pool=1$PG_DSN_EXTRA"
PG_DSN8="$PG_URL?schema=$EVB_SCHEMA&pool=8$PG_DSN_EXTRA"
declare -A P E T # peer figures, evbench figures, traces; key "<row>.<round>"

# Round 1 starts at a quarter of the peer's figure and doubles (halves on a
# failure); round 2 starts at round 1's result and moves by 10%.
start_rate() { # ROW ROUND PEER_FIGURE
  local prev=${E[$1.1]:-}
  if [ "$2" = 2 ] && [ -n "$prev" ] && [ "$(round3 "$prev")" -gt 0 ]; then echo "$prev"; else
    calc "${3:-1000} / 4"
  fi
}
do_search() { # ROW ROUND PEER PROJ DRIVER [DSN]
  local row=$1 round=$2 peer=$3 steps=$SEARCH_STEPS up=2 down=0.5
  if [ "$round" = 2 ] && [ -n "${E[$row.1]:-}" ]; then
    steps=$((SEARCH_STEPS > 1 ? SEARCH_STEPS - 1 : 1)) up=1.1 down=0.9
  fi
  search "$row" "$round" "$(start_rate "$row" "$round" "$peer")" "$up" "$down" "$steps" "$4" "$5" "${6:-}"
  if [ "$S_LO" -gt 0 ]; then E[$row.$round]=$S_LO; fi
  T[$row.$round]="$S_TRACE"
  [ -n "$S_SVC" ] && T[$row.$round.svc]="$S_SVC"
  return 0
}
split3() { # "a b c" -> sets A1 A2 A3
  read -r A1 A2 A3 <<<"$1"
}

for round in 1 2; do
  say "== round $round: NATS JetStream ($NATS_URL, $nats_sync)"
  say "  natscli bench js pub sync"
  if out=$(nats_bench sync "$round"); then
    split3 "$out"
    P[nats-sync.$round]=$A2 P[nats-sync-rate.$round]=$A1 P[nats-sync-p99.$round]=$A3
  fi
  for proj in 0 1; do
    say "  evbench nats sync latency, projectors $proj, $LAT_RATE/s"
    if out=$(evb_run "nats-lat-p$proj-r$round" "$LAT_RATE" "$LAT_SECONDS" "$proj" nats "$NATS_DSN"); then
      read -r ok ach late sched failed svc com _ <<<"$out"
      E[nats-sync-p$proj.$round]=$svc E[nats-sync-p$proj-commit.$round]=$com
      T[nats-sync-p$proj.$round]="$(fmt_int "$LAT_RATE")/s: achieved $(fmt_int "$ach"), late $late/$sched, service p50 $(fmt_us "$svc"), commit p50 $(fmt_us "$com")"
    fi
  done
  say "  natscli bench js pub async --batch 500"
  if out=$(nats_bench async "$round"); then
    split3 "$out"
    P[nats-async.$round]=$A1
  fi
  for proj in 0 1; do
    do_search "nats-async-p$proj" "$round" "${P[nats-async.$round]:-60000}" "$proj" nats "$NATS_DSN"
  done

  say "== round $round: PostgreSQL $pg_version (fsync/synchronous_commit $pg_sync)"
  for c in 1 8; do
    say "  pgbench -c $c"
    if out=$(pgbench_run "$c" "$round"); then
      split3 "$out"
      P[pg-c$c.$round]=$A1 P[pg-c$c-p50.$round]=$A2 P[pg-c$c-p99.$round]=$A3
    fi
  done
  say "  evbench postgres latency, pool=1, $PG_LAT_RATE/s"
  if out=$(evb_run "pg-lat-r$round" "$PG_LAT_RATE" "$LAT_SECONDS" 0 postgres "$PG_DSN1"); then
    read -r ok ach late sched failed svc com _ <<<"$out"
    E[pg-lat.$round]=$svc E[pg-lat-commit.$round]=$com
    T[pg-lat.$round]="$(fmt_int "$PG_LAT_RATE")/s: achieved $(fmt_int "$ach"), late $late/$sched, service p50 $(fmt_us "$svc"), commit p50 $(fmt_us "$com")"
  fi
  do_search pg-c1 "$round" "${P[pg-c1.$round]:-2000}" 0 postgres "$PG_DSN1"
  do_search pg-c8 "$round" "${P[pg-c8.$round]:-5000}" 0 postgres "$PG_DSN8"

  say "== round $round: Kafka protocol on in-process kfake (in memory)"
  say "  franzgo producer loop"
  if out=$(franzgo_run "$round"); then
    split3 "$out"
    P[kafka.$round]=$A1 P[kafka-p50.$round]=$A2 P[kafka-p99.$round]=$A3
  fi
  do_search kafka "$round" "${P[kafka.$round]:-100000}" 0 kafka
done

say "== fsync floor (same sitting): BenchmarkFsyncFloor, as scripts/compare-stores.sh"
floor_txt=""
if (cd drivers/refstore && "$tmp/refstore.test" -test.run '^$' -test.bench FsyncFloor -test.benchtime 2s) >"$tmp/logs/floor.log" 2>&1; then
  floor_txt=$(awk '/^BenchmarkFsyncFloor/ {
      n = $1; sub(/^BenchmarkFsyncFloor\//, "", n); sub(/-[0-9]+$/, "", n)
      for (i = 2; i < NF; i++) { if ($(i+1) == "µs/write") m = $i; if ($(i+1) == "p50-µs") p = $i; if ($(i+1) == "p99-µs") q = $i }
      printf "| 4 KiB O_DSYNC write, %s file | %s µs | %s µs | %s µs |\n", n, m, p, q }' "$tmp/logs/floor.log")
fi
[ -n "$floor_txt" ] || fail "fsync floor" "$(lastlines "$tmp/logs/floor.log")"

# ---------- docs/performance.md ----------
cell_pair() { # KEY FORMATTER: "r1 / r2"
  local a=${P[$1.1]:-} b=${P[$1.2]:-}
  echo "$([ -n "$a" ] && $2 "$a" || echo failed) / $([ -n "$b" ] && $2 "$b" || echo failed)"
}
ecell_pair() {
  local a=${E[$1.1]:-} b=${E[$1.2]:-}
  echo "$([ -n "$a" ] && $2 "$a" || echo none) / $([ -n "$b" ] && $2 "$b" || echo none)"
}
ratio() { # PEER_KEY EVB_KEY: mean(evbench)/mean(peer), over the rounds where both ran
  local p=() e=() r
  for r in 1 2; do
    if [ -n "${P[$1.$r]:-}" ] && [ -n "${E[$2.$r]:-}" ]; then p+=("${P[$1.$r]}") e+=("${E[$2.$r]}"); fi
  done
  if [ "${#p[@]}" -eq 0 ]; then echo "n/a"; return; fi
  awk -v p="$(mean2 "${p[@]}")" -v e="$(mean2 "${e[@]}")" 'BEGIN { if (p > 0) printf "%.2f", e / p; else printf "n/a" }'
  [ "${#p[@]}" -eq 2 ] || echo " (one round)"
}
rate_fmt() { echo "$(fmt_int "$1")/s"; }
BEHIND=()
row() { # KIND(throughput|latency) TITLE PEER_CMD EVB_CMD PEER_CELL EVB_CELL RATIO
  local better=higher
  [ "$1" = latency ] && better=lower
  printf '| %s | %s | %s | %s | %s | **%s** | %s |\n' "$2" "$3" "$4" "$5" "$6" "$7" "$better"
  if [ "$7" != n/a ] && awk -v r="${7%% *}" -v k="$1" 'BEGIN { exit !((k == "throughput" && r < 1) || (k == "latency" && r > 1)) }'; then
    BEHIND+=("$2: $7")
  fi
}
evb_cmd() { # DRIVER DSN PROJ RATE SECONDS
  echo "evbench run burst --driver $1${2:+ --dsn '$2' --reset} --set load.start=$4 --set load.duration=$5s --set consumers.projectors=$3 \$COMMON"
}

kept_begin='<!-- BEGIN ratios-below-1: kept by scripts/bench-peers.sh, edit freely -->'
kept_end='<!-- END ratios-below-1 -->'
kept=""
if [ -f "$OUT_DOC" ] && grep -qF "$kept_begin" "$OUT_DOC"; then
  kept=$(awk -v b="$kept_begin" -v e="$kept_end" '$0 == e { p = 0 } p { print } $0 == b { p = 1 }' "$OUT_DOC")
fi
if [ -z "$(tr -d '[:space:]' <<<"$kept")" ]; then
  kept="_To be filled in by the lead: for each row listed above as behind, the profile (\`--cpuprofile\` / pprof of
the evbench run at its highest sustained rate) and what limits evbench there._"
fi

rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$rev" != unknown ] && ! git diff-index --quiet HEAD -- 2>/dev/null; then rev="$rev + uncommitted changes"; fi
elapsed=$(($(date +%s) - t0))
new=$tmp/performance.md
pg_sql_doc=$(sed -E "s/'\\\\x[0-9a-f]+'/'\\\\x<$SIZE random bytes as hex>'/" "$tmp/pgbench-insert.sql")
{
  cat <<EOF
# Performance: evbench against each store's own benchmark tool

Generated by \`make bench-peers\` (scripts/bench-peers.sh) on **$(date -u '+%Y-%m-%d %H:%M UTC')**, one sitting
of $((elapsed / 60)) min $((elapsed % 60)) s on $(hostname) ($(nproc) cores, $(uname -sr), $(go env GOVERSION)), evbench $rev.
Load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end.
Do not edit the generated parts by hand: re-run the script. The section "Ratios below 1.0" at the end is kept.

Every comparison ran peer, evbench, peer, evbench; cells give round 1 / round 2 and the ratio is
mean(evbench) / mean(peer). Messages are $SIZE B. Servers: nats-server $nats_version at 127.0.0.1:4222
(JetStream file storage, sync setting $nats_sync), PostgreSQL $pg_version at 127.0.0.1:5432
(fsync/synchronous_commit: $pg_sync), Kafka protocol on franz-go's **kfake** in-process (3 brokers, in memory).
evbench payloads: $( [ "$payload_mode" = random ] && echo "\`events.payload: random\` ($SIZE random bytes)" || echo "JSON envelopes of $SIZE B total (\`events.size\`, random content; envelopes have a size floor, see docs/scenarios.md): \`events.payload: random\` (exact random bytes) was not accepted by \`evbench validate\` at this revision").

\`\$COMMON\` below is: \`$COMMON_TXT\`

| comparison | peer command | evbench command | peer | evbench | evbench/peer | better |
|---|---|---|---|---|---|---|
EOF
  row latency "NATS sync publish p50 (projectors 0)" "\`$(nats_cmd sync)\`" "\`$(evb_cmd nats "$NATS_DSN" 0 "$LAT_RATE" "$LAT_SECONDS")\`" \
    "p50 $(cell_pair nats-sync fmt_us) at $(cell_pair nats-sync-rate rate_fmt)" \
    "service p50 $(ecell_pair nats-sync-p0 fmt_us) (commit p50 $(ecell_pair nats-sync-p0-commit fmt_us))" "$(ratio nats-sync nats-sync-p0)"
  row latency "NATS sync publish p50 (projectors 1)" "as above" "\`$(evb_cmd nats "$NATS_DSN" 1 "$LAT_RATE" "$LAT_SECONDS")\`" \
    "as above" "service p50 $(ecell_pair nats-sync-p1 fmt_us) (commit p50 $(ecell_pair nats-sync-p1-commit fmt_us))" "$(ratio nats-sync nats-sync-p1)"
  row throughput "NATS async publish rate (projectors 0)" "\`$(nats_cmd async)\`" "\`$(evb_cmd nats "$NATS_DSN" 0 R "$STEP_SECONDS")\`" \
    "$(cell_pair nats-async rate_fmt) (peak)" "$(ecell_pair nats-async-p0 rate_fmt) (sustained)" "$(ratio nats-async nats-async-p0)"
  row throughput "NATS async publish rate (projectors 1)" "as above" "\`$(evb_cmd nats "$NATS_DSN" 1 R "$STEP_SECONDS")\`" \
    "as above" "$(ecell_pair nats-async-p1 rate_fmt) (sustained)" "$(ratio nats-async nats-async-p1)"
  row throughput "Postgres insert rate, 1 connection" "\`$(pgbench_cmd 1)\`" "\`$(evb_cmd postgres "$PG_DSN1" 0 R "$STEP_SECONDS")\`" \
    "$(cell_pair pg-c1 rate_fmt) (peak)" "$(ecell_pair pg-c1 rate_fmt) (sustained)" "$(ratio pg-c1 pg-c1)"
  row throughput "Postgres insert rate, 8 connections" "\`$(pgbench_cmd 8)\`" "\`$(evb_cmd postgres "$PG_DSN8" 0 R "$STEP_SECONDS")\`" \
    "$(cell_pair pg-c8 rate_fmt) (peak)" "$(ecell_pair pg-c8 rate_fmt) (sustained)" "$(ratio pg-c8 pg-c8)"
  row latency "Postgres single insert p50, 1 connection" "as 1 connection above" "\`$(evb_cmd postgres "$PG_DSN1" 0 "$PG_LAT_RATE" "$LAT_SECONDS")\`" \
    "p50 $(cell_pair pg-c1-p50 fmt_us) (p99 $(cell_pair pg-c1-p99 fmt_us))" \
    "service p50 $(ecell_pair pg-lat fmt_us) (commit p50 $(ecell_pair pg-lat-commit fmt_us))" "$(ratio pg-c1-p50 pg-lat)"
  row throughput "Kafka produce rate, kfake in memory (projectors 0)" "\`franzgo -duration ${PEER_SECONDS}s -size $SIZE -window 1024\` (scripts/peers/franzgo)" \
    "\`$(evb_cmd kafka "" 0 R "$STEP_SECONDS")\`" \
    "$(cell_pair kafka rate_fmt) (peak; p50 $(cell_pair kafka-p50 fmt_us), p99 $(cell_pair kafka-p99 fmt_us))" \
    "$(ecell_pair kafka rate_fmt) (sustained)" "$(ratio kafka kafka)"
  cat <<EOF

R is the offered rate of each search step (see the steps below). "none" means no offered rate was
sustained in that round; "failed" means the tool did not run (see the script's stderr); "(one round)"
marks a ratio over the one round where both sides have a figure.

pgbench's \`insert.sql\` (the payload literal is $SIZE random bytes in the script's copy) and its table,
created fresh before every pgbench run:

\`\`\`sql
-- table
$(pg_ddl)
-- insert.sql
$pg_sql_doc
\`\`\`

### Fsync floor (same sitting)

\`go test ./drivers/refstore -run '^\$' -bench FsyncFloor -benchtime 2s\` (the benchmark scripts/compare-stores.sh runs),
data on $(df -P "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $1 " (" $6 ")" }'):

| write | mean | p50 | p99 |
|---|---|---|---|
${floor_txt:-| not measured (the benchmark failed) | | | |}

A durable append can not be acknowledged faster than one such write unless it shares the flush
with others (group commit); neither the machine's NATS (default sync) nor kfake waits for it.

### evbench rate-search steps

Offered rate, whether it was sustained, achieved rate, late/scheduled events (and how many waited for
a full in-flight window, i.e. store backpressure rather than the generator), in order. Round 1
starts at a quarter of the peer's figure, doubles until a rate fails (halves while nothing held), then
bisects; round 2 starts at round 1's result and moves by 10%; at most $SEARCH_STEPS steps of ${STEP_SECONDS} s.

EOF
  for k in nats-async-p0 nats-async-p1 pg-c1 pg-c8 kafka; do
    for round in 1 2; do echo "- $k round $round: ${T[$k.$round]:-not run}"; done
  done
  for k in nats-sync-p0 nats-sync-p1 pg-lat; do
    for round in 1 2; do echo "- $k latency run, round $round: ${T[$k.$round]:-not run}"; done
  done
  cat <<EOF

## How to read this

- **Open-loop sustainable rate vs closed-loop peak.** The peers are closed loops: natscli keeps 500
  publishes in flight (async) or one (sync), pgbench runs N clients each sending the next insert when
  the previous one committed, franzgo keeps 1,024 records in flight. They report the peak the store
  gives such a client. evbench offers a constant rate on a fixed schedule whatever the store does
  (at most \`load.max_in_flight\` = 1,024 appends in flight), and its figure is the highest offered rate
  it **sustained**: achieved within 1% of offered, at most $(awk -v f="$LATE_MAX" 'BEGIN { printf "%g", f * 100 }')% of events sent more than 5 ms late,
  no failed append, over ${STEP_SECONDS} s. A sustainable rate is below the peak by construction (at the
  peak, queues grow), so a ratio somewhat below 1.0 on throughput rows is expected; a large gap is
  evbench's own cost.
- **Latency rows.** Peer latency is the closed-loop round trip of one publish/insert. evbench's
  *service time* (actual send → ack) is the same quantity at a low offered rate; its *commit latency*
  (scheduled time → ack) adds the generator's own send delay (scheduled → actual send). The
  ratio uses service time; higher is worse. At $(fmt_int "$LAT_RATE")/s evbench's client and the server go idle between
  appends and pay a wake-up each time, while a closed loop keeps both hot: part of the gap is that,
  not evbench's code (natscli's \`--throughput\` at the same rate would show how much).
- **NATS sync mode.** The machine's nats-server JetStream sync setting is $nats_sync.
  Both tools publish to the same server in the same mode, so the comparison is fair, but with the
  default neither figure is a durable-write figure (compare the fsync floor).
- **Postgres.** Both sides commit every transaction with synchronous_commit=on. pgbench inserts one row
  per transaction into a table shaped like the driver's (same columns, primary key, unique event_id,
  unique (stream_id, stream_version)). The evbench driver also locks and moves a head-row counter and
  sends a NOTIFY in the same transaction, and by default (group_commit=on) queues concurrent appends
  into one transaction: pool=N is its connection count, not N independent committers.
  PG_DSN_EXTRA='&group_commit=off' measures one transaction per append instead.
- **Kafka is kfake.** franz-go's kfake is an in-memory, protocol-faithful test broker running in the
  same process as the client (both for franzgo and for evbench's embedded kafka driver): these rows
  measure the Kafka client path and evbench's overhead on a 2-core machine, **not a Kafka broker**,
  and nothing is durable.
- The machine is shared and has 2 cores: client, server and (projectors 1) consumer compete for them.
  Compare ratios within one sitting, not absolute figures across days.

EOF
  if [ "${#BEHIND[@]}" -gt 0 ]; then
    echo "Rows where evbench is behind its peer in this sitting (throughput below 1.0, latency above 1.0):"
    echo
    for b in "${BEHIND[@]}"; do echo "- $b"; done
  else
    echo "No row has evbench behind its peer in this sitting."
  fi
  cat <<EOF

## Ratios below 1.0

$kept_begin
$kept
$kept_end
EOF
} >"$new"
mkdir -p "$(dirname "$OUT_DOC")"
cp "$new" "$OUT_DOC"
say "wrote $OUT_DOC"
sed -n '/^| comparison/,/^$/p' "$OUT_DOC" >&2
if [ -s "$tmp/failed" ]; then
  echo "bench-peers: $(wc -l <"$tmp/failed") step(s) failed: $(paste -sd, "$tmp/failed")" >&2
  exit 1
fi
