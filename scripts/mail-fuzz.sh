#!/usr/bin/env bash
# Runs the libFuzzer targets of the Mail library, each for a bounded time:
#   ReplyParser    SMTPReplyParser + SMTPCapabilities on bytes from a hostile server
#   ServerCommand  SMTPServerCommand.parse + SMTPServerStateMachine on lines from a hostile client
#   MIME           MIMEPart on any received message
#   Bounce         BounceReport, isAutomaticReply and BounceReason.classify on any received message
#   Feedback       FeedbackReport on any received message
# Usage: scripts/mail-fuzz.sh [seconds-per-target] [target…]   (default 60, all targets)
#        MAIL_FUZZ_RUNS=10000000 scripts/mail-fuzz.sh 0 MIME    (a number of executions instead)
# MAIL_FUZZ_JOBS=N runs N fuzzers side by side on the target's one corpus (one per core), each
# for the time given or for its share of MAIL_FUZZ_RUNS; their logs are <target>-<n>.log.
# MAIL_FUZZ_TRACE_CMP=0 builds with edge coverage only, without libFuzzer's comparison tracing:
# about twice the executions a second, for long runs from a corpus that the guided runs grew
# (comparison tracing is what finds new magic strings; keep it on for short runs).
# The parsers are plain Swift, so each target is built with swiftc from their source files
# alone. Crashes, hangs (over 10 s for one input) and slow inputs are written to
# $MAIL_FUZZ_DIR (default /tmp/mail-fuzz) and fail the script; libFuzzer's whole output
# (progress lines with exec/s) is kept in $MAIL_FUZZ_DIR/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ReplyParser ServerCommand MIME Bounce Feedback)
out=${MAIL_FUZZ_DIR:-/tmp/mail-fuzz}
mkdir -p "$out"
src=Sources/Mail
smtp=("$src/Core/MailError.swift" "$src/SMTP/SMTPReply.swift" "$src/SMTP/SMTPReplyParser.swift"
      "$src/SMTP/SMTPCapabilities.swift" "$src/Server/SMTPServerCommand.swift" "$src/Server/SMTPServerStateMachine.swift")
mime=("$src/MIME/MIMEParser.swift" "$src/MIME/QuotedPrintable.swift" "$src/Core/Base64.swift" "$src/Core/ByteSearch.swift")
bounce=("${mime[@]}" "$src/SMTP/SMTPReply.swift" "$src/Bounce/"*.swift)

# A few messages of each kind to start from; the fuzzer mutates them.
seed() { mkdir -p "$out/corpus-$1"; printf '%b' "$3" > "$out/corpus-$1/$2"; }
dsn='Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\nContent-Type: multipart/report; report-type=delivery-status;\n\tboundary="B"\n\n--B\nContent-Type: text/plain\n\n<ann@example.org>: host mx[192.0.2.7] said: 550 5.1.1 User unknown\n\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; ann@example.org\nAction: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n\n--B\nContent-Type: text/rfc822-headers\n\nFrom: news@example.com\nMessage-ID: <a.1@example.com>\n\n--B--\n'
text='From: Mail Delivery System <Mailer-Daemon@exim.example.net>\nX-Failed-Recipients: erin@example.org\nSubject: Mail delivery failed\n\nThe following address(es) failed:\n\n  erin@example.org\n    SMTP error from remote mail server after RCPT TO:<erin@example.org>:\n    550 5.7.1 blocked using zen.spamhaus.org\n\nReturn-path: <b@example.com>\nReceived: from x (v4.6.1) by y; Fri, 27 Nov 2026 09:12:02 +0000\nX-Mailman-Version: 2.0.8\nMessage-ID: bare@example.com\n\nbody\n'
arf='From: staff@hotmail.example\nSubject: complaint about message from 192.0.2.1\nContent-Type: multipart/report; report-type=feedback-report; boundary="F"\n\n--F\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: X/1\nVersion: 1\nOriginal-Mail-From: <b+1@example.com>\nOriginal-Rcpt-To: <c@example.org>\nReported-Domain: example.com\n\n--F\nContent-Type: message/rfc822\n\nX-HmXmrOriginalRecipient: <c@example.org>\nReturn-Path: <b+1@example.com>\nTo: c@example.org\nList-Unsubscribe: <mailto:u@example.com>\nMessage-ID: <m.1@example.com>\n\nhi\n--F--\n'
auto='From: Ann <ann@example.org>\nSubject: =?UTF-8?Q?R=C3=A9ponse_automatique?= : Hello\nAuto-Submitted: auto-replied\nContent-Type: text/plain; charset*=utf-8'"''"'x; format=flowed\nContent-Transfer-Encoding: quoted-printable\n\nAway until Monday=2E\n'

