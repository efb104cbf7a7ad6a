"""DKIM end to end: a sending domain's keys made by Herald, its records published in a real
DNS server on loopback (dnsmasq), and every kind of message Herald sends (a mass email, a
follow-up, a template test, a transport test, a forwarded reply) captured by aiosmtpd and
verified by dkimpy, which looks the keys up in that DNS server. After a key rotation the
messages signed before still verify (the old selector stays published), and the new ones
verify under the new selector."""
import base64
import os
import smtplib

import dkim

from herald_process import API, DNS, Server, free_port, wait_until
from test_follow_up_sending import make_due, wait_follow_up
from test_sending import Capture, admin_token, contacts, everyone_view, setup_mass_email, wait_sent, workdir  # noqa: F401

BOUNCE_DOMAIN = "bounce.example.com"


def verify_all(raw, dns_server):
    """The d= and s= of each DKIM signature of `raw`, failing unless every one verifies."""
    def dnsfunc(name, timeout=5):
        return dns_server.txt(name.decode() if isinstance(name, bytes) else name)

    verifier = dkim.DKIM(raw)
    head = raw.split(b"\r\n\r\n", 1)[0]
    count = sum(1 for line in head.split(b"\r\n") if line.lower().startswith(b"dkim-signature:"))
    assert count > 0, "no DKIM signature:\n" + head.decode(errors="replace")[:2000]
    signed = []
    for index in range(count):
        assert verifier.verify(idx=index, dnsfunc=dnsfunc), f"signature {index} does not verify:\n" + head.decode(errors="replace")[:3000]
        signed.append((verifier.domain.decode(), verifier.selector.decode(), verifier.signature_fields.get(b"a", b"").decode()))
    return signed


def null_sender(record):
    """Sent from the null sender (aiosmtpd gives `MAIL FROM:<>` as "<>"): a forwarded reply."""
    return record["mail_from"] in ("", "<>")


def published(domain):
    return [(key["record_name"], key["record_value"]) for key in domain["keys"] if key["state"] != "retired"]


def test_every_message_is_signed_and_verifies_through_dns_before_and_after_a_rotation(workdir):
    dns_server = DNS(free_port())
    capture = Capture(workdir)
    database = os.path.join(workdir, "h.sqlite")
    token = admin_token(database)
    inbound = free_port()
    server = Server(["--database", database, "--transport", capture.transport, "--state-dir", os.path.join(workdir, "state"),
                     "--dns-server", f"127.0.0.1:{dns_server.port}", "--bounce-domain", BOUNCE_DOMAIN,
                     "--inbound-smtp", f"127.0.0.1:{inbound}", "--machine-window", "0"], workdir)
    try:
        api = API(server.url, token)
        template, sender = setup_mass_email(api, contacts(5))
        assert sender["email"].endswith("@example.com")
        domain = api.ok("POST", "/api/v1/domains", {"domain": "example.com", "ed25519": True})
        assert sorted(k["algorithm"] for k in domain["keys"]) == ["ed25519-sha256", "rsa-sha256"]
        dns_server.serve(published(domain))
        check = api.ok("POST", f"/api/v1/domains/{domain['id']}/check", {})
        assert [c["verdict"] for c in check["checks"] if c["record"]["purpose"] == "dkim"] == ["found", "found"]
        assert check["domain"]["verified"] is True
        assert api.ok("GET", "/api/v1/senders")["senders"][0]["dkim"] == "verified"
        api.ok("PUT", "/api/v1/settings/bounces", {"forward_replies": True})

        # A mass email with a follow-up, a template test, a transport test.
        reminder = api.ok("POST", "/api/v1/modules/contacts/templates", {"name": "Reminder", "subject": "Reminder", "html": "<p>Still?</p>"})
        created = api.ok("POST", "/api/v1/mass-emails", {
            "name": "Signed", "module": "contacts", "template_id": template["id"], "sender_id": sender["id"],
            "recipients": {"view_id": everyone_view(api)["id"]}, "schedule": {"send": "now"},
            "follow_ups": [{"template_id": reminder["id"], "delay": {"amount": 1, "unit": "days"}, "threaded": True}],
        })
        wait_sent(api, created)
        make_due(database, created["id"], 1)
        wait_follow_up(api, created, 1, "sent")
        api.ok("POST", f"/api/v1/templates/{template['id']}/test", {"to": "tester@example.org", "sender_id": sender["id"]})
        api.ok("POST", "/api/v1/settings/transport/test", {"to": "admin-test@example.org", "sender_id": sender["id"]})
        # A reply, forwarded to the sender as a message of its own domain.
        first = next(r for r in capture.records() if r["rcpt_tos"] == ["p1@example.org"])
        reply = (f"From: Reader One <p1@example.org>\r\nTo: replies@{BOUNCE_DOMAIN}\r\nSubject: Re: hello\r\n"
                 f"Message-ID: <reply.1@example.org>\r\nIn-Reply-To: {first['message_id']}\r\n\r\nYes please.\r\n")
        with smtplib.SMTP("127.0.0.1", inbound, timeout=10) as smtp:
            smtp.sendmail("p1@example.org", [f"replies@{BOUNCE_DOMAIN}"], reply)
        try:
            wait_until("the reply is forwarded", lambda: any(null_sender(r) for r in capture.records()), timeout=30)
        except AssertionError:
            raise AssertionError("the reply was not forwarded:\n" + server.output()[-3000:])

        before = capture.records()
        kinds = {"mass email": [r for r in before if ".0." in r["message_id"] and r["rcpt_tos"][0].startswith("p")],
                 "follow-up": [r for r in before if ".1." in r["message_id"]],
                 "template test": [r for r in before if r["rcpt_tos"] == ["tester@example.org"]],
                 "transport test": [r for r in before if r["rcpt_tos"] == ["admin-test@example.org"]],
                 "forwarded reply": [r for r in before if null_sender(r)]}
        for kind, records in kinds.items():
            assert records, f"no {kind} was captured"
            for record in records:
                signatures = verify_all(base64.b64decode(record["data"]), dns_server)
                # RSA on top, Ed25519 beside it, both by example.com.
                assert [(d, a) for d, _, a in signatures] == [("example.com", "rsa-sha256"), ("example.com", "ed25519-sha256")], kind
        old_selectors = {k["selector"] for k in domain["keys"]}

        # Rotation: the old selectors stay published for the period chosen; new messages use the new ones.
        rotated = api.ok("POST", f"/api/v1/domains/{domain['id']}/rotate", {"keep_old_days": 7})
        assert sorted(k["state"] for k in rotated["keys"]) == ["active", "active", "retiring", "retiring"]
        dns_server.serve(published(rotated))
        api.ok("POST", f"/api/v1/domains/{domain['id']}/check", {})
        api.ok("POST", f"/api/v1/templates/{template['id']}/test", {"to": "after-rotation@example.org", "sender_id": sender["id"]})
        after = wait_until("the test after the rotation arrives",
                           lambda: [r for r in capture.records() if r["rcpt_tos"] == ["after-rotation@example.org"]], timeout=30)
        new_selectors = {s for _, s, _ in verify_all(base64.b64decode(after[0]["data"]), dns_server)}
        assert new_selectors.isdisjoint(old_selectors)
        for record in before:
            assert {s for _, s, _ in verify_all(base64.b64decode(record["data"]), dns_server)} <= old_selectors
    finally:
        server.stop()
        capture.stop()
        dns_server.stop()
