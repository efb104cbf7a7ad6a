"""Starting and talking to a real `herald serve` process, for the browser and delivery tests."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def binary():
    path = os.environ.get("HERALD_BIN") or str(ROOT / ".build" / "debug" / "herald")
    if not os.path.exists(path):
        raise RuntimeError(f"the herald binary is missing at {path}; run `swift build` or set HERALD_BIN")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `herald serve`; `url` is where it listens. Its output goes to `log_path`."""

    def __init__(self, args, workdir, name="server", env=None):
        self.workdir = workdir
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([binary(), "serve", "--port", "0", "--bcrypt-cost", "4", *args],
                                        stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir,
                                        env={**os.environ, **(env or {})})
        self.url = self.email = self.password = None
        deadline = time.monotonic() + 60
        start = Path(self.log_path).stat().st_size
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            text = Path(self.log_path).read_text(errors="replace")[start:]
            found = re.search(r"Herald is running at (http://\S+)", text)
            if found:
                self.url = found.group(1).rstrip("/")
                admin = re.search(r"email:\s+(\S+)", text)
                password = re.search(r"password:\s+(\S+)", text)
                self.email = admin.group(1) if admin else None
                self.password = password.group(1) if password else None
                break
            time.sleep(0.05)  # polling the server's output while it starts, not a fixed wait
        if self.url is None:
            self.process.kill()
            raise RuntimeError("Herald did not start:\n" + Path(self.log_path).read_text(errors="replace")[-4000:])

    def output(self):
        return Path(self.log_path).read_text(errors="replace")

    def stop(self):
        """SIGTERM, as a service manager would: Herald must shut down cleanly and exit 0."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("Herald did not stop within 15 s of SIGTERM:\n" + self.output()[-2000:])
        self.log.close()
        assert self.process.returncode == 0, f"Herald exited with {self.process.returncode}:\n" + self.output()[-2000:]

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.log.close()


def cli(*args, env=None):
    """Runs a herald command; returns its standard output, failing with its error text."""
    done = subprocess.run([binary(), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"herald {' '.join(args)} failed ({done.returncode}): {done.stderr}{done.stdout}")
    return done.stdout


class API:
    """The JSON API with a bearer token."""

    def __init__(self, url, token):
        self.url = url
        self.token = token

    def call(self, method, path, body=None, content_type="application/json", raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                text = response.read().decode()
                return response.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            return error.code, (json.loads(text) if text.startswith("{") else text)

    def ok(self, method, path, body=None, **kwargs):
        status, answer = self.call(method, path, body, **kwargs)
        assert 200 <= status < 300, f"{method} {path} answered {status}: {answer}"
        return answer


def wait_until(what, condition, timeout=120, interval=0.1):
    """Polls `condition` until it is true; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting until {what}")


class DNS:
    """dnsmasq answering for example.com from the TXT records given; started again to change them."""

    def __init__(self, port):
        self.port = port
        self.process = None
        self.binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        if not os.path.exists(self.binary):
            message = "dnsmasq is not installed (apt-get install dnsmasq-base)"
            import pytest
            if os.environ.get("HERALD_REQUIRE_PEERS") == "1":
                pytest.fail(message)
            pytest.skip(message)

    def serve(self, records):
        self.stop()
        arguments = [self.binary, "--no-daemon", f"--port={self.port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                     "--no-resolv", "--no-hosts", "--user=root", "--local=/example.com/"]
        arguments += [f"--txt-record={name},{value}" for name, value in records]
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # dnsmasq listens on UDP: it is ready when it answers (a name it does not know: NXDOMAIN).
        wait_until("dnsmasq answers", self.answers, timeout=10, interval=0.05)

    def answers(self):
        import dns.resolver
        try:
            self.resolver().resolve("ready.example.com", "TXT")
        except dns.resolver.NXDOMAIN:
            return True
        except Exception:
            return False
        return True

    def resolver(self):
        import dns.resolver
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        return resolver

    def txt(self, name):
        try:
            answer = self.resolver().resolve(name, "TXT")
        except Exception:
            return None
        return b"".join(answer[0].strings)

    def stop(self):
        if self.process:
            self.process.kill()
            self.process.wait()
            self.process = None
