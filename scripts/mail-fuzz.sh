#!/usr/bin/env bash
# Runs the libFuzzer targets of the Mail library, each for a bounded time:
#   reply-parser     SMTPReplyParser + SMTPCapabilities on bytes from a hostile server
#   server-commands  SMTPServerCommand.parse + SMTPServerStateMachine on lines from a hostile client
# Usage: scripts/mail-fuzz.sh [seconds-per-target]   (default 60)
# The parsers are plain Swift, so each target is built with swiftc from their source files
# alone. Crashes are written to $MAIL_FUZZ_DIR (default /tmp/mail-fuzz) and fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=${MAIL_FUZZ_DIR:-/tmp/mail-fuzz}
mkdir -p "$out"
src=Sources/Mail
common=("$src/Core/MailError.swift" "$src/SMTP/SMTPReply.swift" "$src/SMTP/SMTPReplyParser.swift"
        "$src/SMTP/SMTPCapabilities.swift" "$src/Server/SMTPServerCommand.swift" "$src/Server/SMTPServerStateMachine.swift")
status=0
for target in ReplyParser ServerCommand; do
  echo "== building $target"
  swiftc -sanitize=fuzzer,address -parse-as-library -Onone -g -module-name Mail \
    "${common[@]}" "scripts/mail-fuzz/${target}Fuzz.swift" -o "$out/$target" 2>&1 \
    | { grep -v "Cannot export local symbol" || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build of $target failed"; exit 1; }
  mkdir -p "$out/corpus-$target"
  case $target in
    ReplyParser) printf '250-mx.example Hi\r\n250-PIPELINING\r\n250 SIZE 1000\r\n' > "$out/corpus-$target/seed1"
                 printf '550 5.1.1 no such user\r\n421 4.3.2 bye\r\n250\r\n' > "$out/corpus-$target/seed2" ;;
    ServerCommand) printf 'EHLO c\r\nMAIL FROM:<a@b.c> SIZE=10\r\nRCPT TO:<x@y.z>\r\nDATA\r\n..x\r\n.\r\nQUIT\r\n' > "$out/corpus-$target/seed1" ;;
  esac
  echo "== fuzzing $target for ${seconds}s"
  if ! (cd "$out" && "./$target" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "corpus-$target" 2>&1 | tail -n 12); then
    echo "!! $target found a crash; see $out/crash-*"
    status=1
  fi
done
exit $status
