"""Mass email end to end: `herald serve` sends through a real SMTP server (aiosmtpd) that
captures every message, and the captured MIME is parsed back with Python's email package."""
import base64
import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from herald_process import API, Server, cli, free_port, wait_until

PEER = Path(__file__).resolve().parent.parent / "peers" / "capture_smtp.py"


class Capture:
    """aiosmtpd capturing into a JSON-lines file."""

    def __init__(self, workdir, *args, port=None, out=None):
        """`port` and `out`: start again where a stopped capture listened and wrote."""
        self.args = args
        self.port = port or free_port()
        self.out = out or os.path.join(workdir, f"captured-{self.port}.jsonl")
        self.release = os.path.join(workdir, f"release-{self.port}")
        Path(self.out).touch()
        self.process = subprocess.Popen(
            [sys.executable, str(PEER), "--port", str(self.port), "--out", self.out, "--release", self.release, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.process.stdout.readline()
        assert "READY" in line, f"capture server did not start: {line}{self.process.stdout.read()}"

    @property
    def transport(self):
        return f"smtp://127.0.0.1:{self.port}?tls=none"

    def transport_as(self, helo):
        return f"{self.transport}&helo={helo}"

    def lines(self):
        """Complete lines only: the server may be writing the last one as we read."""
        return [line for line in Path(self.out).read_text().split("\n")[:-1] if line.strip()]

    def records(self):
        return [json.loads(line) for line in self.lines()]

    def count(self):
        return len(self.lines())

    def stop(self):
        if self.process.poll() is not None:
            return
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def kill(self):
        """SIGKILL, as a relay that dies: connections drop wherever they are."""
        self.process.kill()
        self.process.wait()


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="herald-delivery-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def admin_token(database):
    """Makes the admin with the command line and returns an API token for it."""
    cli("user", "create", "--database", database, "--email", "admin@example.com", "--name", "Ada Admin", "--role", "admin",
        env={"HERALD_PASSWORD": "a-long-password"})
    token = cli("user", "token", "--database", database, "--email", "admin@example.com").strip()
    return token


def setup_mass_email(api, contacts_csv, *, name="Launch"):
    report = api.ok("POST", "/api/v1/modules/contacts/import?duplicates=allow", raw=contacts_csv.encode(), content_type="text/csv")
    assert report["failed"] == 0, report
    template = api.ok("POST", "/api/v1/modules/contacts/templates", {
        "name": f"{name} template", "subject": "Hello {{first_name | \"friend\"}}",
        "html": "<p>Dear {{first_name | \"friend\"}},</p><p>News from {{sender.name}}: <a href=\"https://example.com/news\">read it</a>.</p>",
    })
    senders = api.ok("GET", "/api/v1/senders")["senders"]
    sender = senders[0] if senders else api.ok("POST", "/api/v1/senders", {"email": "news@example.com", "name": "Herald News"})
    return template, sender


def contacts(n, prefix="p"):
    lines = ["first_name,last_name,email,email_opt_out"]
    lines += [f"Reader{i},Person,{prefix}{i}@example.org,false" for i in range(1, n + 1)]
    return "\n".join(lines) + "\n"


def create_and_send(api, template, sender, view_id=None, record_ids=None, name="Launch"):
    recipients = {"view_id": view_id} if view_id else {"record_ids": record_ids}
    return api.ok("POST", "/api/v1/mass-emails", {
        "name": name, "module": "contacts", "template_id": template["id"], "sender_id": sender["id"],
        "recipients": recipients, "schedule": {"send": "now"},
    })


def wait_sent(api, mass_email, timeout=120):
    """Waits until the mass email's status is sent; returns it as the API shows it."""
    return wait_until("the mass email is sent",
                      lambda: (m := api.ok("GET", f"/api/v1/mass-emails/{mass_email['id']}"))["status"] == "sent" and m,
                      timeout=timeout)


def everyone_view(api):
    return api.ok("POST", "/api/v1/modules/contacts/views", {"name": "Everyone", "criteria": {"all": []}})


def test_every_recipient_gets_one_correctly_personalised_message(workdir):
    capture = Capture(workdir)
    database = os.path.join(workdir, "h.sqlite")
    token = admin_token(database)
    server = Server(["--database", database, "--transport", capture.transport, "--state-dir", os.path.join(workdir, "state")], workdir)
    try:
        api = API(server.url, token)
        csv = contacts(40) + "\n".join([
            "Ada,Lovelace,Ada@Example.org,false",
            "Ada,Again,ada@example.org,false",       # the same address: one message
            "Bob,Out,bob@example.org,true",           # opted out
            "Carol,Suppressed,carol@example.org,false",
            "Nobody,Noemail,,false",
        ]) + "\n"
        template, sender = setup_mass_email(api, csv)
        api.ok("POST", "/api/v1/suppressions", {"address": "carol@example.org", "reason": "manual"})
        view = everyone_view(api)
        created = create_and_send(api, template, sender, view_id=view["id"])
        done = wait_sent(api, created)
        records = capture.records()
        assert len(records) == 41
        ids = Counter(r["message_id"] for r in records)
        assert len(ids) == 41 and max(ids.values()) == 1
        by_address = {r["rcpt_tos"][0]: r for r in records}
        assert set(by_address) == {f"p{i}@example.org" for i in range(1, 41)} | {"ada@example.org"}
        message = email.message_from_bytes(base64.b64decode(by_address["p7@example.org"]["data"]), policy=email.policy.default)
        assert message["Subject"] == "Hello Reader7"
        assert message["To"].addresses[0].addr_spec == "p7@example.org"
        assert message["From"].addresses[0].addr_spec == sender["email"]
        html = message.get_body(("html",)).get_content()
        text = message.get_body(("plain",)).get_content()
        assert "Dear Reader7," in html and "Dear Reader7," in text
        assert "https://example.com/news" in text
        assert by_address["p7@example.org"]["mail_from"] == sender["email"]
        assert done["skipped"] == {"duplicate": 1, "opted_out": 1, "suppressed": 1, "no_email": 1, "invalid_email": 0}
        assert done["figures"]["sent"] == 41
        # The log says what was skipped in the API's words, and that the mass email finished.
        log = server.output()
        resolved = next(line for line in log.splitlines() if "recipients resolved" in line)
        assert "skipped_opted_out=1" in resolved and "skipped_suppressed=1" in resolved, resolved
        assert "SkipReason" not in log
        finished = next((line for line in log.splitlines() if "mass email finished" in line), None)
        assert finished and "sent=41" in finished and "recipients=41" in finished and "seconds=" in finished, log[-2000:]
        rows = api.ok("GET", f"/api/v1/mass-emails/{created['id']}/messages?limit=1000")["messages"]
        assert len(rows) == 41 and all(r["status"] == "sent" and r["smtp_code"] == 250 for r in rows)
    finally:
        server.stop()
        capture.stop()


def test_kill_minus_nine_mid_send_then_restart_sends_each_message_once(workdir):
    # The sink stops answering MAIL FROM after 1,500 messages, so that Herald is killed while
    # it holds claimed messages but no transaction is between its final "." and the reply.
    capture = Capture(workdir, "--stall-after", "1500")
    database = os.path.join(workdir, "h.sqlite")
    state = os.path.join(workdir, "state")
    token = admin_token(database)
    server = Server(["--database", database, "--transport", capture.transport, "--state-dir", state], workdir)
    api = API(server.url, token)
    template, sender = setup_mass_email(api, contacts(5000))
    created = create_and_send(api, template, sender, view_id=everyone_view(api)["id"])
    wait_until("1,500 messages arrived", lambda: capture.count() >= 1500, timeout=300)
    wait_until("the engine waits on the stalled server",
                lambda: api.ok("GET", f"/api/v1/mass-emails/{created['id']}")["figures"]["sending"] > 0)
    server.kill9()
    Path(capture.release).touch()
    server = Server(["--database", database, "--transport", capture.transport, "--state-dir", state], workdir, name="restarted")
    try:
        api = API(server.url, token)
        wait_sent(api, created, timeout=300)
        ids = Counter(r["message_id"] for r in capture.records())
        assert len(ids) == 5000, f"{5000 - len(ids)} recipients got nothing"
        duplicates = {k: v for k, v in ids.items() if v > 1}
        assert not duplicates, f"sent twice: {list(duplicates)[:5]}"
    finally:
        server.stop()
        capture.stop()


def test_kill_minus_nine_at_any_moment_loses_nothing_and_repeats_at_most_one_per_connection(workdir):
    # No stall here: the kill lands wherever the sending is. Messages whose reply Herald had
    # noted are never sent again; the one per connection between its final "." and the noted
    # reply (the window SMTP leaves unknowable) may be.
    capture = Capture(workdir, "--delay", "0.0005")
    database = os.path.join(workdir, "h.sqlite")
    state = os.path.join(workdir, "state")
    token = admin_token(database)
    args = ["--database", database, "--transport", capture.transport, "--state-dir", state, "--smtp-connections", "4"]
    server = Server(args, workdir)
    api = API(server.url, token)
    template, sender = setup_mass_email(api, contacts(3000))
    created = create_and_send(api, template, sender, view_id=everyone_view(api)["id"])
    wait_until("1,000 messages arrived", lambda: capture.count() >= 1000, timeout=300, interval=0.01)
    server.kill9()
    server = Server(args, workdir, name="restarted")
    try:
        api = API(server.url, token)
        wait_sent(api, created, timeout=300)
        ids = Counter(r["message_id"] for r in capture.records())
        assert len(ids) == 3000, f"{3000 - len(ids)} recipients got nothing"
        repeated = sum(n - 1 for n in ids.values())
        assert repeated <= 4, f"{repeated} messages sent twice; at most one per connection may be"
    finally:
        server.stop()
        capture.stop()


@pytest.mark.skipif(not os.environ.get("HERALD_TEST_POSTGRES_URL"), reason="needs the test script's PostgreSQL")
def test_two_processes_on_one_postgres_send_one_mass_email_together(workdir):
    base = os.environ["HERALD_TEST_POSTGRES_URL"]
    name = "herald_e2e_" + os.urandom(6).hex()
    subprocess.run(["psql", base, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    database = base.rsplit("/", 1)[0] + "/" + name
    capture = Capture(workdir, "--delay", "0.001")
    token = admin_token(database)
    first = Server(["--database", database, "--transport", capture.transport_as("first.test"),
                    "--state-dir", os.path.join(workdir, "a")], workdir, name="a")
    second = Server(["--database", database, "--transport", capture.transport_as("second.test"),
                     "--state-dir", os.path.join(workdir, "b")], workdir, name="b")
    try:
        api = API(first.url, token)
        template, sender = setup_mass_email(api, contacts(5000))
        created = create_and_send(api, template, sender, view_id=everyone_view(api)["id"])
        wait_sent(API(second.url, token), created, timeout=300)
        records = capture.records()
        ids = Counter(r["message_id"] for r in records)
        assert len(ids) == 5000
        assert max(ids.values()) == 1
        # Both processes took part.
        assert {r["helo"] for r in records} == {"first.test", "second.test"}
    finally:
        first.stop()
        second.stop()
        capture.stop()
        subprocess.run(["psql", base, "-q", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)
