"""Engagement end to end: a mass email goes through aiosmtpd, the open pixel, click links and
unsubscribe headers are taken out of the captured MIME, and requested with a real HTTP client."""
import base64
import datetime
import time
import email
import email.policy
import os
import re
import urllib.error
import urllib.request

from herald_process import API, Server, wait_until
from test_sending import Capture, admin_token, contacts, create_and_send, everyone_view, wait_sent, workdir  # noqa: F401

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url, method="GET", agent=BROWSER, data=None, content_type=None):
    """(status, headers, body) without following redirects."""
    headers = {"User-Agent": agent}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def start_herald(workdir, n):
    """aiosmtpd, a herald with n contacts imported, and its API; no quiet window, since these
    tests open messages a moment after they were delivered."""
    capture = Capture(workdir)
    database = os.path.join(workdir, "h.sqlite")
    token = admin_token(database)
    server = Server(["--database", database, "--transport", capture.transport, "--state-dir", os.path.join(workdir, "state"),
                     "--machine-window", "0"], workdir)
    api = API(server.url, token)
    report = api.ok("POST", "/api/v1/modules/contacts/import?duplicates=allow", raw=contacts(n).encode(), content_type="text/csv")
    assert report["failed"] == 0
    return capture, server, token, api


def test_opens_clicks_and_unsubscribes_come_back_from_the_captured_messages(workdir):
    capture, server, token, api = start_herald(workdir, 5)
    try:
        template = api.ok("POST", "/api/v1/modules/contacts/templates", {
            "name": "Tracked", "subject": "News for {{first_name}}",
            "html": "<html><body><p>Hi {{first_name}}, <a href=\"https://example.com/news?a=1&amp;b=2\">read the news</a> "
                    "or <a href=\"https://example.com/quiet\" data-herald-notrack>this</a> "
                    "or <a href=\"mailto:help@example.com\">write</a>.</p></body></html>",
        })
        sender = api.ok("POST", "/api/v1/senders", {"email": "news@example.com", "name": "Herald News"})
        created = create_and_send(api, template, sender, view_id=everyone_view(api)["id"])
        wait_sent(api, created)

        messages = {}
        for record in capture.records():
            message = email.message_from_bytes(base64.b64decode(record["data"]), policy=email.policy.default)
            messages[record["rcpt_tos"][0]] = message
        assert len(messages) == 5

        def parts(address):
            message = messages[address]
            html = message.get_body(("html",)).get_content()
            text = message.get_body(("plain",)).get_content()
            pixel = re.search(r'<img src="([^"]+/t/o/[a-z2-7]+)"', html).group(1)
            clicks = re.findall(r'href="([^"]+/t/c/[a-z2-7]+)"', html)
            return message, html, text, pixel, clicks

        message, html, text, pixel, clicks = parts("p1@example.org")
        assert pixel.startswith(server.url)
        assert len(clicks) == 1, "only the plain https link is tracked"
        assert 'href="https://example.com/quiet" data-herald-notrack' in html
        assert 'href="mailto:help@example.com"' in html
        assert "https://example.com/news?a=1&b=2" in text, "the text part shows the real address"
        assert re.search(r"Unsubscribe: http://\S+/u/[a-z2-7]+", text)
        unsubscribe_urls = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
        assert unsubscribe_urls and unsubscribe_urls[0].startswith(server.url + "/u/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        # p1 opens (a person's browser); p2 clicks with images off; p3 is opened by Apple's proxy only.
        status, headers, body = fetch(pixel)
        assert status == 200 and headers["Content-Type"] == "image/gif" and body.startswith(b"GIF89a")
        status, headers, _ = fetch(parts("p2@example.org")[4][0])
        assert status == 302 and headers["Location"] == "https://example.com/news?a=1&b=2"
        assert fetch(parts("p3@example.org")[3], agent="Mozilla/5.0")[0] == 200
        # A forged token: one letter changed.
        forged = pixel[:-3] + ("a" if pixel[-3] != "a" else "b") + pixel[-2:]
        assert fetch(forged)[0] == 404

        # p4: a GET shows a page and changes nothing; the one-click POST unsubscribes.
        p4 = parts("p4@example.org")[0]
        one_click = re.findall(r"<([^>]+)>", p4["List-Unsubscribe"])[0]
        status, _, page = fetch(one_click)
        assert status == 200 and b"<form method=\"post\"" in page
        assert api.ok("GET", "/api/v1/suppressions")["suppressions"] == []
        status, _, body = fetch(one_click, method="POST", data=b"List-Unsubscribe=One-Click",
                                content_type="application/x-www-form-urlencoded")
        assert status == 200 and body == b"Unsubscribed.\n"

        figures = wait_until("the hits are recorded", lambda: (f := api.ok("GET", f"/api/v1/mass-emails/{created['id']}")["figures"])
                             ["opened"] == 2 and f)
        assert figures["clicked"] == 1
        assert figures["machine_opened"] == 1
        assert figures["unsubscribed"] == 1
        suppressed = api.ok("GET", "/api/v1/suppressions")["suppressions"]
        assert [s["address"] for s in suppressed] == ["p4@example.org"]
        p4_record = api.ok("GET", "/api/v1/modules/contacts/records?q=p4%40example.org")["records"][0]
        assert p4_record["email_opt_out"] is True
        rows = {r["address"]: r for r in api.ok("GET", f"/api/v1/mass-emails/{created['id']}/messages")["messages"]}
        assert rows["p1@example.org"]["opens"] == 1 and rows["p1@example.org"]["opened_at"]
        assert rows["p2@example.org"]["clicks"] == 1
        assert rows["p3@example.org"]["machine_opens"] == 1 and rows["p3@example.org"]["opened_at"] is None

        # The mass email's page shows the figures and draws the chart on the server.
        request = urllib.request.Request(f"{server.url}/mass-emails/{created['id']}", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            page = response.read().decode()
        assert "<svg" in page and "opens and clicks per hour" in page
        assert "one person who opened twice counts twice here" in page  # hits, beside figures of people
        assert re.search(r"<strong>2</strong> opened", page)
        assert re.search(r"<strong>1</strong> unsubscribed", page)
    finally:
        server.stop()
        capture.stop()


def test_trigger_actions_run_once_per_recipient_when_people_open_and_click(workdir):
    capture, server, token, api = start_herald(workdir, 3)
    try:
        admin = api.ok("GET", "/api/v1/me")
        sam = api.ok("POST", "/api/v1/users", {"email": "sam@example.com", "name": "Sam Sales", "role": "user",
                                                "password": "a-long-password", "time_zone": "UTC"})
        template = api.ok("POST", "/api/v1/modules/contacts/templates", {
            "name": "Offer", "subject": "An offer for {{first_name}}",
            "html": "<p>Hi {{first_name}}, <a href=\"https://example.com/offer\">see the offer</a>.</p>"})
        sender = api.ok("POST", "/api/v1/senders", {"email": "news@example.com", "name": "Herald News"})
        view = everyone_view(api)
        created = api.ok("POST", "/api/v1/mass-emails", {
            "name": "Offer", "module": "contacts", "template_id": template["id"], "sender_id": sender["id"],
            "recipients": {"view_id": view["id"]}, "schedule": {"send": "now"},
            "trigger_actions": [
                {"event": "opened", "action": "update_field", "field": "mailing_city", "value": "Opened it"},
                {"event": "opened", "action": "add_task", "subject": "Follow up the offer", "due_in_days": 2,
                 "status": "not_started", "priority": "high", "assignee": "record_owner"},
                {"event": "clicked", "action": "schedule_call", "subject": "Call about the offer", "owner": sam["id"],
                 "start_after_minutes": 90},
            ]})
        wait_sent(api, created)
        pages = {}
        for record in capture.records():
            message = email.message_from_bytes(base64.b64decode(record["data"]), policy=email.policy.default)
            html = message.get_body(("html",)).get_content()
            pages[record["rcpt_tos"][0]] = (re.search(r'<img src="([^"]+/t/o/[a-z2-7]+)"', html).group(1),
                                            re.search(r'href="([^"]+/t/c/[a-z2-7]+)"', html).group(1))
        records = {r["email"]: r for r in api.ok("GET", "/api/v1/modules/contacts/records?limit=10")["records"]}

        # p1 opens three times; p2 clicks (which is an open too); p3 is only scanned by a machine.
        started = time.time()
        for _ in range(3):
            assert fetch(pages["p1@example.org"][0])[0] == 200
        assert fetch(pages["p2@example.org"][1])[0] == 302
        assert fetch(pages["p3@example.org"][0], agent="Mozilla/5.0 (compatible; Barracuda Sentinel)")[0] == 200
        assert fetch(pages["p3@example.org"][1], method="HEAD")[0] == 302

        def tasks():
            return api.ok("GET", "/api/v1/tasks")["tasks"]
        wait_until("both openers have their task", lambda: len(tasks()) == 2, timeout=30)
        wait_until("the clicker has a call", lambda: len(api.ok("GET", "/api/v1/calls")["calls"]) == 1, timeout=30)
        # More opens after the actions ran change nothing.
        assert fetch(pages["p1@example.org"][0])[0] == 200
        wait_until("the last open is counted", lambda: next(
            m for m in api.ok("GET", f"/api/v1/mass-emails/{created['id']}/messages")["messages"]
            if m["address"] == "p1@example.org")["opens"] == 4, timeout=30)

        by_record = {t["record_id"]: t for t in tasks()}
        assert len(tasks()) == 2, "one task per recipient, however often they open"
        assert set(by_record) == {records["p1@example.org"]["id"], records["p2@example.org"]["id"]}
        task = by_record[records["p1@example.org"]["id"]]
        assert task["subject"] == "Follow up the offer" and task["priority"] == "high" and task["status"] == "not_started"
        assert task["assignee_id"] == admin["id"], "the record's owner"
        opened_on = datetime.datetime.fromtimestamp(started, datetime.timezone.utc).date()
        assert task["due_date"] in {str(opened_on + datetime.timedelta(days=2)), str(opened_on + datetime.timedelta(days=3))}
        calls = api.ok("GET", "/api/v1/calls")["calls"]
        assert [c["record_id"] for c in calls] == [records["p2@example.org"]["id"]]
        assert calls[0]["owner_id"] == sam["id"] and calls[0]["subject"] == "Call about the offer"
        start = datetime.datetime.fromisoformat(calls[0]["start_at"].replace("Z", "+00:00")).timestamp()
        assert started + 90 * 60 - 5 <= start <= time.time() + 90 * 60 + 5
        fields = {r["email"]: r for r in api.ok("GET", "/api/v1/modules/contacts/records?limit=10")["records"]}
        assert fields["p1@example.org"]["mailing_city"] == "Opened it"
        assert fields["p2@example.org"]["mailing_city"] == "Opened it"
        assert fields["p3@example.org"].get("mailing_city") in (None, ""), "machines fire nothing"
    finally:
        server.stop()
        capture.stop()
