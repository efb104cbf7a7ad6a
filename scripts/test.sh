#!/usr/bin/env bash
# Runs every Herald test: installs what is missing (apt-get, pip), starts a private
# PostgreSQL, builds once, runs `swift test`, schemathesis against the API and the browser
# tests, stops what it started.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d /tmp/herald-test.XXXXXX)
chmod 755 "$work"
failed=0
pg_started=""
spamd_pid=""

log() { printf '\n== %s\n' "$*"; }

cleanup() {
  if [ -n "$spamd_pid" ]; then
    kill "$spamd_pid" 2>/dev/null || true
  fi
  if [ -n "$pg_started" ]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- what the tests need from the machine -------------------------------------------
need_apt=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || need_apt+=(postgresql)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v smtp-sink >/dev/null || [ -x /usr/sbin/smtp-sink ] || need_apt+=(postfix)
# A private Postfix relay with STARTTLS and Cyrus SASL (scripts/postfix-relay.sh) for the
# interop tests: saslpasswd2 makes its user, the modules check PLAIN and LOGIN.
[ -x /usr/sbin/saslpasswd2 ] || need_apt+=(sasl2-bin)
ls /usr/lib/*/sasl2/libplain.so >/dev/null 2>&1 || need_apt+=(libsasl2-modules)
# A DNS server on loopback for the DNS checks of sending domains and DKIM verification.
[ -x /usr/sbin/dnsmasq ] || need_apt+=(dnsmasq-base)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
# SpamAssassin's spamd for "Check for spam" (its rules come with the package; no sa-update).
[ -x /usr/sbin/spamd ] || need_apt+=(spamd spamassassin)
command -v spamc >/dev/null || need_apt+=(spamc)
command -v openssl >/dev/null || need_apt+=(openssl)  # the mail tests make certificates and DKIM keys
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null || { echo "apt-get install failed"; exit 1; }
  # Debian's postfix package starts a daemon on port 25; the tests never want one.
  if printf '%s\n' "${need_apt[@]}" | grep -qx postfix; then
    (postfix stop || service postfix stop) >/dev/null 2>&1 || true
  fi
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
need_pip=()
python3 -c 'import selenium' 2>/dev/null || need_pip+=(selenium)
python3 -c 'import aiosmtpd' 2>/dev/null || need_pip+=(aiosmtpd)
python3 -c 'import dkim' 2>/dev/null || need_pip+=(dkimpy)
python3 -c 'import nacl' 2>/dev/null || need_pip+=(pynacl)  # dkimpy verifies ed25519 signatures with it
python3 -c 'import pytest' 2>/dev/null || need_pip+=(pytest)
python3 -c 'import dns.resolver' 2>/dev/null || need_pip+=(dnspython)  # dkimpy looks DKIM keys up with it
python3 -c 'import schemathesis' 2>/dev/null || need_pip+=('schemathesis>=4,<5')  # scripts/api-fuzz.sh
if [ ${#need_pip[@]} -gt 0 ]; then
  log "installing ${need_pip[*]} (pip)"
  python3 -m pip install -q "${need_pip[@]}" || { echo "pip install failed"; exit 1; }
fi
export PATH="$PATH:/usr/sbin"
# Selenium must use Debian's chromedriver and never reach for the network.
export SE_OFFLINE=true SE_AVOID_STATS=true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- a private PostgreSQL ------------------------------------------------------------
log "starting PostgreSQL"
pg_port=$(free_port)
mkdir -p "$work/pg" && chown postgres "$work/pg"
runuser -u postgres -- "$pg_bin/initdb" -D "$work/pg" -U herald -A trust >/dev/null || { echo "initdb failed"; exit 1; }
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$work/pg/server.log"; echo "PostgreSQL did not start"; exit 1; }
pg_started=yes
export HERALD_TEST_POSTGRES_URL="postgres://herald@127.0.0.1:$pg_port/postgres"
# Tests that need a real peer fail instead of skipping when it is missing.
export HERALD_REQUIRE_PEERS=1

# --- SpamAssassin's spamd --------------------------------------------------------------
# Network rules off (-L, no DNS blocklists), no Bayes, no per-user files, its own
# configuration folder (Debian's .pre files load the plugins) and a private port.
log "starting spamd"
mkdir -p "$work/spamassassin"
cp /etc/spamassassin/*.pre "$work/spamassassin/"
printf 'required_score 5.0\nuse_bayes 0\nskip_rbl_checks 1\n' > "$work/spamassassin/local.cf"
spamd_port=$(free_port)
/usr/sbin/spamd -L -x --listen="127.0.0.1:$spamd_port" --allowed-ips=127.0.0.1 -u nobody --max-children=4 \
  --siteconfigpath="$work/spamassassin" -s stderr >/dev/null 2>"$work/spamd.log" &
spamd_pid=$!
for _ in $(seq 1 120); do
  spamc -d 127.0.0.1 -p "$spamd_port" -K >/dev/null 2>&1 && break
  kill -0 "$spamd_pid" 2>/dev/null || break
  sleep 0.5
done
spamc -d 127.0.0.1 -p "$spamd_port" -K >/dev/null 2>&1 || { tail -n 20 "$work/spamd.log"; echo "spamd did not start"; exit 1; }
export HERALD_TEST_SPAMD="127.0.0.1:$spamd_port"

# --- build once, then test -----------------------------------------------------------
log "building"
swift build --build-tests 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | grep -v "^\[" | tail -n 40
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build failed"; exit 1; }

log "swift test"
swift test --skip-build 2>&1 | tee "$work/swift-test.log" | grep -E "✘|error:|failed|passed after|Executed|Test run with" 
[ "${PIPESTATUS[0]}" -eq 0 ] || failed=1

log "the API against its OpenAPI document (schemathesis)"
bash scripts/api-fuzz.sh "$(swift build --show-bin-path)/herald" || failed=1

if [ -d tests ]; then
  log "browser and end-to-end tests (pytest)"
  HERALD_BIN="$(swift build --show-bin-path)/herald" python3 -m pytest -q tests
  rc=$?
  [ $rc -eq 0 ] || [ $rc -eq 5 ] || failed=1
fi

if [ $failed -ne 0 ]; then
  log "FAILED"
  exit 1
fi
log "all tests passed"
