#!/usr/bin/env bash
# Load benchmark of a generated service against the ceiling of its framework.
#
#   bash bench/load.sh      # DURATION=5 ROUNDS=3 CONNECTIONS=64 THREADS=1 FEATURES=... to change
#
# Generates a project (generic OIDC, SQLite, the default features: headers,
# rate-limit, cors, audit-log, encryption) and builds it in release mode, and
# with the same release profile a bare axum 0.8 "hello" (bench/hello:
# the router and one route, nothing else; its own Cargo.lock, built --locked).
# Both are built as the generated Dockerfile builds the image (its RUSTFLAGS).
# It starts the service against the test OpenID provider (tests/oidc-provider,
# a real provider on loopback issuing RS256 JWTs by client credentials), seeds
# 20 items with (encrypted) notes and drives, with `wrk` on loopback and an
# `Origin` header on every request, as a browser on an allowed origin sends:
#   - GET /                     on the bare axum: the ceiling
#   - GET /health/live          no authentication (every always-on layer)
#   - GET /api/me               bearer token (cached verification), per-IP and
#                               per-subject limits, every layer, no database
#   - GET /api/items?limit=20   the same plus the database: a page of 20
#                               items, their notes decrypted
# Each round drives the four in turn; the table shows each route's median
# round, its share of the ceiling's median, the server's CPU time per request,
# the release binary's size and the service's idle memory (RSS). See
# bench/README.md for what the numbers mean and what they were.
#
# wrk runs on the same machine and takes one of its cores: compare shares of
# the ceiling between runs, not absolute numbers. For a load-independent
# measure (instructions per request, per layer), see bench/profile.sh.
# SKIP_BUILD=1 reuses the binaries built by the last run; SERVICE_BIN=path
# drives another build of the service, SERVICE_ENV="VAR=value ..." adds to
# its environment (both for comparing prototypes).
set -euo pipefail
source "$(dirname "$0")/common.sh"

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}

need_tools
[ -n "${SKIP_BUILD:-}" ] || build_all
trap cleanup EXIT
start_idp
start_service
seed_items
(cd "$WORK" && exec env -i BIND_ADDR="127.0.0.1:$HELLO_PORT" "$HELLO_BIN") &
HELLO_PID=$!
for _ in $(seq 50); do
  curl -sf -o /dev/null "127.0.0.1:$HELLO_PORT/" && break
  sleep 0.1
done
curl -sf -o /dev/null "127.0.0.1:$HELLO_PORT/" || die "the bare axum service did not start"

sleep 1
IDLE_RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$SERVICE_PID/status")
BINARY_BYTES=$(stat -c %s "$SERVICE_BIN")
HELLO_BYTES=$(stat -c %s "$HELLO_BIN")

# --- load ----------------------------------------------------------------------
NAMES=(hello live me items)
declare -A URL=(
  [hello]="http://127.0.0.1:$HELLO_PORT/"
  [live]="http://127.0.0.1:$PORT/health/live"
  [me]="http://127.0.0.1:$PORT/api/me"
  [items]="http://127.0.0.1:$PORT/api/items?limit=$SEED_ITEMS"
)
declare -A LABEL=(
  [hello]="bare axum GET / (the ceiling)"
  [live]="GET /health/live (no auth)"
  [me]="GET /api/me (token, all)"
  [items]="GET /api/items (+ database)"
)
declare -A AUTH=([hello]=no [live]=no [me]=yes [items]=yes)
declare -A RESULTS # name -> "rps p50 p99 errors" lines, one per round

