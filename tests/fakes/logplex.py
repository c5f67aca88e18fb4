"""Logplex as an HTTPS drain client: frames `heroku logs` lines the way Logplex posts them.

Wire format (heroku/logplex doc/README.http_drains.md, src/logplex_http_drain.erl; see PLATFORM-FACTS.md
section 2): `Content-Type: application/logplex-1`, `Logplex-Msg-Count`, `Logplex-Frame-Id`,
`Logplex-Drain-Token`; the body is RFC 6587 octet-counted RFC 5424 messages, `<count> <msg>`, where the
message ends with a newline that the count includes, STRUCTURED-DATA is left out, HOSTNAME is `host`,
APP-NAME the source and PROCID the dyno.
"""

from __future__ import annotations

import base64
import re
import uuid

import httpx

_HEROKU_LINE = re.compile(r"(\S+) (\w+)\[([^\]]+)\]: (.*)")
# Logplex's priorities: the router logs at local3.info, app output at local7.info, the platform at local0.
_PRI = {"router": 158, "app": 190, "heroku": 45}


def frame(line: str) -> bytes:
    """One `heroku logs` line as one octet-counted syslog frame."""
    m = _HEROKU_LINE.fullmatch(line)
    assert m, f"not a heroku logs line: {line!r}"
    timestamp, source, process, text = m.groups()
    pri = _PRI["router"] if process == "router" else _PRI.get(source, 190)
    msg = f"<{pri}>1 {timestamp} host {source} {process} - {text}\n".encode()
    return str(len(msg)).encode() + b" " + msg


def body(lines: list[str]) -> bytes:
    return b"".join(frame(line) for line in lines)


def basic(password: str, user: str = "x") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def post(
    url: str,
    lines: list[str] | None = None,
    *,
    password: str | None,
    frame_id: str | None = None,
    raw: bytes | None = None,
    client: httpx.Client | None = None,
) -> httpx.Response:
    """POST one batch as Logplex does (a new Frame-Id unless a retry's is given)."""
    content = raw if raw is not None else body(lines or [])
    headers = {
        "Content-Type": "application/logplex-1",
        "Logplex-Msg-Count": str(len(lines or [])),
        "Logplex-Frame-Id": frame_id or uuid.uuid4().hex.upper(),
        "Logplex-Drain-Token": "d.fc6b856b-3332-4546-93de-7d0ee272c3bd",
        "User-Agent": "Logplex/v49",
    }
    if password is not None:
        headers["Authorization"] = basic(password)
    if client is not None:
        return client.post(url, content=content, headers=headers)
    return httpx.post(url, content=content, headers=headers, timeout=10)
