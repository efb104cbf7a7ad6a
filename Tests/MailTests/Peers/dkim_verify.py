#!/usr/bin/env python3
"""Verifies a DKIM signature with dkimpy, the public key record given on the command line."""
import sys
import dkim

raw = open(sys.argv[1], "rb").read()
record = sys.argv[2].encode()

def dnsfunc(name, timeout=5):
    return record

ok = dkim.verify(raw, dnsfunc=dnsfunc)
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
