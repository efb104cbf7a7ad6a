"""Engagement end to end: a mass email goes through aiosmtpd, the open pixel, click links and
unsubscribe headers are taken out of the captured MIME, and requested with a real HTTP client."""
import base64
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


def test_opens_clicks_and_unsubscribes_come_back_from_the_captured_messages(workdir):
    capture = Capture(workdir)
    database = os.path.join(workdir, "h.sqlite")
    token = admin_token(database)
    # No quiet window: this test opens messages a moment after they were delivered.
    server = Server(["--database", database, "--transport", capture.transport, "--state-dir", os.path.join(workdir, "state"),
                     "--machine-window", "0"], workdir)
    try:
        api = API(server.url, token)
        report = api.ok("POST", "/api/v1/modules/contacts/import?duplicates=allow", raw=contacts(5).encode(), content_type="text/csv")
        assert report["failed"] == 0
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
        assert re.search(r"<strong>2</strong> opened", page)
        assert re.search(r"<strong>1</strong> unsubscribed", page)
    finally:
        server.stop()
        capture.stop()
