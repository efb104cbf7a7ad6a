#!/usr/bin/env python3
"""An aiosmtpd server for Mail's tests: STARTTLS or implicit TLS, AUTH, capturing messages.

AUTH offers PLAIN and LOGIN (aiosmtpd's own), or only the mechanisms named with
--mechanism; XOAUTH2 is ours below, offered only when named.

Prints READY <port> once listening; writes one JSON line per message to --out;
exits when stdin closes (so it never outlives the test that started it).
"""
import argparse, asyncio, base64, json, ssl, sys, threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Capture:
    def __init__(self, path, reject, auth):
        self.path = path
        self.reject = set(reject)
        self.auth = auth
        self.lock = threading.Lock()

    async def auth_XOAUTH2(self, server, args):
        # Google's XOAUTH2: base64("user=" user ^A "auth=Bearer " token ^A ^A) as the
        # initial response. A refused token gets a 334 with a JSON error; the client
        # answers with an empty line and then gets the final 535.
        fields = {}
        if len(args) == 2:
            text = base64.b64decode(args[1]).decode("utf-8", "replace")
            fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
        user, token = (self.auth or ":").split(":", 1)
        if fields.get("user") == user and fields.get("auth") == "Bearer " + token:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), token.encode()))
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": base64.b64encode(envelope.original_content or envelope.content).decode(),
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "auth": session.authenticated,
        }
        with self.lock, open(self.path, "a") as out:
            out.write(json.dumps(record) + "\n")
        return "250 2.0.0 OK captured"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--auth", help="user:password")
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--mechanism", action="append", default=[], help="offer only these AUTH mechanisms")
    a = p.parse_args()

    context = None
    if a.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(a.cert, a.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not a.auth:
            return AuthResult(success=False)
        user, password = a.auth.split(":", 1)
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)

    kwargs = dict(data_size_limit=10_000_000, enable_SMTPUTF8=True)
    if context and not a.implicit_tls:
        kwargs["tls_context"] = context
        kwargs["require_starttls"] = True
    if a.auth:
        kwargs["authenticator"] = authenticator
        # With implicit TLS aiosmtpd does not see the session as TLS; it is, so allow AUTH.
        kwargs["auth_require_tls"] = not a.implicit_tls
        offered = set(a.mechanism or ["PLAIN", "LOGIN"])
        kwargs["auth_exclude_mechanism"] = {"PLAIN", "LOGIN", "XOAUTH2"} - offered
    handler = Capture(a.out, a.reject, a.auth)

    async def serve():
        loop = asyncio.get_running_loop()
        # Served directly (not via aiosmtpd's Controller, whose readiness probe cannot
        # speak implicit TLS).
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="peer.test", loop=loop, **kwargs),
            host="127.0.0.1", port=a.port, ssl=context if a.implicit_tls else None)
        print("READY", a.port, flush=True)
        await loop.run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
