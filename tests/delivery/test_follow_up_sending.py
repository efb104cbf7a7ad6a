"""Follow-ups end to end: `herald serve` sends a mass email with follow-ups through aiosmtpd;
recipients open (the pixel), click, bounce (a DSN over SMTP), unsubscribe and reply (over
SMTP); the follow-ups go to exactly the expected addresses, threaded when asked, once each
across a restart and a kill.

A follow-up is due days later: the tests move its due time to now in the database, as the
passing of those days would."""
import base64
import email
import email.policy
import os
import re
import smtplib
import sqlite3
import time
from collections import Counter
from pathlib import Path

from herald_process import API, Server, free_port, wait_until
from test_bounces import DOMAIN, dsn, fetch_page
from test_engagement import fetch
from test_sending import Capture, admin_token, contacts, everyone_view, setup_mass_email, wait_sent, workdir  # noqa: F401


def make_due(database, mass_email_id, step):
    """The follow-up's time has come: its due time becomes now."""
    with sqlite3.connect(database, timeout=30) as db:
        changed = db.execute("UPDATE follow_up_runs SET due_at = ? WHERE mass_email_id = ? AND step = ? AND status = 'waiting'",
                             (int(time.time()), mass_email_id, step)).rowcount
    assert changed == 1, f"follow-up {step} of mass email {mass_email_id} is not waiting"


def follow_up(api, mass_email, step):
    return api.ok("GET", f"/api/v1/mass-emails/{mass_email['id']}")["follow_up_status"][step - 1]


def wait_follow_up(api, mass_email, step, status, timeout=120):
    return wait_until(f"follow-up {step} is {status}",
                      lambda: (f := follow_up(api, mass_email, step))["status"] == status and f, timeout=timeout)


def parsed(record):
    return email.message_from_bytes(base64.b64decode(record["data"]), policy=email.policy.default)


def by_step(capture, mass_email_id):
    """Captured messages by step, each {address: message}, from their Message-IDs."""
    out = {}
    for record in capture.records():
        step = int(re.match(rf"<herald\.{mass_email_id}\.(\d+)\.", record["message_id"]).group(1))
        out.setdefault(step, {})[record["rcpt_tos"][0]] = parsed(record)
    return out