# The readers allocate a lot; recording a deep stack for every allocation would cost more
# than the parsing. A crash still shows its full stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=2}

status=0
for target in "${targets[@]}"; do
  case $target in
    ReplyParser|ServerCommand) sources=("${smtp[@]}"); flags=(-Onone); len=4096 ;;
    # The readers are regex-free Swift; optimised (bounds and overflow checks stay) they run
    # the ten million executions a release wants in reasonable time.
    MIME) sources=("${mime[@]}"); flags=(-O); len=8192 ;;
    Bounce|Feedback) sources=("${bounce[@]}"); flags=(-O); len=8192 ;;
    *) echo "unknown target $target"; exit 2 ;;
  esac
  echo "== building $target"
  if [ "${MAIL_FUZZ_TRACE_CMP:-1}" = 0 ]; then
    # swiftc's -sanitize=fuzzer always adds comparison tracing, so link libFuzzer by hand.
    fuzzer=$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")
    fuzzer=$(find "$fuzzer/lib/clang" -name 'libclang_rt.fuzzer-x86_64.a' | head -n 1)
    flags+=(-sanitize=address -sanitize-coverage=edge,inline-8bit-counters,pc-table -Xlinker "$fuzzer" -Xlinker -lstdc++)
  else
    flags+=(-sanitize=fuzzer,address)
  fi
  swiftc -parse-as-library "${flags[@]}" -g -module-name Mail \
    "${sources[@]}" "scripts/mail-fuzz/${target}Fuzz.swift" -o "$out/$target" 2>&1 \
    | { grep -v "Cannot export local symbol" || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build of $target failed"; exit 1; }
  mkdir -p "$out/corpus-$target"
  case $target in
    ReplyParser) seed ReplyParser seed1 '250-mx.example Hi\r\n250-PIPELINING\r\n250 SIZE 1000\r\n'
                 seed ReplyParser seed2 '550 5.1.1 no such user\r\n421 4.3.2 bye\r\n250\r\n' ;;
    ServerCommand) seed ServerCommand seed1 'EHLO c\r\nMAIL FROM:<a@b.c> SIZE=10\r\nRCPT TO:<x@y.z>\r\nDATA\r\n..x\r\n.\r\nQUIT\r\n' ;;
    *) seed "$target" dsn "$dsn"; seed "$target" text "$text"; seed "$target" arf "$arf"; seed "$target" auto "$auto" ;;
  esac
  jobs=${MAIL_FUZZ_JOBS:-1}
  if [ -n "${MAIL_FUZZ_RUNS:-}" ]; then limit=(-runs="$(( (MAIL_FUZZ_RUNS + jobs - 1) / jobs ))"); else limit=(-max_total_time="$seconds"); fi
  echo "== fuzzing $target ($jobs × ${limit[*]})"
  options=("${limit[@]}" -max_len="$len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "corpus-$target")
  if [ "$jobs" = 1 ]; then
    if ! (cd "$out" && "./$target" "${options[@]}" 2>&1 | tee "$target.log" | tail -n 12); then
      echo "!! $target found a crash; see $out/crash-* $out/timeout-*"
      status=1
    fi
  else
    rm -f "$out/$target-"[0-9]*.log
    pids=()
    for n in $(seq 1 "$jobs"); do
      (cd "$out" && exec "./$target" "${options[@]}" > "$target-$n.log" 2>&1) &
      pids+=($!)
    done
    for n in $(seq 1 "$jobs"); do
      if wait "${pids[$((n - 1))]}"; then
        tail -n 7 "$out/$target-$n.log"
      else
        tail -n 30 "$out/$target-$n.log"
        echo "!! $target (worker $n) found a crash; see $out/crash-* $out/timeout-*"
        status=1
      fi
    done
    total=$(cat "$out/$target-"[0-9]*.log | awk '$2 == "DONE" { sum += substr($1, 2) } END { print sum + 0 }')
    echo "$target: ${total:-0} executions in all"
  fi
done
exit $status
