#!/usr/bin/env bash
# Holds the JSON API to its description: schemathesis generates requests from
# /api/openapi.json, valid and deliberately wrong, and checks every answer against it.
# Runs a demo server on SQLite on a free loopback port, twice: with an admin's token and
# with a plain user's (a user is refused much that an admin may do; both must be documented).
#
#   scripts/api-fuzz.sh [HERALD_BIN]      (default: the debug build)
#
# Fails on a 5xx, a status or content type the document does not list, an answer its
# schema does not allow, or bad data the server accepted. Seeded, so that a failure
# comes back the same; bounded to a few minutes on two cores.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-${HERALD_BIN:-$(swift build --show-bin-path)/herald}}
[ -x "$bin" ] || { echo "api-fuzz: no herald binary at $bin"; exit 1; }
python3 -c 'import schemathesis' 2>/dev/null || { echo "api-fuzz: schemathesis is not installed (pip install schemathesis)"; exit 1; }

# schemathesis' CLI. Hypothesis describes each filter's lambda by parsing its source with
# ast.parse; CPython 3.11 can raise SystemError ("AST constructor recursion depth mismatch")
# when that happens deep in a recursion, which schemathesis reports as an error of the API
# under test. A description is only a repr: an unparseable one reads "<unknown>" instead.
st() {
  python3 -c '
import ast, sys
parse = ast.parse
def tolerant_parse(*args, **kwargs):
    try:
        return parse(*args, **kwargs)
    except SystemError as error:
        raise SyntaxError(str(error))
ast.parse = tolerant_parse
from schemathesis.cli import schemathesis
sys.argv[0] = "st"
sys.exit(schemathesis())
' "$@"
}

work=$(mktemp -d /tmp/herald-fuzz.XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
db="$work/herald.sqlite"
# The server and the commands below share the key that seals the stored secrets.
export HERALD_SECRET_KEY_FILE="$work/secret.key"
# Mail goes to .eml files (--transport also makes the transport setting read-only, so no
# generated URL can point the server at a host off this machine); "Check DNS" asks a
# loopback port where nothing answers, never the system's resolver.
# "Check for spam" asks the test command's spamd; without one those two calls answer 502 by
# design, which the server-error check would count, so they are left out.
spam=()
if [ -n "${HERALD_TEST_SPAMD:-}" ]; then
  spam=(--spamd "$HERALD_TEST_SPAMD")
  skip_spam=()
else
  echo "api-fuzz: no spamd (HERALD_TEST_SPAMD); the spam-check calls are not fuzzed"
  skip_spam=(--exclude-operation-id spamCheckTemplate --exclude-operation-id spamCheckTemplateContent)
fi
"$bin" serve --demo --host 127.0.0.1 --port "$(free_port)" --database "$db" --state-dir "$work/state" --bcrypt-cost 4 \
  --transport "file://$work/outbox" --dns-server "127.0.0.1:$(free_port)" "${spam[@]}" --log-level warning \
  >"$work/server.log" 2>&1 &
server=$!
url=""
for _ in $(seq 1 600); do
  url=$(grep -oE 'Herald is running at http://[^ ]+' "$work/server.log" 2>/dev/null | head -n 1 | sed 's/.* at //; s:/$::')
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1  # polling the server's output while it starts
done
[ -n "$url" ] || { cat "$work/server.log"; echo "api-fuzz: Herald did not start"; exit 1; }
admin_email=$(grep -oE 'email:\s+\S+' "$work/server.log" | head -n 1 | awk '{print $2}')

# Tokens come from the command line: the API makes them only from a browser session.
admin_token=$("$bin" user token --database "$db" --email "$admin_email" --name fuzz | tail -n 1)
HERALD_PASSWORD=fuzz-user-password "$bin" user create --database "$db" --email fuzz-user@example.com \
  --name "Fuzz User" --role user >/dev/null || { echo "api-fuzz: could not create the user"; exit 1; }
user_token=$("$bin" user token --database "$db" --email fuzz-user@example.com --name fuzz | tail -n 1)

failed=0
# The user first: the admin's run may deactivate that user or give them a new password.
for who in user admin; do
  token=$admin_token
  [ "$who" = user ] && token=$user_token
  printf '\n== schemathesis as the %s\n' "$who"
  start=$(date +%s)
  # Excluded: GET /metrics is Prometheus text for a scraper, not part of the JSON API.
  # Revoking a token and setting a password revoke the caller's own token when the generated
  # id is theirs (as they must), which would turn the rest of the run into 401s; the Swift
  # tests (AccountManagementTests) hold those two to their answers.
  # From the scratch folder: schemathesis keeps a cache of past failures where it runs, and
  # replaying them would make a run depend on the one before.
  (cd "$work" && st run "$url/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,negative_data_rejection \
    --max-examples 30 --seed 15 --workers 2 --request-timeout 20 \
    --generation-database none --no-color --suppress-health-check all \
    --exclude-path /metrics \
    --exclude-operation-id revokeToken --exclude-operation-id setUserPassword "${skip_spam[@]}" \
    --report junit --report-junit-path "$work/$who.xml") \
    >"$work/st-$who.log" 2>&1
  rc=$?
  # The failures in full when there are any; otherwise the summary alone.
  if [ $rc -ne 0 ]; then cat "$work/st-$who.log"; failed=1; else grep -E "^=+ .* in [0-9.]+s =+$" "$work/st-$who.log" || tail -n 5 "$work/st-$who.log"; fi
  echo "schemathesis as the $who: exit $rc, $(( $(date +%s) - start )) s"
done

kill -0 "$server" 2>/dev/null || { echo "api-fuzz: the server died:"; tail -n 50 "$work/server.log"; failed=1; }
exit $failed