# CPU time (user + system) that process $1 has used, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Prints "rps p50 p99 non-2xx cpu-µs/request" for one wrk run of route $1.
# The CPU time per request is the server process's own (user + system, from
# /proc): it depends much less on the machine's load than requests/s do.
run() {
  local name=$1 out pid before after
  local headers=(-H "Origin: $ORIGIN")
  [ "${AUTH[$name]}" = yes ] && headers+=(-H "Authorization: Bearer $TOKEN")
  pid=$SERVICE_PID
  [ "$name" = hello ] && pid=$HELLO_PID
  before=$(cpu_ticks "$pid")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${headers[@]}" "${URL[$name]}")
  after=$(cpu_ticks "$pid")
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    / requests in / { requests = $1 }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = $2 }
    $1 == "99%" { p99 = $2 }
    /Non-2xx or 3xx responses:/ { errors = $5 }
    /Socket errors:/ { errors += $4 + $6 + $8 + $10 }
    END { printf "%s %s %s %d %.1f\n", rps, p50, p99, errors, 1e6 * ticks / hz / requests }' <<<"$out"
}

LOAD_BEFORE=$(uptime)
for round in $(seq "$ROUNDS"); do
  for name in "${NAMES[@]}"; do
    say "round $round/$ROUNDS: ${LABEL[$name]} for ${DURATION}s"
    RESULTS[$name]+="$(run "$name")"$'\n'
  done
done
LOAD_AFTER=$(uptime)

# A route's median round (by requests/s) as "rps p50 p99 non-2xx cpu", with
# the non-2xx of every round added up and the lowest CPU time per request of
# any round (the least disturbed one).
median() {
  local lines errors cpu
  lines=$(printf '%s' "${RESULTS[$1]}" | sort -g -k1,1)
  errors=$(awk '{ sum += $4 } END { print sum + 0 }' <<<"$lines")
  cpu=$(sort -g -k5,5 <<<"$lines" | awk 'NR == 1 { print $5 }')
  awk -v n="$(wc -l <<<"$lines")" -v e="$errors" -v c="$cpu" \
    'NR == int((n + 1) / 2) { print $1, $2, $3, e, c }' <<<"$lines"
}
declare -A RPS P50 P99 ERR CPU ALL
for name in "${NAMES[@]}"; do
  read -r "RPS[$name]" "P50[$name]" "P99[$name]" "ERR[$name]" "CPU[$name]" < <(median "$name")
  ALL[$name]=$(printf '%s' "${RESULTS[$name]}" | awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 }')
done
share() { awk -v a="$1" -v b="${RPS[hello]}" 'BEGIN { printf "%.3f", a / b }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
row() { printf '| %-31s | %10s | %8s | %8s | %6s | %10s | %7s | %s\n' "$@"; }

printf '\nnestflux load benchmark: %s (idp oidc, sqlite), wrk -t%s -c%s, %s round(s) of %ss per route, loopback, %s cores\n' \
  "$FEATURES" "$THREADS" "$CONNECTIONS" "$ROUNDS" "$DURATION" "$(nproc)"
printf 'every request sends Origin: %s (allowed); rate limits raised (1000000/s, burst 1000000), the limiter still runs; logs at warn\n' "$ORIGIN"
printf 'load before: %s\nload after:  %s\n\n' "${LOAD_BEFORE##*load }" "${LOAD_AFTER##*load }"
row route 'requests/s' p50 p99 share 'CPU µs/req' 'non-2xx' 'every round (req/s)'
row "$(printf -- '-%.0s' {1..31})" ---------- -------- -------- ------ ---------- ------- -------------------
for name in "${NAMES[@]}"; do
  row "${LABEL[$name]}" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "$(share "${RPS[$name]}")" \
    "${CPU[$name]}" "${ERR[$name]}" "${ALL[$name]}"
done
printf '\nshare: of the ceiling'\''s requests/s (median rounds); CPU µs/req: the server process'\''s CPU time per request (lowest round)\n'
printf 'release binary, built as the generated Dockerfile builds it: %s (bare axum: %s)\n' "$(mib "$BINARY_BYTES")" "$(mib "$HELLO_BYTES")"
printf 'idle memory (RSS) after start and seeding: %s\n' "$(mib $((IDLE_RSS_KB * 1024)))"
for name in "${NAMES[@]}"; do
  [ "${ERR[$name]}" = 0 ] || die "some responses of ${LABEL[$name]} were not 2xx (or the socket failed)"
done
