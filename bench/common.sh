# Shared by bench/load.sh and bench/profile.sh (sourced, not run): tools,
# building the generated service and the bare axum ceiling, the test OpenID
# provider, starting the service and seeding it.
#
# Variables the callers may set: FEATURES, BENCH_DIR, BENCH_PORT, HELLO_PORT.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FEATURES=${FEATURES:-headers,rate-limit,cors,audit-log,encryption}
WORK=${BENCH_DIR:-$ROOT/target/bench}
PORT=${BENCH_PORT:-18080}
HELLO_PORT=${HELLO_PORT:-18081}
# Resource indicators (RFC 8707) take absolute URIs.
AUDIENCE=urn:nestflux:bench
# What a browser sends on every request of a page on another origin; the
# service lists it in CORS_ALLOWED_ORIGINS, so the CORS layer does its full work.
ORIGIN=https://app.example.com
# The list route's page: 20 items, each with notes (encrypted at rest).
SEED_ITEMS=20
# Shared by the service and the ceiling, so their dependencies build once.
TARGET="$WORK/target"
SERVICE_BIN=$(realpath -m "${SERVICE_BIN:-$TARGET/release/bench-svc}")
HELLO_BIN="$TARGET/release/bench-hello"

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# apt-get installs of the tools a run needs ($@: Debian package names).
apt_install() {
  local sudo
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  say "installing $* (apt)"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null
}

need_tools() {
  command -v wrk >/dev/null || apt_install wrk
  command -v curl >/dev/null || apt_install curl
  command -v node >/dev/null || die "node is needed for the test OpenID provider"
  [ -d "$ROOT/tests/oidc-provider/node_modules" ] ||
    npm ci --prefix "$ROOT/tests/oidc-provider" --no-audit --no-fund --loglevel=error
}

# Generates the service (generic OIDC, SQLite, $FEATURES) and builds it and the
# bare axum "hello" (bench/hello, its own Cargo.lock) with the release profile.
build_all() {
  say "building nestflux and generating the service (features: $FEATURES)"
  (cd "$ROOT" && cargo build --locked -q)
  rm -rf "$WORK/svc"
  mkdir -p "$WORK"
  "$ROOT/target/debug/nestflux" new "$WORK/svc" --name bench-svc --idp oidc --db sqlite \
    --features "$FEATURES" --yes --quiet
  # Built as the generated Dockerfile builds the image's binary (its RUSTFLAGS:
  # packed relocations), the ceiling likewise, so both are what would ship.
  local rustflags
  rustflags=$(sed -n 's/^ARG RUSTFLAGS="\(.*\)"$/\1/p' "$WORK/svc/Dockerfile")
  [ -n "$rustflags" ] || die "no ARG RUSTFLAGS in the generated Dockerfile"
  say "building the service and the bare axum ceiling in release mode, RUSTFLAGS=\"$rustflags\" (the first run compiles their dependencies)"
  local started
  started=$(date +%s)
  (cd "$WORK/svc" && RUSTFLAGS="$rustflags" CARGO_TARGET_DIR="$TARGET" cargo build --release -q)
  RUSTFLAGS="$rustflags" CARGO_TARGET_DIR="$TARGET" cargo build --release --locked -q \
    --manifest-path "$ROOT/bench/hello/Cargo.toml"
  say "release builds: $(($(date +%s) - started))s"
}

# Starts the test OpenID provider and fetches one RS256 access token with the
# admin role (every route allows it): sets ISSUER and TOKEN.
start_idp() {
  coproc IDP { exec node "$ROOT/tests/oidc-provider/provider.mjs" --audience "$AUDIENCE" --roles admin --ttl 3600; }
  IDP_IN=${IDP[1]}
  local line
  read -r line <&"${IDP[0]}"
  ISSUER=$(sed -E 's/.*"issuer": *"([^"]+)".*/\1/' <<<"$line")
  TOKEN=$(curl -sf -u service:service-secret -d grant_type=client_credentials \
    -d resource="$AUDIENCE" --data-urlencode "scope=items:read items:write" "$ISSUER/token" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  [ -n "$TOKEN" ] || die "no token from the provider"
}

SERVICE_PID=
HELLO_PID=
cleanup() {
  [ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null
  [ -n "$HELLO_PID" ] && kill "$HELLO_PID" 2>/dev/null
  [ -n "${IDP_IN:-}" ] && exec {IDP_IN}>&- 2>/dev/null # the provider stops when its stdin closes
  wait 2>/dev/null
  return 0
}

# Starts the service with a fresh database ($@: a command to run it under,
# e.g. valgrind; empty to run it directly) and waits until it is ready
# ($READY_TRIES tenths of a second at most). Sets SERVICE_PID.
#
# The rate limits are raised (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST) so that
# the run measures the stack, not 429s: the limiter still runs on every
# request. Request logs are off (RUST_LOG=warn): one log line per request would
# measure the terminal or the log pipeline.
start_service() {
  rm -rf "$WORK/data"
  mkdir -p "$WORK/data"
  local key
  key=$(head -c 32 /dev/urandom | base64)
  (cd "$WORK" && exec env -i PATH="$PATH" APP_ENV=development BIND_ADDR="127.0.0.1:$PORT" \
    DATABASE_URL="sqlite://$WORK/data/app.db?mode=rwc" DATA_ENCRYPTION_KEYS="bench:$key" \
    AUTH_ISSUER_URL="$ISSUER" AUTH_AUDIENCE="$AUDIENCE" AUTH_ROLES_CLAIM=roles \
    CORS_ALLOWED_ORIGINS="$ORIGIN" RUST_LOG=warn ${SERVICE_ENV:-} \
    RATE_LIMIT_PER_SECOND=1000000 RATE_LIMIT_BURST=1000000 "$@" "$SERVICE_BIN") &
  SERVICE_PID=$!
  local _
  for _ in $(seq "${READY_TRIES:-100}"); do
    curl -sf -o /dev/null "127.0.0.1:$PORT/health/ready" && return 0
    kill -0 "$SERVICE_PID" 2>/dev/null || die "the service exited at start"
    sleep 0.1
  done
  die "the service did not become ready"
}

# $SEED_ITEMS items with notes (a page of the list route), then one check
# that the list answers them all.
seed_items() {
  local i notes
  notes=$(printf 'note %.0s' $(seq 20))
  for i in $(seq "$SEED_ITEMS"); do
    curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      -d "{\"name\":\"item $i\",\"notes\":\"$notes$i\"}" "127.0.0.1:$PORT/api/items" ||
      die "POST /api/items failed"
  done
  local body
  body=$(curl -sf -H "Authorization: Bearer $TOKEN" "127.0.0.1:$PORT/api/items?limit=$SEED_ITEMS") ||
    die "GET /api/items with the token failed"
  [ "$(grep -o '"notes":"note' <<<"$body" | wc -l)" = "$SEED_ITEMS" ] ||
    die "GET /api/items did not return the $SEED_ITEMS seeded items with their notes"
}
