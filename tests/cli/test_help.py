"""`herald … --help` reads true and never prints a secret the environment holds."""
import os
import subprocess

from pathlib import Path

HERALD = os.path.abspath(os.environ.get("HERALD_BIN") or Path(__file__).resolve().parents[2] / ".build" / "debug" / "herald")

SECRETS = {
    "HERALD_DATABASE": "postgres://herald:db-secret-pw@127.0.0.1:5999/herald",
    "HERALD_METRICS_TOKEN": "metrics-secret-token",
    "HERALD_TRANSPORT": "smtp://user:relay-secret-pw@127.0.0.1:2525",
    "HERALD_SECRET_KEY": "sealing-secret-key",
    "HERALD_PASSWORD": "admin-secret-pw",
    "HERALD_INBOUND_SMTP": "127.0.0.1:2526",
}

COMMANDS = [[], ["serve"], ["migrate"], ["user"], ["user", "create"], ["user", "token"], ["user", "list"], ["secrets"],
            ["secrets", "rotate"], ["import"], ["export"], ["bench"], ["bench-mass-email"], ["send-test"]]


def test_no_help_text_prints_a_secret_from_the_environment():
    environment = dict(os.environ, **SECRETS)
    for command in COMMANDS:
        shown = subprocess.run([HERALD, *command, "--help"], capture_output=True, text=True, timeout=60, env=environment)
        assert shown.returncode == 0, (command, shown.stderr)
        text = shown.stdout + shown.stderr
        for secret in ("db-secret-pw", "metrics-secret-token", "relay-secret-pw", "sealing-secret-key", "admin-secret-pw"):
            assert secret not in text, f"herald {' '.join(command)} --help prints {secret}"
    # The database's default is still said, as text.
    serve = subprocess.run([HERALD, "serve", "--help"], capture_output=True, text=True, timeout=60, env=environment)
    assert "(default: herald.sqlite)" in serve.stdout
