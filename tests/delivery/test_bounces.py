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


def dsn(return_path, recipient, original_id, status="5.1.1",
        diagnostic="550 5.1.1 <{recipient}>: Recipient address rejected: User unknown", report_id="dsn-1@mx.example.org"):
    diagnostic = diagnostic.format(recipient=recipient)
    return f"""From: MAILER-DAEMON@mx.example.org
To: {return_path}
Subject: Undelivered Mail Returned to Sender
Message-ID: <{report_id}>
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
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--BOUNDARY
Content-Type: text/rfc822-headers

Message-ID: {original_id}
Subject: Hello

--BOUNDARY--
""".replace("\n", "\r\n")


def arf(return_path, complainant):
    """A complaint as Yahoo's feedback loop sends it (RFC 5965), the complainant redacted."""
    return f"""From: feedbackloop@yahoo.example
To: fbl@{DOMAIN}
Subject: Email Feedback Report for IP 192.0.2.1
Message-ID: <cfl-1@yahoo.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 0.1
Original-Mail-From: <{return_path}>

--F
Content-Type: text/rfc822-headers

Return-Path: <{return_path}>
From: News <news@example.com>
To: redacted@yahoo.example
Subject: Hello

--F--
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

        # A block list's refusal keeps the address and says what to do; a complaint (ARF, to
        # any address at the bounce domain) suppresses with its reason.
        blocked = by_address["p1@example.org"]
        with smtplib.SMTP("127.0.0.1", inbound, timeout=10) as smtp:
            smtp.sendmail("<>", [blocked["mail_from"]], dsn(
                blocked["mail_from"], "p1@example.org", blocked["message_id"], status="5.7.1", report_id="dsn-2@mx.example.org",
                diagnostic="554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"))
            smtp.sendmail("", [f"fbl@{DOMAIN}"], arf(replied["mail_from"], "p3@example.org"))
        wait_until("the refusal and the complaint are recorded", lambda: len(bounces()) == 3 or None, timeout=30)
        by_kind = {b["kind"]: b for b in bounces()}
        assert by_kind["refused"]["reason"] == "blocked" and "block list" in by_kind["refused"]["likely_fix"]
        assert by_kind["refused"]["suppressed_address"] is False
        assert by_kind["hard"]["reason"] == "user_unknown" and by_kind["hard"]["suppressed_address"] is True
        assert by_kind["complaint"]["address"] == "p3@example.org" and by_kind["complaint"]["source"] == "arf"
        suppressed = {s["address"]: s for s in api.ok("GET", "/api/v1/suppressions")["suppressions"]}
        assert "p1@example.org" not in suppressed
        assert suppressed["p3@example.org"]["reason"] == "complaint"
        assert suppressed["p2@example.org"]["detail"].startswith("user unknown")
        figures = api.ok("GET", f"/api/v1/mass-emails/{created['id']}")["figures"]
        assert figures["refused_by_reason"] == {"blocked": 1} and figures["complained"] == 1
        # Per delivered message: p1 and p2 bounced, so one complaint of one delivered.
        assert figures["sent"] == 1 and figures["complaint_rate"] == 100
        page = fetch_page(server, token, f"/mass-emails/{created['id']}/bounces")
        assert "refused by the receiver" in page and "Refused by the receiver: sender blocked or poor reputation" in page
        assert "Address does not exist" in page
        page = fetch_page(server, token, f"/mass-emails/{created['id']}")
        assert 'id="refusals"' in page and "Likely fix:" in page and 'id="complaints"' in page and "100.0%" in page
        summary = fetch_page(server, token, "/mass-emails")
        assert "Complaints" in summary and "1 refused" in summary
    finally:
        server.stop()
        capture.stop()
