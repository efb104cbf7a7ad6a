#!/usr/bin/env bash
# Benchmark: messages per second from Mail's SMTP client into Postfix's smtp-sink,
# against Postfix's smtp-source into the same sink in the same run; 5 KB messages,
# 1 and 4 connections, connections reused (smtp-source -d). smtp-source does not pipeline;
# we do. Prints both rates and the ratio. Not a test: nothing fails on a slow machine.
#
# Then a real relay: a private Postfix (scripts/postfix-relay.sh, lean, its queue on tmpfs)
# with STARTTLS and Cyrus SASL, and scripts/relay-bench.py: Herald over STARTTLS + AUTH,
# Herald plain, smtp-source plain and Python's smtplib over STARTTLS + AUTH, at 1 and 4
# connections, five alternating rounds, with the ratios. Needs root, postfix and sasl2-bin.
# Usage: scripts/mail-bench.sh [messages] [relay-messages]   (defaults 20000 and 4000)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"
messages=${1:-20000}
relay_messages=${2:-4000}
size=5000
command -v smtp-sink >/dev/null && command -v smtp-source >/dev/null \
  || { echo "smtp-sink and smtp-source are needed: apt-get install postfix (then: postfix stop)"; exit 1; }

echo "== building mail-bench (release)"
swift build -c release --product mail-bench 2>&1 | grep -E "error|Compiling mail|Build complete" || true
bin="$(swift build -c release --show-bin-path)/mail-bench"
[ -x "$bin" ] || { echo "mail-bench did not build"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user=(); [ "$(id -u)" = 0 ] && user=(-u root)
smtp-sink "${user[@]}" "127.0.0.1:$port" 1024 &
sink=$!
disown "$sink"  # no "Killed" notice when the trap ends it
trap 'kill -9 $sink 2>/dev/null || true' EXIT
sleep 0.5

rate() { python3 -c "import sys; print('%.0f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }
printf '\n%-12s %14s %14s %8s\n' connections smtp-source mail-bench ratio
for connections in 1 4; do
  start=$(date +%s.%N)
  smtp-source -s "$connections" -m "$messages" -l "$size" -d -f bench@example.com -t sink@example.org "127.0.0.1:$port"
  end=$(date +%s.%N)
  reference=$(rate "$messages" "$(python3 -c "print($end - $start)")")
  ours=$("$bin" --port "$port" --connections "$connections" --messages "$messages" --size "$size" | sed -E 's/.* = ([0-9]+) msg\/s.*/\1/')
  printf '%-12s %10s/s %10s/s %7sx\n' "$connections" "$reference" "$ours" "$(python3 -c "print('%.2f' % ($ours / $reference))")"
done

if [ "$(id -u)" != 0 ] || ! command -v saslpasswd2 >/dev/null; then
  echo; echo "== skipped the relay benchmark: it needs root and Debian's postfix and sasl2-bin"
  exit 0
fi
relay_dir=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )/herald-relay.XXXXXX")
trap 'kill -9 $sink 2>/dev/null; bash scripts/postfix-relay.sh stop "$relay_dir"; rm -rf "$relay_dir"' EXIT
echo; echo "== a Postfix relay with STARTTLS and SASL ($relay_messages messages a run)"
python3 scripts/relay-bench.py "$bin" "$(bash scripts/postfix-relay.sh start "$relay_dir" lean)" "$relay_messages" 5
