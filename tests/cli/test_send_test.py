"""`herald send-test`: one line to try a transport, with plain errors and exit codes."""
import json
import os
import socket
import subprocess
import sys

from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

HERALD = os.path.abspath(os.environ.get("HERALD_BIN") or Path(__file__).resolve().parents[2] / ".build" / "debug" / "herald")


def send_test(transport, *extra):
    return subprocess.run(
        [HERALD, "send-test", "--transport", transport, "--from", "sender@example.com", "--to", "rcpt@example.org", *extra],
        capture_output=True, text=True, timeout=60)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Capture:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    handler = Capture()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_outbox_writes_an_eml_file(tmp_path):
    result = send_test(f"file://{tmp_path}/outbox")
    assert result.returncode == 0, result.stderr
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    text = files[0].read_text()
    assert "rcpt@example.org" in text and "sender@example.com" in text


def test_delivers_over_smtp(smtp_server):
    controller, handler = smtp_server
    result = send_test(f"smtp://127.0.0.1:{controller.port}?tls=none", "--subject", "Grüße from Herald")
    assert result.returncode == 0, result.stderr
    assert "accepted" in result.stdout and "rcpt@example.org" in result.stdout
    assert len(handler.messages) == 1
    envelope = handler.messages[0]
    assert envelope.mail_from == "sender@example.com" and envelope.rcpt_tos == ["rcpt@example.org"]
    assert b"=?utf-8?" in envelope.original_content.lower() or b"=?UTF-8?" in envelope.original_content


def test_refused_connection_is_a_plain_error_without_the_password():
    result = send_test(f"smtp://user:s3cret-pw@127.0.0.1:{free_port()}?tls=none")
    assert result.returncode != 0
    assert "connection refused" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_password_is_never_sent_in_clear(smtp_server):
    controller, handler = smtp_server
    result = send_test(f"smtp://user:s3cret-pw@127.0.0.1:{controller.port}?tls=none")
    assert result.returncode != 0
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert "only sent over TLS" in result.stderr
    # How it could be allowed, and where only: a relay on this machine.
    assert "cleartext_auth=loopback" in result.stderr
    assert handler.messages == []


def test_unknown_scheme():
    result = send_test("ftp://example.com")
    assert result.returncode != 0
    assert "unknown scheme 'ftp'" in result.stderr


# --- STARTTLS and AUTH against aiosmtpd with a self-signed certificate ----------------
# The server is Mail's own test peer (Tests/MailTests/Peers/aiosmtpd_peer.py): STARTTLS
# required, AUTH only after it, messages captured one JSON line each.
PEER = Path(__file__).resolve().parents[2] / "Tests" / "MailTests" / "Peers" / "aiosmtpd_peer.py"


@pytest.fixture
def tls_server(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    port = free_port()
    captured = tmp_path / "captured.jsonl"
    peer = subprocess.Popen(
        [sys.executable, str(PEER), "--port", str(port), "--out", str(captured),
         "--cert", str(cert), "--key", str(key), "--auth", "user:s3cret-pw"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert peer.stdout.readline().startswith("READY"), "aiosmtpd peer did not start"
        yield port, cert, captured
    finally:
        peer.stdin.close()  # the peer exits when its stdin closes
        try:
            peer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            peer.kill()


def captured_messages(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_trusted_certificate_and_right_password_deliver(tls_server):
    port, cert, captured = tls_server
    result = send_test(f"smtp://user:s3cret-pw@localhost:{port}?ca={cert}")
    assert result.returncode == 0, result.stderr
    assert "accepted" in result.stdout
    assert "s3cret-pw" not in result.stderr + result.stdout
    [message] = captured_messages(captured)
    assert message["tls"] and message["auth"]


def assert_clear_failure(result, *phrases, secret):
    assert result.returncode != 0
    for phrase in phrases:
        assert phrase in result.stderr
    assert secret not in result.stderr + result.stdout


def test_wrong_password_is_a_clear_error(tls_server):
    port, cert, captured = tls_server
    result = send_test(f"smtp://user:wrong-pw@localhost:{port}?ca={cert}")
    assert_clear_failure(result, "rejected the credentials for user", "user name or password", secret="wrong-pw")
    assert "the server said: 535" in result.stderr
    assert captured_messages(captured) == []


def test_untrusted_certificate_is_a_clear_tls_error(tls_server):
    port, _, captured = tls_server
    result = send_test(f"smtp://user:s3cret-pw@localhost:{port}")
    assert_clear_failure(result, "certificate is not trusted", "ca=/path/to/ca.pem", secret="s3cret-pw")
    assert captured_messages(captured) == []


def test_a_certificate_not_signed_by_the_given_ca_says_to_check_it_not_to_add_it(tls_server, tmp_path):
    port, _, captured = tls_server
    other = tmp_path / "other.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "other.key"), "-out", str(other),
         "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
    result = send_test(f"smtp://user:s3cret-pw@localhost:{port}?ca={other}")
    assert_clear_failure(result, "not signed by the certificate given in ca=", "Check that ca= names", secret="s3cret-pw")
    assert "add ca=" not in result.stderr
    assert captured_messages(captured) == []


def test_opportunistic_tls_encrypts_without_checking_the_certificate(tls_server):
    # No ca=: the self-signed certificate cannot be checked, and opportunistic TLS does not try.
    port, _, captured = tls_server
    result = send_test(f"smtp://localhost:{port}?tls=opportunistic")
    assert result.returncode == 0, result.stderr
    [message] = captured_messages(captured)
    assert message["tls"]


def test_the_databases_secret_key_file_is_an_option(tmp_path):
    """The DKIM keys of a database whose secrets are sealed with a key file of its own are read
    with --secret-key-file (only HERALD_SECRET_KEY_FILE worked, while the error named the option)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    migrated = subprocess.run([HERALD, "migrate", "--database", "db.sqlite", "--secret-key-file", "own.key"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path, env=environment)
    assert migrated.returncode == 0, migrated.stderr
    (tmp_path / "out").mkdir()
    sent = subprocess.run([HERALD, "send-test", "--transport", f"file://{tmp_path}/out", "--from", "sender@example.com",
                           "--to", "rcpt@example.org", "--database", "db.sqlite", "--secret-key-file", "own.key"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, env=environment)
    assert sent.returncode == 0, sent.stderr
    assert "accepted" in sent.stdout and len(list((tmp_path / "out").iterdir())) == 1
