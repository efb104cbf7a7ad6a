"""`herald serve` that cannot listen says so first, in words, and makes nothing: not the
database, not the first admin (whose one-time password would be printed and lost)."""
import os
import socket
import subprocess

from pathlib import Path

HERALD = os.path.abspath(os.environ.get("HERALD_BIN") or Path(__file__).resolve().parents[2] / ".build" / "debug" / "herald")


def serve(*arguments, cwd):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    return subprocess.run([HERALD, "serve", "--database", "herald.sqlite", *arguments],
                          capture_output=True, text=True, timeout=60, cwd=cwd, env=environment)


def test_a_port_in_use_fails_before_anything_is_made(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = serve("--port", str(port), cwd=tmp_path)
    assert run.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in run.stderr and "choose --port" in run.stderr
    assert "password" not in run.stdout
    assert not (tmp_path / "herald.sqlite").exists()


def test_a_host_that_is_not_here_fails_in_words(tmp_path):
    run = serve("--port", "0", "--host", "no-such-host.invalid", cwd=tmp_path)
    assert run.returncode == 1
    assert "--host: cannot listen on no-such-host.invalid" in run.stderr and "SocketAddressError" not in run.stderr
    assert not (tmp_path / "herald.sqlite").exists()


def test_a_state_folder_or_outbox_that_cannot_be_made_is_named(tmp_path):
    (tmp_path / "plain-file").write_text("x")
    state = serve("--port", "0", "--state-dir", "plain-file/state", cwd=tmp_path)
    assert state.returncode == 1
    assert "--state-dir: cannot make the folder" in state.stderr and "plain-file is a file, not a folder" in state.stderr, state.stderr[-2000:]
    assert "NSCocoaErrorDomain" not in state.stderr and "cannot open the database" not in state.stderr
    outbox = serve("--port", "0", "--outbox", "plain-file", cwd=tmp_path)
    assert outbox.returncode == 1
    assert "--outbox: cannot write in" in outbox.stderr and "--transport" in outbox.stderr, outbox.stderr[-2000:]
    assert "password" not in outbox.stdout, "no first admin is made (its one-time password printed) by a run that fails"
