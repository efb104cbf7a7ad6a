#!/usr/bin/env python3
"""Benchmark: the open pixel under a burst, against nginx serving the same GIF, in one run.

    [HERALD_BIN=path] scripts/tracking-bench.py [seconds-a-round] [connections] [messages]

Herald (`herald serve`, SQLite) sends a mass email of `messages` recipients into its .eml
outbox; the pixel URLs are taken out of the messages. `wrk` then requests those URLs in
turn, against Herald and against Debian's `nginx` serving a static 43-byte GIF at the same
paths with its access log on (one worker a core), three rounds each, alternating, since this
machine is shared and noisy. Prints each round's rate, the medians and the ratio, then
checks that every hit Herald answered was recorded (a row in message_events), after a
graceful stop. Not a test: nothing fails on a slow machine, only on a lost hit or an error.
"""
import email
import email.policy
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "delivery"))
from herald_process import API, Server, free_port, wait_until  # noqa: E402
from test_sending import admin_token, contacts, create_and_send, everyone_view, wait_sent  # noqa: E402

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
CONNECTIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 64
MESSAGES = int(sys.argv[3]) if len(sys.argv) > 3 else 500
ROUNDS = 3
PIXEL = bytes.fromhex("4749463839610100010080000000000000ffffff21f90401000000002c00000000010001000002024401003b")
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def need(program, package):
    if not shutil.which(program) and not os.path.exists(f"/usr/sbin/{program}"):
        sys.exit(f"{program} is needed: apt-get install {package}")


def pixel_paths(outbox):
    paths = []
    for file in sorted(Path(outbox).rglob("*.eml")):
        message = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
        html = message.get_body(("html",)).get_content()
        found = re.search(r'<img src="https?://[^/"]+(/t/o/[a-z2-7]+)"', html)
        if found:
            paths.append(found.group(1))
    return paths


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read() == PIXEL
    except OSError:
        return False


def wrk(port, script):
    """One round: (requests answered 2xx/3xx a second, requests answered so)."""
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", script, f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"wrk failed: {out.stdout}{out.stderr}")
    total = int(re.search(r"(\d+) requests in ([\d.]+)s", out.stdout).group(1))
    seconds = float(re.search(r"(\d+) requests in ([\d.]+)s", out.stdout).group(2))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout)
    errors = re.search(r"Socket errors: (.*)", out.stdout)
    if bad or errors:
        sys.exit(f"wrk saw failures:\n{out.stdout}")
    return total / seconds, total


def nginx_config(work, port):
    root = Path(work, "www")
    root.mkdir()
    (root / "pixel.gif").write_bytes(PIXEL)
    config = Path(work, "nginx.conf")
    config.write_text(f"""
worker_processes auto;
daemon off;
master_process on;
user root;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log {work}/nginx-access.log;
    client_body_temp_path {work}/tmp-body;
    proxy_temp_path {work}/tmp-proxy;
    fastcgi_temp_path {work}/tmp-fastcgi;
    uwsgi_temp_path {work}/tmp-uwsgi;
    scgi_temp_path {work}/tmp-scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /t/o/ {{
            default_type image/gif;
            add_header Cache-Control "no-store, max-age=0";
            try_files /pixel.gif =404;
        }}
    }}
}}
""")
    return config


def main():
    need("wrk", "wrk")
    need("nginx", "nginx-light")
    work = tempfile.mkdtemp(prefix="tracking-bench-")
    # Every herald command of the run seals its secrets with this one key.
    os.environ["HERALD_SECRET_KEY_FILE"] = os.path.join(work, "secret.key")
    server = nginx = None
    try:
        database = os.path.join(work, "h.sqlite")
        token = admin_token(database)
        outbox = os.path.join(work, "outbox")
        server = Server(["--database", database, "--transport", f"file://{outbox}", "--state-dir", os.path.join(work, "state"),
                         "--machine-window", "0", "--log-level", "warning"], work)
        api = API(server.url, token)
        report = api.ok("POST", "/api/v1/modules/contacts/import?duplicates=allow", raw=contacts(MESSAGES).encode(),
                        content_type="text/csv")
        assert report["failed"] == 0, report
        template = api.ok("POST", "/api/v1/modules/contacts/templates", {
            "name": "Tracked", "subject": "News for {{first_name}}",
            "html": "<p>Hi {{first_name}}, <a href=\"https://example.com/news\">read the news</a>.</p>",
        })
        sender = api.ok("POST", "/api/v1/senders", {"email": "news@example.com", "name": "Herald News"})
        wait_sent(api, create_and_send(api, template, sender, view_id=everyone_view(api)["id"]), timeout=300)
        paths = pixel_paths(outbox)
        assert len(paths) == MESSAGES, f"{len(paths)} pixels in {MESSAGES} messages"
        script = Path(work, "paths.lua")
        script.write_text("paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n" + f"""
i = 0
wrk.headers["User-Agent"] = "{BROWSER}"
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
""")
        herald_port = int(server.url.rsplit(":", 1)[1])
        nginx_port = free_port()
        nginx = subprocess.Popen(["nginx", "-c", str(nginx_config(work, nginx_port))],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until("nginx answers", lambda: answers(f"http://127.0.0.1:{nginx_port}{paths[0]}"), timeout=10, interval=0.05)

        print(f"== the open pixel, {MESSAGES} messages' URLs in turn; wrk, 2 threads, {CONNECTIONS} connections, "
              f"{SECONDS} s a round, {ROUNDS} rounds each, alternating")
        ours, theirs, answered = [], [], 0
        for round in range(1, ROUNDS + 1):
            rate, total = wrk(herald_port, str(script))
            ours.append(rate)
            answered += total
            print(f"round {round}: Herald {rate:,.0f} hits/s", flush=True)
            rate, _ = wrk(nginx_port, str(script))
            theirs.append(rate)
            print(f"round {round}: nginx  {rate:,.0f} hits/s", flush=True)
        def recorded():
            with sqlite3.connect(database) as db:
                return db.execute("SELECT count(*) FROM message_events WHERE kind = 'opened'").fetchone()[0]
        # Hits are answered at once and written in batches behind; say how far behind.
        caught_up = time.monotonic()
        wait_until("every answered hit is written", lambda: recorded() >= answered, timeout=600, interval=0.5)
        lag = time.monotonic() - caught_up
        # A graceful stop writes every hit still in memory (those wrk sent but did not count).
        server.stop()
        server = None
        recorded = recorded()
        ratios = sorted(o / t for o, t in zip(ours, theirs))
        print(f"Herald: {statistics.median(ours):,.0f} hits/s (range {min(ours):,.0f}–{max(ours):,.0f})")
        print(f"nginx:  {statistics.median(theirs):,.0f} hits/s (range {min(theirs):,.0f}–{max(theirs):,.0f})")
        print(f"ratio: {statistics.median(ours) / statistics.median(theirs):.2f}× "
              f"(rounds {ratios[0]:.2f}–{ratios[-1]:.2f}×)")
        print(f"recorded: {recorded:,} hits, of {answered:,} that wrk counted as answered "
              f"(the last written {lag:.1f} s after the last round)")
        # wrk does not count the answers still on their way when a round's time is up; Herald
        # records those too, at most one a connection a round.
        if not answered <= recorded <= answered + CONNECTIONS * ROUNDS:
            sys.exit("hits were lost")
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait()
        if server:
            server.process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
