#!/usr/bin/env python3
"""Verifies the DKIM signatures of a message with dkimpy.

    dkim_verify.py message.eml RECORD                 # the first signature, against RECORD
    dkim_verify.py message.eml SELECTOR=RECORD ...    # every signature, each against its selector's record

Prints PASS when every signature checked verifies.
"""
import sys
import dkim

raw = open(sys.argv[1], "rb").read()
records = {}
for argument in sys.argv[2:]:
    selector, _, record = ("", "", argument) if argument.startswith("v=DKIM1") else argument.partition("=")
    records[selector] = record.encode()


def dnsfunc(name, timeout=5):
    label = name.decode() if isinstance(name, bytes) else name
    selector = label.split("._domainkey.")[0]
    return records.get(selector) or records.get("")


d = dkim.DKIM(raw)
count = len([line for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n") if line.lower().startswith(b"dkim-signature:")])
indices = range(count) if "" not in records else [0]
ok = count > 0 and all(d.verify(idx=i, dnsfunc=dnsfunc) for i in indices)
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
