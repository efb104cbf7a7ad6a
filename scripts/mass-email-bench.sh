#!/usr/bin/env bash
# Benchmark: a mass email end to end (recipients resolved, messages rendered with merge
# fields and a text part, sent over pooled pipelined SMTP, outcomes written back) into
# Postfix's smtp-sink, against Postfix's smtp-source into the same sink in the same run:
# same message size, same number of connections. Prints both rates, the ratio, and
# Herald's peak RSS and, apart, its anonymous memory. Not a test: nothing fails on a slow machine.
# Then the same DKIM-signed, into the same sink. Then the same over TLS, into a private Postfix relay (scripts/postfix-relay.sh, lean: it
# queues each message and throws it away): Herald's mass email over STARTTLS + AUTH and in
# clear, against smtp-source (which speaks neither) into the same relay, on SQLite files,
# RELAY_RECIPIENTS (default 20000) recipients each, since the relay is the slower party.
# Needs root and Debian's postfix and sasl2-bin; skipped, saying so, without them.
# Usage: [HERALD_BIN=path] [RELAY_RECIPIENTS=n] scripts/mass-email-bench.sh [recipients] [connections] [database-url]
#   database-url: an empty PostgreSQL database (default: a new SQLite file)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"
recipients=${1:-100000}
connections=${2:-4}
database=${3:-}
command -v smtp-sink >/dev/null && command -v smtp-source >/dev/null \
  || { echo "smtp-sink and smtp-source are needed: apt-get install postfix (then: postfix stop)"; exit 1; }

# HERALD_BIN: an already built release binary (skips the build).
if [ -n "${HERALD_BIN:-}" ]; then
  bin=$HERALD_BIN
else
  # The Swift runtime and Foundation linked in, as Herald is shipped: calls into them are
  # direct, not through the PLT (4-9 % less CPU a send, measured; see docs/performance-log.md).
  echo "== building herald (release, --static-swift-stdlib)"
  swift build -c release --static-swift-stdlib --product herald 2>&1 | grep -E "error|Build complete" || true
  bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/herald"
fi
[ -x "$bin" ] || { echo "herald did not build"; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user=(); [ "$(id -u)" = 0 ] && user=(-u root)
smtp-sink "${user[@]}" "127.0.0.1:$port" 1024 &
sink=$!
disown "$sink"  # no "Killed" notice when the trap ends it
trap 'kill -9 $sink 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 0.5

echo "== Herald: $recipients recipients, $connections connections"
args=(--recipients "$recipients" --smtp "127.0.0.1:$port" --connections "$connections" --state-dir "$work/state")
if [ -n "$database" ]; then args+=(--database "$database"); else args+=(--database "$work/bench.sqlite"); fi
out=$("$bin" bench-mass-email "${args[@]}")
echo "$out"
ours=$(echo "$out" | sed -nE 's/^rate: ([0-9]+) msg\/s/\1/p')
size=$(echo "$out" | sed -nE 's/^message size: ([0-9]+) bytes/\1/p')

reference_messages=$(( recipients < 100000 ? recipients : 100000 ))
# The reference runs three times and its median counts: on a shared machine one run of it
# moves by a tenth or more, and the ratio with it.
rates=()
for run in 1 2 3; do
  start=$(date +%s.%N)
  smtp-source -s "$connections" -m "$reference_messages" -l "$size" -d -f bench@example.com -t sink@example.org "127.0.0.1:$port"
  end=$(date +%s.%N)
  rates+=("$(python3 -c "print('%.0f' % ($reference_messages / ($end - $start)))")")
done
reference=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p)
printf '\n%-22s %10s/s (median of %s)\n%-22s %10s/s\n%-22s %10sx\n' "smtp-source ($size B)" "$reference" "${rates[*]}" \
  "Herald mass email" "$ours" "ratio" "$(python3 -c "print('%.2f' % ($ours / $reference))")"

# The same mass email DKIM-signed (RSA-2048, the key parsed once, the body hashed once a
# message), on a new SQLite file (PostgreSQL runs keep to the row above).
echo; echo "== Herald, every message DKIM-signed (RSA-2048): $recipients recipients"
signed_out=$("$bin" bench-mass-email --recipients "$recipients" --smtp "127.0.0.1:$port" --connections "$connections" \
  --state-dir "$work/state-dkim" --database "$work/bench-dkim.sqlite" --dkim rsa)
echo "$signed_out"
signed=$(echo "$signed_out" | sed -nE 's/^rate: ([0-9]+) msg\/s/\1/p')
printf '\n%-34s %10s/s\n%-34s %10sx\n' "Herald mass email, DKIM-signed" "$signed" \
  "ratio signed / smtp-source" "$(python3 -c "print('%.2f' % ($signed / $reference))")"

# --- over TLS, into a real relay -----------------------------------------------------
if [ "$(id -u)" != 0 ] || ! command -v saslpasswd2 >/dev/null; then
  echo; echo "== skipped the TLS rows: they need root and Debian's postfix and sasl2-bin"
  exit 0
fi
relay_recipients=${RELAY_RECIPIENTS:-20000}
relay_dir=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )/herald-relay.XXXXXX")
trap 'kill -9 $sink 2>/dev/null || true; bash scripts/postfix-relay.sh stop "$relay_dir"; rm -rf "$work" "$relay_dir"' EXIT
relay=$(bash scripts/postfix-relay.sh start "$relay_dir" lean)
value() { printf '%s\n' "$relay" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
tls_url="smtp://$(value user):$(value password)@127.0.0.1:$(value submission)?tls=required&ca=$(value ca)"
plain_url="smtp://127.0.0.1:$(value plain)?tls=none"
herald_into_relay() {
  local name=$1 url=$2
  "$bin" bench-mass-email --recipients "$relay_recipients" --transport "$url" --connections "$connections" \
    --state-dir "$work/state-$name" --database "$work/relay-$name.sqlite" | sed -nE 's/^rate: ([0-9]+) msg\/s/\1/p'
}
echo; echo "== Herald into a Postfix relay: $relay_recipients recipients, $connections connections"
tls_rate=$(herald_into_relay tls "$tls_url")
plain_rate=$(herald_into_relay plain "$plain_url")
rates=()
for run in 1 2 3; do
  start=$(date +%s.%N)
  smtp-source -s "$connections" -m "$relay_recipients" -l "$size" -d -f bench@example.com -t sink@example.org "127.0.0.1:$(value plain)"
  end=$(date +%s.%N)
  rates+=("$(python3 -c "print('%.0f' % ($relay_recipients / ($end - $start)))")")
done
relay_reference=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p)
printf '\n%-34s %10s/s (median of %s)\n%-34s %10s/s\n%-34s %10s/s\n%-34s %10sx\n%-34s %10sx\n' \
  "smtp-source into the relay, plain" "$relay_reference" "${rates[*]}" \
  "Herald mass email, STARTTLS + AUTH" "$tls_rate" \
  "Herald mass email, plain" "$plain_rate" \
  "ratio TLS / smtp-source plain" "$(python3 -c "print('%.2f' % ($tls_rate / $relay_reference))")" \
  "ratio TLS / Herald plain" "$(python3 -c "print('%.2f' % ($tls_rate / $plain_rate))")"