def test_follow_ups_go_to_exactly_the_expected_recipients_threaded_when_asked(workdir):
    capture = Capture(workdir)
    database = os.path.join(workdir, "h.sqlite")
    token = admin_token(database)
    inbound = free_port()
    server = Server(["--database", database, "--transport", capture.transport, "--state-dir", os.path.join(workdir, "state"),
                     "--machine-window", "0", "--bounce-domain", DOMAIN, "--inbound-smtp", f"127.0.0.1:{inbound}"], workdir)
    try:
        api = API(server.url, token)
        template, sender = setup_mass_email(api, contacts(50))
        reminder = api.ok("POST", "/api/v1/modules/contacts/templates", {
            "name": "Reminder", "subject": "Reminder",
            "html": "<p>Still thinking about it, {{first_name}}? <a href=\"https://example.com/offer\">See the offer</a></p>",
        })
        thanks = api.ok("POST", "/api/v1/modules/contacts/templates", {
            "name": "Thanks", "subject": "Thanks for reading, {{first_name}}", "html": "<p>Glad you liked it.</p>",
        })
        created = api.ok("POST", "/api/v1/mass-emails", {
            "name": "Launch", "module": "contacts", "template_id": template["id"], "sender_id": sender["id"],
            "recipients": {"view_id": everyone_view(api)["id"]}, "schedule": {"send": "now"},
            "trigger_actions": [{"event": "opened", "action": "add_task", "subject": "Call back", "due_in_days": 1,
                                 "assignee": "record_owner"}],
            "follow_ups": [
                {"template_id": reminder["id"], "delay": {"amount": 3, "unit": "days"}, "threaded": True,
                 "exclude": {"match": "any", "rules": [{"engagement": "opened"}, {"engagement": "clicked"}, {"engagement": "replied"}]}},
                {"template_id": thanks["id"], "delay": {"amount": 1, "unit": "days"}, "after": "previous_follow_up",
                 "exclude": {"match": "all", "rules": [{"engagement": "not_opened"}]}},
            ],
        })
        wait_sent(api, created)
        originals = by_step(capture, created["id"])[0]
        assert len(originals) == 50
        first = wait_until("follow-up 1 has its time", lambda: (f := follow_up(api, created, 1))["due_at"] and f)
        assert first["status"] == "waiting"
        assert follow_up(api, created, 2)["status"] == "waiting" and follow_up(api, created, 2)["due_at"] is None

        def html(address):
            return originals[address].get_body(("html",)).get_content()

        # p2's message bounces (a DSN to its VERP address); p3 replies (In-Reply-To); p4–p8 open
        # (a person's browser); p9 and p10 click; p11 unsubscribes (one click); p12 is opened by
        # Apple's proxy only, which is not an open.
        return_path = next(r["mail_from"] for r in capture.records() if r["rcpt_tos"][0] == "p2@example.org")
        with smtplib.SMTP("127.0.0.1", inbound, timeout=10) as smtp:
            smtp.sendmail("<>", [return_path], dsn(return_path, "p2@example.org", originals["p2@example.org"]["Message-ID"]))
            reply = (f"From: Reader3 <p3@example.org>\r\nTo: news@example.com\r\nSubject: Re: Hello\r\n"
                     f"Message-ID: <reply-3@example.org>\r\nIn-Reply-To: {originals['p3@example.org']['Message-ID']}\r\n\r\nTell me more.\r\n")
            smtp.sendmail("p3@example.org", [f"replies@{DOMAIN}"], reply)
        for i in range(4, 9):
            assert fetch(re.search(r'<img src="([^"]+/t/o/[a-z2-7]+)"', html(f"p{i}@example.org")).group(1))[0] == 200
        for i in (9, 10):
            assert fetch(re.search(r'href="([^"]+/t/c/[a-z2-7]+)"', html(f"p{i}@example.org")).group(1))[0] == 302
        one_click = re.findall(r"<(http[^>]+)>", originals["p11@example.org"]["List-Unsubscribe"])[0]
        assert fetch(one_click, method="POST", data=b"List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")[0] == 200
        assert fetch(re.search(r'<img src="([^"]+/t/o/[a-z2-7]+)"', html("p12@example.org")).group(1), agent="Mozilla/5.0")[0] == 200
        wait_until("the engagement is recorded", lambda: (f := api.ok("GET", f"/api/v1/mass-emails/{created['id']}")["figures"])
                   ["opened"] == 7 and f["unsubscribed"] == 1 and f["replied"] == 1 and f["bounced"] == 1 and f["machine_opened"] == 1)

        make_due(database, created["id"], 1)
        run = wait_follow_up(api, created, 1, "sent")
        steps = by_step(capture, created["id"])
        expected = {f"p{i}@example.org" for i in [1, *range(12, 51)]}
        assert set(steps[1]) == expected
        assert run["excluded"] == {"bounced": 1, "unsubscribed": 1, "opted_out": 0, "suppressed": 0, "criteria": 8}
        assert run["figures"]["sent"] == 40
        for address, message in steps[1].items():
            original = originals[address]["Message-ID"]
            assert message["In-Reply-To"] == original and message["References"] == original
            assert message["Subject"] == f"Re: Hello {address.split('@')[0].replace('p', 'Reader')}"
            assert "Still thinking about it" in message.get_body(("html",)).get_content()

        # An open of a follow-up counts for the follow-up, and fires the mass email's "opened"
        # action once per recipient: p20 opens the follow-up, then the original, and gets one task.
        follow_up_html = steps[1]["p20@example.org"].get_body(("html",)).get_content()
        assert fetch(re.search(r'<img src="([^"]+/t/o/[a-z2-7]+)"', follow_up_html).group(1))[0] == 200
        wait_until("the follow-up's open is counted", lambda: follow_up(api, created, 1)["figures"]["opened"] == 1)
        assert fetch(re.search(r'<img src="([^"]+/t/o/[a-z2-7]+)"', html("p20@example.org")).group(1))[0] == 200
        wait_until("the original's open is counted", lambda: api.ok("GET", f"/api/v1/mass-emails/{created['id']}")["figures"]["opened"] == 8)
        p20 = api.ok("GET", "/api/v1/modules/contacts/records?q=p20%40example.org")["records"][0]
        tasks = api.ok("GET", "/api/v1/tasks")["tasks"]
        assert len([t for t in tasks if t["record_id"] == p20["id"]]) == 1
        assert len(tasks) == 8, "one task for each of p4–p10 and p20"

        # The second counts from the first; it goes to those who opened (p20 included now).
        second = wait_until("follow-up 2 has its time", lambda: (f := follow_up(api, created, 2))["due_at"] and f)
        assert second["due_at"] > run["started_at"]
        make_due(database, created["id"], 2)
        wait_follow_up(api, created, 2, "sent")
        steps = by_step(capture, created["id"])
        assert set(steps[2]) == {f"p{i}@example.org" for i in [*range(4, 11), 20]}
        for message in steps[2].values():
            assert message["In-Reply-To"] is None and message["Subject"].startswith("Thanks for reading, Reader")
        assert len(capture.records()) == 50 + 40 + 8

        page = fetch_page(server, token, f"/mass-emails/{created['id']}")
        assert 'id="follow-up-1"' in page and 'id="follow-up-2"' in page
        assert "3 days after sending, template “Reminder”, not to those who opened or clicked or replied, as a reply" in page
        summary = fetch_page(server, token, "/mass-emails?tab=sent")
        assert summary.count('class="follow-up-row"') == 2
    finally:
        server.stop()
        capture.stop()


