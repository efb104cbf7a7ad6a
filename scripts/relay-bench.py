#!/usr/bin/env python3
"""Clients against one real Postfix relay (scripts/postfix-relay.sh), in one run.

    relay-bench.py MAIL_BENCH 'submission=… plain=… user=… password=… ca=…' [messages] [rounds]

Rows, each at 1 and 4 connections, in alternating rounds (this machine is shared and
noisy; the median of the rounds is reported with its range):
  - Herald's client (mail-bench), STARTTLS + AUTH PLAIN, certificate checked against ca=
  - Herald's client, plain (the port without STARTTLS)
  - Postfix's smtp-source, plain (it speaks neither TLS nor AUTH)
  - Python's smtplib, STARTTLS + AUTH, one process per connection, no pipelining
Then the ratios the goal is stated in: Herald over TLS against Herald plain, and against
smtplib over TLS; and each TLS client's CPU time per message. Not a test: nothing fails
on a slow machine, only on a client that fails to send.
"""
import multiprocessing
import re
import resource
import smtplib
import ssl
import statistics
import subprocess
import sys
import time

SIZE = 5000


def herald(binary, url, connections, messages):
    out = subprocess.run([binary, "--transport", url, "--connections", str(connections), "--messages", str(messages),
                          "--size", str(SIZE)], capture_output=True, text=True)
    match = re.search(r"= (\d+) msg/s, (\d+) µs CPU", out.stdout)
    if out.returncode != 0 or not match:
        sys.exit(f"mail-bench failed: {out.stdout}{out.stderr}")
    return float(match.group(1)), float(match.group(2))


def smtp_source(port, connections, messages):
    start = time.monotonic()
    out = subprocess.run(["smtp-source", "-s", str(connections), "-m", str(messages), "-l", str(SIZE), "-d",
                          "-f", "bench@example.com", "-t", "sink@example.org", f"127.0.0.1:{port}"],
                         capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if out.returncode != 0:
        sys.exit(f"smtp-source failed: {out.stdout}{out.stderr}")
    return messages / elapsed, None


def _smtplib_worker(port, user, password, count, ready, go, results):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    payload = "".join("x" * 76 + "\r\n" for _ in range(SIZE // 78 + 1))
    message = ("From: <bench@example.com>\r\nTo: <sink@example.org>\r\nSubject: relay-bench\r\n\r\n" + payload).encode()
    session = smtplib.SMTP("127.0.0.1", port)
    session.starttls(context=context)
    session.login(user, password)
    ready.release()
    go.wait()
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(count):
        session.sendmail("bench@example.com", ["sink@example.org"], message)
    after = resource.getrusage(resource.RUSAGE_SELF)
    results.put((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    session.quit()


def python_smtplib(port, user, password, connections, messages):
    """Connections set up first, then timed from the first message to the last, as mail-bench is."""
    ready, go, results = multiprocessing.Semaphore(0), multiprocessing.Event(), multiprocessing.Queue()
    share = messages // connections
    workers = [multiprocessing.Process(target=_smtplib_worker, args=(port, user, password, share, ready, go, results))
               for _ in range(connections)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.acquire()
    start = time.monotonic()
    go.set()
    cpu = sum(results.get() for _ in workers)
    elapsed = time.monotonic() - start
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            sys.exit("an smtplib worker failed")
    return share * connections / elapsed, cpu * 1e6 / (share * connections)


def main():
    binary, line = sys.argv[1], sys.argv[2]
    messages = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    relay = dict(pair.split("=", 1) for pair in line.split())
    tls_url = (f"smtp://{relay['user']}:{relay['password']}@127.0.0.1:{relay['submission']}"
               f"?tls=required&ca={relay['ca']}")
    plain_url = f"smtp://127.0.0.1:{relay['plain']}?tls=none"
    rows = {
        "Herald, STARTTLS + AUTH": lambda c: herald(binary, tls_url, c, messages),
        "Herald, plain": lambda c: herald(binary, plain_url, c, messages),
        "smtp-source, plain": lambda c: smtp_source(relay["plain"], c, messages),
        "smtplib, STARTTLS + AUTH": lambda c: python_smtplib(int(relay["submission"]), relay["user"], relay["password"],
                                                             c, messages),
    }
    rates = {(name, c): [] for name in rows for c in (1, 4)}
    cpus = {(name, c): [] for name in rows for c in (1, 4)}
    for round_number in range(rounds):
        for connections in (1, 4):
            for name, run in rows.items():
                rate, cpu = run(connections)
                rates[(name, connections)].append(rate)
                if cpu is not None:
                    cpus[(name, connections)].append(cpu)
        print(f"round {round_number + 1} of {rounds} done", flush=True)

    def median(name, c):
        return statistics.median(rates[(name, c)])

    print(f"\n{messages} messages of {SIZE} bytes a run; median of {rounds} rounds (min–max)")
    print(f"{'client':<26} {'1 connection':>24} {'4 connections':>24}")
    for name in rows:
        cells = []
        for c in (1, 4):
            values = rates[(name, c)]
            cells.append(f"{median(name, c):>6.0f} ({min(values):.0f}–{max(values):.0f}) msg/s")
        print(f"{name:<26} {cells[0]:>24} {cells[1]:>24}")
    tls = "Herald, STARTTLS + AUTH"
    for label, other in (("Herald TLS / Herald plain", "Herald, plain"), ("Herald TLS / smtplib TLS", "smtplib, STARTTLS + AUTH"),
                         ("Herald plain / smtp-source", None)):
        if other is None:
            cells = [f"{median('Herald, plain', c) / median('smtp-source, plain', c):.2f}x" for c in (1, 4)]
        else:
            cells = [f"{median(tls, c) / median(other, c):.2f}x" for c in (1, 4)]
        print(f"{label:<26} {cells[0]:>24} {cells[1]:>24}")
    for name in (tls, "smtplib, STARTTLS + AUTH"):
        cells = [f"{statistics.median(cpus[(name, c)]):.0f} µs" for c in (1, 4)]
        print(f"{'CPU a message, ' + name.split(',')[0]:<26} {cells[0]:>24} {cells[1]:>24}")


if __name__ == "__main__":
    main()
