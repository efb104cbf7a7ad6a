#!/usr/bin/env python3
"""An aiosmtpd server that captures what Herald sends, for the end-to-end delivery tests.

Writes one JSON line per accepted message to --out (flushed at once): the envelope, the
Message-ID and the raw message in base64. Prints READY when listening; exits when stdin
closes. `--stall-after N` makes it stop answering MAIL FROM after N messages until the
file named by --release exists, so a test can kill Herald while no transaction is open.
`--delay` slows each DATA down, so that a mass email takes a while. `--fsync` makes each
accepted message durable (written and fsynced) before the 250 goes out, as a real MTA's
queue does: what a kill of this server loses was never accepted, so a fault test counts
missing and duplicated recipients exactly.
"""
import argparse, asyncio, base64, email, json, os, sys, threading

from aiosmtpd.controller import Controller


class Capture:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.args.stall_after is not None and self.count >= self.args.stall_after:
            while not os.path.exists(self.args.release):
                await asyncio.sleep(0.02)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.args.reject:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.delay:
            await asyncio.sleep(self.args.delay)
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw)
        record = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "helo": session.host_name,
                  "message_id": message.get("Message-ID", ""), "data": base64.b64encode(raw).decode()}
        with self.lock:
            with open(self.args.out, "a") as out:
                out.write(json.dumps(record) + "\n")
                out.flush()
                if self.args.fsync:
                    os.fsync(out.fileno())
            self.count += 1
        return "250 2.0.0 OK captured"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--delay", type=float, default=0)
    p.add_argument("--stall-after", type=int)
    p.add_argument("--release")
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--fsync", action="store_true")
    args = p.parse_args()
    controller = Controller(Capture(args), hostname="127.0.0.1", port=args.port, data_size_limit=10_000_000)
    controller.start()
    print("READY", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
