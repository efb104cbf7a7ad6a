"""Bounces and replies end to end: `herald serve --bounce-domain … --inbound-smtp …` sends a
mass email through aiosmtpd, a DSN for one recipient goes back over real SMTP (smtplib) to the
captured VERP return path, and the API shows the bounce, the suppression and the message's
status; a reply matched by In-Reply-To is kept."""
import os
import smtplib
import urllib.request

import pytest

from herald_process import API, Server, free_port, wait_until
from test_sending import Capture, admin_token, contacts, create_and_send, setup_mass_email, wait_sent, workdir  # noqa: F401

DOMAIN = "bounces.example.com"


def fetch_page(server, token, path):
    request = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


def dsn(return_path, recipient, original_id):
    return f"""From: MAILER-DAEMON@mx.example.org
To: {return_path}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown

--BOUNDARY
Content-Type: text/rfc822-headers

Message-ID: {original_id}
Subject: Hello

--BOUNDARY--
""".replace("\n", "\r\n")


def test_a_dsn_over_smtp_bounces_the_right_recipient_and_a_reply_is_kept(workdir):
    capture = Capture(workdir)
    database = os.path.join(workdir, "h.sqlite")
    token = admin_token(database)
    inbound = free_port()
    server = Server(["--database", database, "--transport", capture.transport, "--state-dir", os.path.join(workdir, "state"),
                     "--bounce-domain", DOMAIN, "--inbound-smtp", f"127.0.0.1:{inbound}"], workdir)
    try:
        assert f"Inbound SMTP for bounces and replies at 127.0.0.1:{inbound}" in server.output()
        api = API(server.url, token)
        template, sender = setup_mass_email(api, contacts(3))
        records = api.ok("GET", "/api/v1/modules/contacts/records?limit=10")["records"]
        created = create_and_send(api, template, sender, record_ids=[r["id"] for r in records])
        wait_sent(api, created)
        by_address = {r["rcpt_tos"][0]: r for r in capture.records()}
        assert len(by_address) == 3
        assert all(r["mail_from"].startswith("bounce+") and r["mail_from"].endswith("@" + DOMAIN) for r in by_address.values())
        bounced = by_address["p2@example.org"]

        with smtplib.SMTP("127.0.0.1", inbound, timeout=10) as smtp:
            # Not an open relay.
            smtp.ehlo("mx.example.org")
            smtp.mail("<>")
            code, text = smtp.rcpt("someone@example.net")
            assert code == 550 and b"relay" in text.lower()
            smtp.rset()
            for _ in range(2):  # the same DSN delivered twice counts once
                smtp.sendmail("<>", [bounced["mail_from"]], dsn(bounced["mail_from"], "p2@example.org", bounced["message_id"]))

        def bounces():
            return api.ok("GET", f"/api/v1/mass-emails/{created['id']}/bounces")["bounces"]
        found = wait_until("the bounce is recorded", lambda: bounces() or None, timeout=30)
        assert len(bounces()) == 1
        assert found[0]["address"] == "p2@example.org" and found[0]["kind"] == "hard" and found[0]["status"] == "5.1.1"
        assert "User unknown" in found[0]["diagnostic"]
        raw = api.ok("GET", f"/api/v1/bounces/{found[0]['id']}")["raw"]
        assert "Reporting-MTA: dns; mx.example.org" in raw
        suppressed = {s["address"]: s for s in api.ok("GET", "/api/v1/suppressions")["suppressions"]}
        assert suppressed["p2@example.org"]["reason"] == "hard_bounce"
        assert "p1@example.org" not in suppressed
        rows = {m["address"]: m for m in api.ok("GET", f"/api/v1/mass-emails/{created['id']}/messages?limit=100")["messages"]}
        assert rows["p2@example.org"]["status"] == "bounced"
        assert rows["p1@example.org"]["status"] == "sent"

        replied = by_address["p3@example.org"]
        reply = (f"From: Reader3 <p3@example.org>\r\nTo: replies@{DOMAIN}\r\nSubject: Re: Hello\r\n"
                 f"Message-ID: <reply-1@example.org>\r\nIn-Reply-To: {replied['message_id']}\r\n\r\nCount me in!\r\n")
        with smtplib.SMTP("127.0.0.1", inbound, timeout=10) as smtp:
            smtp.sendmail("p3@example.org", [f"replies@{DOMAIN}"], reply)
        replies = wait_until("the reply is kept",
                             lambda: api.ok("GET", f"/api/v1/mass-emails/{created['id']}/replies")["replies"] or None, timeout=30)
        assert replies[0]["from"] == "p3@example.org" and "Count me in!" in replies[0]["text"]
        on_record = api.ok("GET", f"/api/v1/modules/contacts/records/{replies[0]['record_id']}/replies")["replies"]
        assert [r["id"] for r in on_record] == [replies[0]["id"]]
        assert next(r for r in records if r["id"] == replies[0]["record_id"])["email"] == "p3@example.org"
        # The record's page shows the reply; the figures count it and the hard bounce.
        page = fetch_page(server, token, f"/m/contacts/{replies[0]['record_id']}")
        assert 'id="replies"' in page and "Count me in!" in page
        figures = api.ok("GET", f"/api/v1/mass-emails/{created['id']}")["figures"]
        assert figures["replied"] == 1 and figures["bounced"] == 1
    finally:
        server.stop()
        capture.stop()
