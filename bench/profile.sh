#!/usr/bin/env bash
# Where the time of a request goes, independently of the machine's load: the
# instructions the generated service executes per request, per route, counted
# by valgrind's callgrind (a simulated CPU: other processes do not change the
# count), next to the bare axum "hello" (bench/hello) as the ceiling.
#
#   bash bench/profile.sh         # REQUESTS=2000 CONNECTIONS=8 to change
#
# Same service, token, seeded items and Origin header as bench/load.sh. Each
# route is warmed up, then instrumented for exactly $REQUESTS requests (curl
# over $CONNECTIONS reused connections) and dumped to
# target/bench/callgrind/<route>.out. The table gives instructions per request
# (Ir: user-space only; syscalls such as getrandom or the socket writes count
# as one instruction each, so they are invisible here: compare with load.sh).
#
# Inspect a dump per function, costs including callees:
#   callgrind_annotate --inclusive=yes target/bench/callgrind/me.out | less
# SERVICE_BIN=path profiles another build of the service (a prototype);
# SERVICE_ENV="VAR=value ..." adds variables to its environment; SKIP_BUILD=1
# uses the binaries already built; PROFILE_HELLO=0 leaves out the ceiling.
set -euo pipefail
source "$(dirname "$0")/common.sh"

REQUESTS=${REQUESTS:-2000}
CONNECTIONS=${CONNECTIONS:-8}
WARMUP=${WARMUP:-300}
OUT="$WORK/callgrind"

command -v valgrind >/dev/null || apt_install valgrind
need_tools
if [ -z "${SKIP_BUILD:-}" ]; then build_all; fi
trap cleanup EXIT
rm -rf "$OUT"
mkdir -p "$OUT"

# Sends exactly $1 requests to URL $2 over $CONNECTIONS connections (curl
# reuses them), the remaining arguments being headers; fails on any non-2xx.
drive() {
  local count=$1 url=$2 header
  shift 2
  {
    for header in "$@"; do printf 'header = "%s"\n' "$header"; done
    for _ in $(seq "$count"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url"; done
  } >"$OUT/requests.curl"
  local codes
  codes=$(curl -s --no-progress-meter --parallel --parallel-max "$CONNECTIONS" \
    -w '%{http_code}\n' -K "$OUT/requests.curl" | sort | uniq -c)
  [ "$(awk '$2 !~ /^2/' <<<"$codes")" = "" ] || die "non-2xx responses from $url: $codes"
}

# Instructions of route $2 (URL $3, headers after) in the callgrind process
# $1, over $REQUESTS requests after $WARMUP uninstrumented ones; prints "Ir requests".
measure() {
  local pid=$1 name=$2 url=$3
  shift 3
  drive "$WARMUP" "$url" "$@"
  callgrind_control --zero "$pid" >/dev/null 2>&1
  callgrind_control --instr=on "$pid" >/dev/null 2>&1
  drive "$REQUESTS" "$url" "$@"
  callgrind_control --instr=off "$pid" >/dev/null 2>&1
  callgrind_control --dump="$name" "$pid" >/dev/null 2>&1
  # The dump is written by the process; wait for it.
  local file
  for _ in $(seq 100); do
    file=$(grep -l "^desc: Trigger: .*dump $name\$" "$OUT"/cg.out.* 2>/dev/null | head -1 || true)
    [ -n "$file" ] && break
    sleep 0.1
  done
  [ -n "$file" ] || die "no callgrind dump for $name"
  mv "$file" "$OUT/$name.out"
  echo "$(awk '/^totals:/ { print $2; exit }' "$OUT/$name.out") $REQUESTS"
}

CALLGRIND=(valgrind --tool=callgrind --instr-atstart=no --collect-jumps=no
  --callgrind-out-file="$OUT/cg.out.%p" --quiet)

start_idp
say "starting the service under callgrind (slow)"
READY_TRIES=1200 start_service "${CALLGRIND[@]}"
seed_items
declare -A IR
say "instrumenting GET /health/live"
IR[live]=$(measure "$SERVICE_PID" live "http://127.0.0.1:$PORT/health/live" "Origin: $ORIGIN")
say "instrumenting GET /api/me"
IR[me]=$(measure "$SERVICE_PID" me "http://127.0.0.1:$PORT/api/me" "Origin: $ORIGIN" \
  "Authorization: Bearer $TOKEN")
say "instrumenting GET /api/items?limit=$SEED_ITEMS"
IR[items]=$(measure "$SERVICE_PID" items "http://127.0.0.1:$PORT/api/items?limit=$SEED_ITEMS" \
  "Origin: $ORIGIN" "Authorization: Bearer $TOKEN")
kill "$SERVICE_PID"
wait "$SERVICE_PID" 2>/dev/null || true
SERVICE_PID=

if [ "${PROFILE_HELLO:-1}" = 1 ]; then
  say "instrumenting the bare axum GET /"
  (cd "$WORK" && exec env -i BIND_ADDR="127.0.0.1:$HELLO_PORT" "${CALLGRIND[@]}" "$HELLO_BIN") &
  HELLO_PID=$!
  for _ in $(seq 300); do
    curl -sf -o /dev/null "127.0.0.1:$HELLO_PORT/" && break
    sleep 0.1
  done
  IR[hello]=$(measure "$HELLO_PID" hello "http://127.0.0.1:$HELLO_PORT/" "Origin: $ORIGIN")
fi

per_request() { awk -v ir="${1% *}" -v n="${1#* }" 'BEGIN { printf "%.0f", ir / n }'; }
HELLO_IR=$(per_request "${IR[hello]:-1 1}")
printf '\ninstructions per request (callgrind, user space), %s connections, %s requests per route after %s to warm up\n\n' \
  "$CONNECTIONS" "$REQUESTS" "$WARMUP"
printf '| %-31s | %12s | %14s |\n' route 'Ir/request' 'x bare axum'
printf '| %-31s | %12s | %14s |\n' ------------------------------- ------------ --------------
for name in hello live me items; do
  [ -n "${IR[$name]:-}" ] || continue
  ir=$(per_request "${IR[$name]}")
  printf '| %-31s | %12s | %14s |\n' "$name" "$ir" "$(awk -v a="$ir" -v b="$HELLO_IR" 'BEGIN { printf "%.2f", a / b }')"
done
printf '\ndumps: %s/<route>.out (callgrind_annotate --inclusive=yes FILE)\n' "$OUT"