def test_a_restart_before_and_a_kill_while_a_follow_up_fires_send_it_once_to_each(workdir):
    # The sink stops answering MAIL FROM part-way through the follow-up, so that Herald is
    # killed while it holds claimed messages but no transaction is between "." and the reply.
    n = 1500
    capture = Capture(workdir, "--stall-after", str(n + 600))
    database = os.path.join(workdir, "h.sqlite")
    token = admin_token(database)
    args = ["--database", database, "--transport", capture.transport, "--state-dir", os.path.join(workdir, "state")]
    server = Server(args, workdir)
    api = API(server.url, token)
    template, sender = setup_mass_email(api, contacts(n))
    created = api.ok("POST", "/api/v1/mass-emails", {
        "name": "Launch", "module": "contacts", "template_id": template["id"], "sender_id": sender["id"],
        "recipients": {"view_id": everyone_view(api)["id"]}, "schedule": {"send": "now"},
        "follow_ups": [{"template_id": template["id"], "delay": {"amount": 2, "unit": "days"}}],
    })
    wait_sent(api, created, timeout=300)
    wait_until("the follow-up has its time", lambda: follow_up(api, created, 1)["due_at"])
    server.stop()  # a restart between scheduling and firing
    server = Server(args, workdir, name="restarted")
    api = API(server.url, token)
    make_due(database, created["id"], 1)
    wait_until(f"{n + 600} messages arrived", lambda: capture.count() >= n + 600, timeout=300)
    wait_until("the engine waits on the stalled server", lambda: follow_up(api, created, 1)["figures"]["sending"] > 0)
    server.kill9()
    Path(capture.release).touch()
    server = Server(args, workdir, name="killed-and-restarted")
    try:
        api = API(server.url, token)
        wait_follow_up(api, created, 1, "sent", timeout=300)
        ids = Counter(r["message_id"] for r in capture.records() if f"<herald.{created['id']}.1." in r["message_id"])
        assert len(ids) == n, f"{n - len(ids)} recipients got no follow-up"
        duplicates = {k: v for k, v in ids.items() if v > 1}
        assert not duplicates, f"sent twice: {list(duplicates)[:5]}"
    finally:
        server.stop()
        capture.stop()
