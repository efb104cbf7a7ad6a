#!/usr/bin/env bash
# A private Postfix relay on loopback, for the interop tests and the TLS benchmark: its own
# configuration, queue and log under DIR, nothing of the machine's Postfix touched.
#
#   scripts/postfix-relay.sh start DIR [lean]   # prints one line of key=value pairs (see below)
#   scripts/postfix-relay.sh stop DIR
#
# Four smtpd services: submission (STARTTLS offered, AUTH PLAIN and LOGIN only after it),
# login (the same, offering only LOGIN), smtps (smtpd_tls_wrappermode: TLS from the first
# byte) and plain (no STARTTLS, no AUTH). Cyrus SASL checks the password against a sasldb
# with one user. Every message is queued (written and fsynced like any
# other) and then discarded, so the relay costs what a real one does and keeps nothing.
# The certificate is self-signed for localhost and 127.0.0.1; its PEM is DIR/cert.pem.
# The log is DIR/maillog (postlogd), where a test looks for "improper command pipelining".
#
# lean, for benchmarks of the clients rather than of Postfix: no log, and each message is
# discarded by cleanup as its queue file is finished (header_checks DISCARD) instead of by
# the discard transport after qmgr has scheduled it. Postfix still receives, parses, writes
# and answers "250 queued" for every message; it skips the delivery work and the logging
# that made it, not the client, the limit on two cores. Put DIR on tmpfs for the same reason.
#
# Needs root (Postfix's master) and Debian's postfix, sasl2-bin and libsasl2-modules.
set -euo pipefail
export PATH="$PATH:/usr/sbin"
command=${1:-}
dir=${2:-}
mode=${3:-}
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

if [ "$command" = stop ]; then
  [ -f "$dir/conf/main.cf" ] && postfix -c "$dir/conf" stop >/dev/null 2>&1 || true
  # postfix stop returns before its children have gone; wait for the master's pid file to go.
  for _ in $(seq 1 50); do [ -e "$dir/queue/pid/master.pid" ] || break; sleep 0.1; done
  exit 0
fi
[ "$command" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

for tool in postfix saslpasswd2 openssl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install postfix sasl2-bin libsasl2-modules openssl" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "Postfix's master needs root" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
submission=$(free_port)
login=$(free_port)
smtps=$(free_port)
plain=$(free_port)
user=relay-user
password=relay-password-$$
domain=herald.test

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# The unprivileged smtpd (user postfix) reads the certificate and the sasldb under here.
chmod 755 "$dir"
mkdir -p "$dir/conf/sasl" "$dir/queue" "$dir/data" "$dir/sasl"
chown postfix "$dir/data" "$dir/sasl"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/conf/key.pem" -out "$dir/cert.pem" -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
chmod 600 "$dir/conf/key.pem"

cat > "$dir/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.$domain
mydomain = $domain
myorigin = $domain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
alias_maps =
alias_database =
biff = no
# Queued, then thrown away: the relay does the work of taking mail, and keeps none.
default_transport = discard:
local_transport = discard:
relay_transport = discard:
# Authenticated clients relay, and loopback ones without AUTH too, so that the plain
# benchmark rows (smtp-source, Herald without TLS) reach the same queue.
smtpd_relay_restrictions = permit_sasl_authenticated, permit_mynetworks, reject
smtpd_tls_cert_file = $dir/cert.pem
smtpd_tls_key_file = $dir/conf/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
# "Anonymous TLS connection established from …: TLSv1.3 with cipher …", for the tests.
smtpd_tls_loglevel = 1
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
# Debian's Postfix looks for smtpd.conf in \$cyrus_sasl_config_path/sasl.
cyrus_sasl_config_path = $dir/conf
smtpd_sasl_local_domain = $domain
EOF
if [ "$mode" = lean ]; then
  printf '/^/ DISCARD queued, then thrown away by the benchmark relay\n' > "$dir/conf/discard.regexp"
  cat >> "$dir/conf/main.cf" <<EOF
header_checks = regexp:$dir/conf/discard.regexp
# Messages discarded by cleanup never reach qmgr, so no delivery gives back the flow-control
# tokens that in_flow_delay waits for: without this, smtpd would pause a second per message.
in_flow_delay = 0
# No daemon is replaced after 100 uses (a fork and exec by master each time).
max_use = 1000000
maillog_file =
EOF
fi

cat > "$dir/conf/master.cf" <<EOF
127.0.0.1:$submission inet n - n - - smtpd
127.0.0.1:$login inet n - n - - smtpd -o smtpd_sasl_mechanism_filter=login
127.0.0.1:$smtps inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
127.0.0.1:$plain inet n - n - - smtpd -o smtpd_tls_security_level=none -o smtpd_sasl_auth_enable=no
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

cat > "$dir/conf/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $dir/sasl/sasldb2
EOF
printf '%s' "$password" | saslpasswd2 -f "$dir/sasl/sasldb2" -p -c -u "$domain" "$user"
chown postfix "$dir/sasl/sasldb2"

postfix -c "$dir/conf" start >/dev/null 2>&1 || { cat "$dir/maillog" 2>/dev/null >&2; echo "Postfix did not start" >&2; exit 1; }
for _ in $(seq 1 100); do
  if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 0.2).close()" "$submission" 2>/dev/null; then
    echo "submission=$submission login=$login smtps=$smtps plain=$plain user=$user password=$password ca=$dir/cert.pem log=$dir/maillog"
    exit 0
  fi
  sleep 0.1
done
echo "Postfix did not listen on $submission" >&2
cat "$dir/maillog" >&2 2>/dev/null || true
postfix -c "$dir/conf" stop >/dev/null 2>&1 || true
exit 1
