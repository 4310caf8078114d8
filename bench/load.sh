#!/usr/bin/env bash
# Load benchmark of a generated service: what the security stack costs.
#
#   bash bench/load.sh            # DURATION=10 CONNECTIONS=32 THREADS=1 FEATURES=... to change
#
# Generates a project (generic OIDC, the default features: headers, rate-limit,
# cors, audit-log, encryption), builds it in release mode, starts it against
# the test OpenID provider (tests/oidc-provider, a real provider on loopback
# issuing JWTs by client credentials), and drives it with `wrk` on loopback:
#   - GET /health/live  : no authentication (still every layer before routing)
#   - GET /api/me       : bearer token verified, rate limited per IP and per
#                         subject, every layer, no database: the security stack
#   - GET /api/items    : the same plus a database query (count and page)
# It prints requests per second, p50/p99 latency, the secured/unsecured ratio
# from the same run, the release binary's size and its idle memory (RSS).
#
# The rate limits are raised through the environment (RATE_LIMIT_PER_SECOND,
# RATE_LIMIT_BURST) so the run measures the stack, not 429s; the limiter still
# runs on every request. Request logs are off (RUST_LOG=warn): one log line per
# request would measure the terminal or the log pipeline. wrk runs on the same
# machine, so both share its cores: compare the ratio, not absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
FEATURES=${FEATURES:-headers,rate-limit,cors,audit-log,encryption}
WORK=${BENCH_DIR:-$ROOT/target/bench}
PORT=${BENCH_PORT:-18080}
# Resource indicators (RFC 8707) take absolute URIs.
AUDIENCE=urn:nestflux:bench

say() { printf 'bench: %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  say "installing wrk (apt)"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null
fi
command -v node >/dev/null || { echo "error: node is needed for the test OpenID provider" >&2; exit 1; }
[ -d tests/oidc-provider/node_modules ] ||
  npm ci --prefix tests/oidc-provider --no-audit --no-fund --loglevel=error

# --- generate and build ------------------------------------------------------
say "building nestflux and generating the service (features: $FEATURES)"
cargo build --release --locked -q
rm -rf "$WORK/svc" "$WORK/data"
mkdir -p "$WORK/data"
"$ROOT/target/release/nestflux" new "$WORK/svc" --name bench-svc --idp oidc --db sqlite \
  --features "$FEATURES" --yes --quiet
say "building the service in release mode (the first run compiles its dependencies)"
started=$(date +%s)
(cd "$WORK/svc" && CARGO_TARGET_DIR="$WORK/target" cargo build --release -q)
say "release build: $(( $(date +%s) - started ))s"
BINARY="$WORK/target/release/bench-svc"

# --- identity provider -------------------------------------------------------
coproc IDP { exec node "$ROOT/tests/oidc-provider/provider.mjs" --audience "$AUDIENCE" --roles admin --ttl 3600; }
IDP_IN=${IDP[1]}
read -r line <&"${IDP[0]}"
ISSUER=$(sed -E 's/.*"issuer": *"([^"]+)".*/\1/' <<<"$line")
SERVICE_PID=
cleanup() {
  [ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null || true
  exec {IDP_IN}>&- 2>/dev/null || true   # the provider stops when its stdin closes
}
trap cleanup EXIT

TOKEN=$(curl -sf -u service:service-secret -d grant_type=client_credentials \
  -d resource="$AUDIENCE" --data-urlencode "scope=items:read items:write" "$ISSUER/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
[ -n "$TOKEN" ] || { echo "error: no token from the provider" >&2; exit 1; }

# --- the service ---------------------------------------------------------------
(cd "$WORK" && exec env -i PATH="$PATH" APP_ENV=development BIND_ADDR="127.0.0.1:$PORT" \
  DATABASE_URL="sqlite://$WORK/data/app.db?mode=rwc" AUTH_ISSUER_URL="$ISSUER" \
  AUTH_AUDIENCE="$AUDIENCE" AUTH_ROLES_CLAIM=roles RUST_LOG=warn \
  RATE_LIMIT_PER_SECOND=1000000 RATE_LIMIT_BURST=1000000 "$BINARY") &
SERVICE_PID=$!
for _ in $(seq 100); do
  curl -sf -o /dev/null "127.0.0.1:$PORT/health/ready" && break
  sleep 0.1
done
curl -sf -o /dev/null "127.0.0.1:$PORT/health/ready" || { echo "error: the service did not become ready" >&2; exit 1; }
# One item, so that the list is not empty.
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"bench","notes":null}' "127.0.0.1:$PORT/api/items"
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "127.0.0.1:$PORT/api/items" ||
  { echo "error: GET /api/items with the token failed" >&2; exit 1; }
sleep 1
IDLE_RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$SERVICE_PID/status")
BINARY_BYTES=$(stat -c %s "$BINARY")

# --- load ----------------------------------------------------------------------
# Prints "rps p50 p99 errors" for one wrk run.
run() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@")
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  echo "$rps $p50 $p99 ${errors:-0}"
}
say "GET /health/live for ${DURATION}s"
read -r live_rps live_p50 live_p99 live_err < <(run "http://127.0.0.1:$PORT/health/live")
say "GET /api/me for ${DURATION}s"
read -r me_rps me_p50 me_p99 me_err < <(run -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/me")
say "GET /api/items for ${DURATION}s"
read -r api_rps api_p50 api_p99 api_err < <(run -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/items")

ratio() { awk -v a="$1" -v b="$live_rps" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
cat <<TABLE

nestflux load benchmark: $FEATURES (idp oidc, sqlite), wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on loopback, $(nproc) cores
rate limits raised for the run (RATE_LIMIT_PER_SECOND=RATE_LIMIT_BURST=1000000); request logs off (RUST_LOG=warn)

| route                       | requests/s | p50      | p99      | non-2xx |
| --------------------------- | ---------- | -------- | -------- | ------- |
| GET /health/live (no auth)  | $(printf '%-10s' "$live_rps") | $(printf '%-8s' "$live_p50") | $(printf '%-8s' "$live_p99") | $(printf '%-7s' "$live_err") |
| GET /api/me (token, all)    | $(printf '%-10s' "$me_rps") | $(printf '%-8s' "$me_p50") | $(printf '%-8s' "$me_p99") | $(printf '%-7s' "$me_err") |
| GET /api/items (+ database) | $(printf '%-10s' "$api_rps") | $(printf '%-8s' "$api_p50") | $(printf '%-8s' "$api_p99") | $(printf '%-7s' "$api_err") |

secured / unsecured throughput: $(ratio "$me_rps") for /api/me (target: at least 60%), $(ratio "$api_rps") for /api/items (the query included)
release binary: $(awk -v b="$BINARY_BYTES" 'BEGIN { printf "%.1f MiB", b / 1048576 }')
idle memory (RSS): $(awk -v k="$IDLE_RSS_KB" 'BEGIN { printf "%.1f MiB", k / 1024 }')
TABLE
if [ "$live_err" != 0 ] || [ "$me_err" != 0 ] || [ "$api_err" != 0 ]; then
  echo "error: some responses were not 2xx" >&2
  exit 1
fi
