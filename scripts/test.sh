#!/usr/bin/env bash
# The README's test command: installs or starts what the tests need, then runs every test.
#
#   - Chromium and its driver (Debian's `chromium`, `chromium-driver`) for the browser test;
#   - PostgreSQL (Debian's `postgresql`), started on 127.0.0.1 with a `workhealth` user that
#     may create databases, named in WORKHEALTH_TEST_DATABASE_URL, for the log tests on both
#     backends and the replicas test. An existing WORKHEALTH_TEST_DATABASE_URL is used as is.
#
# Installing needs apt-get and root (or sudo). `cargo test --locked` alone runs every other test
# anywhere; the tests that need these services are then counted as ignored, never passed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "== $*"; }
die() {
    echo "scripts/test.sh: $*" >&2
    exit 2
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "needs root or sudo to run: $*"
    fi
}

need=()
[ -n "${CHROMEDRIVER:-}" ] || command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ -z "${WORKHEALTH_TEST_DATABASE_URL:-}" ]; then
    command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 ||
        die "install ${need[*]} (Debian package names), or run \`cargo test --locked\` for the tests that need none of them"
    say "installing ${need[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "${WORKHEALTH_TEST_DATABASE_URL:-}" ]; then
    say "PostgreSQL for the log tests"
    if ! pg_lsclusters -h 2>/dev/null | grep -q online; then
        cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
        if [ -z "$cluster" ]; then
            ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
            as_root pg_createcluster "$ver" main >/dev/null
            cluster="$ver main"
        fi
        # shellcheck disable=SC2086
        as_root pg_ctlcluster $cluster start
    fi
    as_root su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'workhealth'\"" | grep -q 1 ||
        as_root su postgres -c "psql -qc \"CREATE ROLE workhealth LOGIN PASSWORD 'workhealth' CREATEDB\""
    port=$(pg_lsclusters -h | awk '$4 == "online" {print $3; exit}')
    export WORKHEALTH_TEST_DATABASE_URL="postgres://workhealth:workhealth@127.0.0.1:${port}/postgres"
fi

say "the embedding model"
# The tests that answer questions need the embedding model (fetched once into models/).
cargo run --locked -q -- model fetch
# Embed the real and the fixture content once into the cache the tests share, so the many
# `serve` processes the tests start find their vectors instead of all embedding at once.
for c in content tests/fixtures/content-ok; do
    cargo run --locked -q -- --content "$c" --index target/test-index-warm \
        --vectors target/test-vectors ask "warming the vector cache" >/dev/null
done

status=0
say "tests (those that need PostgreSQL or Chromium are listed as ignored here and run next)"
cargo test --locked --no-fail-fast || status=1

say "tests that need PostgreSQL or Chromium"
cargo test --locked --no-fail-fast --test it -- --ignored postgres browser:: ||
    status=1

[ "$status" = 0 ] && say "all tests passed" || say "some tests FAILED (see above)"
exit "$status"
