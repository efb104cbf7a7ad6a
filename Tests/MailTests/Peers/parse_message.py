#!/usr/bin/env python3
"""Parses a message with Python's email package and prints what it found as JSON."""
import base64, json, sys
from email import policy
from email.parser import BytesParser

raw = open(sys.argv[1], "rb").read()
msg = BytesParser(policy=policy.default).parsebytes(raw)
out = {
    "headers": [[k, str(v)] for k, v in msg.items()],
    "defects": [type(d).__name__ for d in msg.defects],
    "parts": [],
    "max_line": max((len(l) for l in raw.split(b"\r\n")), default=0),
    "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
    "eight_bit": any(b > 127 for b in raw),
}
for key in ("From", "To", "Cc", "Reply-To"):
    if msg[key] is not None:
        out[key.lower()] = [[a.display_name, a.addr_spec] for a in msg[key].addresses]
for part in msg.walk():
    entry = {
        "type": part.get_content_type(),
        "filename": part.get_filename(),
        "content_id": part.get("Content-ID"),
        "disposition": part.get_content_disposition(),
        "defects": [type(d).__name__ for d in part.defects],
    }
    if not part.is_multipart():
        payload = part.get_payload(decode=True)
        entry["data"] = base64.b64encode(payload).decode()
        if part.get_content_maintype() == "text":
            entry["text"] = part.get_content()
    out["parts"].append(entry)
print(json.dumps(out))
