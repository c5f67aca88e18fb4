"""One log line -> `LogEvent`: Heroku router, runtime, state and Logplex lines, Fly.io proxy/app/runner lines.

This is the only log parser: diagnosis and polling call `parse_line`, and so does `digest --from` for
every line its byte-level router counter does not count itself. It never raises, and
every pattern is anchored or bounded so that a hostile 1 MB line costs linear time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot import signatures
from bot.signatures import Signatures

MAX_LINE = 20_000  # Heroku splits dyno lines at 10,000 bytes; anything longer is cut before parsing.


@dataclass(frozen=True, slots=True)
class LogEvent:
    """What one line says. Fields a line does not carry are None."""

    line: str
    platform: str | None = None  # "heroku" | "fly" | None (plain text)
    source: str | None = None  # heroku: "heroku" | "app"; fly: "proxy" | "app" | "runner" | ...
    process: str | None = None  # heroku: "router", "web.1", "logplex"; fly: the machine id
    time: datetime | None = None
    region: str | None = None
    level: str | None = None  # at=info|warning|error, or Fly's [info]/[error]
    kind: str = (
        "other"  # router | runtime | logging | proxy | memory | state | exit | signal | start | app | other
    )
    code: str | None = None  # H12, R14, L10, PC01 ...
    desc: str | None = None
    message: str = ""
    method: str | None = None
    path: str | None = None
    host: str | None = None
    status: int | None = None
    service_ms: int | None = None
    sock: str | None = None
    dyno: str | None = None  # the dyno that served a router request, or the process of a runtime line
    mem_mb: float | None = None
    mem_pct: float | None = None
    exit_status: int | None = None
    state_to: str | None = None
    signal: str | None = None
    oom: bool = False

    @property
    def where(self) -> str | None:
        """The dyno or machine the line is about."""
        return self.dyno or (self.process if self.process not in (None, "router", "logplex", "api") else None)


_TS = r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)"
_ISO = re.compile(_TS)
# What people put in front of a pasted line: indentation, `>` quotes, bullets, table pipes.
_DECORATION = re.compile(r"^[\s>*\u2022|-]{0,12}")

# Envelopes: only the head of each is matched; the message is whatever follows it. Each yields what it
# knows (source, process, time, region, level) and none is required for a code to be found.
# `heroku logs`: "<ts> heroku[router]: msg", "<ts> app[web.1]: msg" (the timestamp may be missing).
_HEROKU = re.compile(r"(?:^|(?<=[\s\"'`(]))(?P<src>heroku|app)\[(?P<proc>[^\]\s]{1,64})\]:\s?")
# Syslog drains and Logentries: "83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - msg", and the same
# without the frame ("heroku web.1 - - Error R14 ...").
_SYSLOG = re.compile(
    rf"(?:(?:\d{{1,6}}\s)?<\d{{1,3}}>1\s{_TS}\s\S{{1,255}}\s(?P<src>heroku|app)\s(?P<proc>\S{{1,64}})\s-\s(?:-\s)?"
    r"|(?:^|(?<=\s))(?P<src2>heroku|app)\s(?P<proc2>router|api|logplex|log-shuttle|[a-z][\w-]{0,40}\.\d{1,5})\s-\s-\s)"
)
# Papertrail and other syslog viewers: "Mar 14 02:11:09 shop-prod heroku/web.2:  msg".
_SLASHED = re.compile(
    r"(?:^|(?<=\s))(?P<src>heroku|app)/(?P<proc>router|api|logplex|log-shuttle|[\w-]{1,40}\.\d{1,5}):\s"
)
# Fly.io: "<ts> proxy[e2862692b79d68] sin [error]msg" (flyctl), and flyctl's older "<ts> 3a4b5c6d ams [info]msg".
_FLY = re.compile(
    rf"(?:{_TS}\s{{1,4}})?(?:(?P<src>proxy|app|runner|health|machine|stats|api)\[(?P<proc>[^\]\s]{{1,64}})\]"
    r"|(?P<inst>[0-9a-f]{8}))\s{1,4}(?P<region>[a-z]{3})\s{1,4}\[(?P<level>[a-z]{1,10})\]\s?"
)
_HEAD = 400  # envelopes are looked for in this many leading characters

_LOGFMT = re.compile(r'([a-z][a-z0-9_.]{0,40})=("(?:[^"\\]|\\.){0,4000}"|"[^"]{0,4000}|[^\s"]*)')
_LEGACY_ROUTER = re.compile(
    r"Error (?P<code>H\d\d) \((?P<desc>[^)]{1,80})\) -> (?P<method>[A-Z]{3,7})[ -](?P<target>\S{1,2000})"
)
_MEM = re.compile(
    r"Process running mem=(?P<mb>\d{1,7}(?:\.\d{1,3})?)(?P<unit>[MG])B?\((?P<pct>\d{1,5}(?:\.\d{1,3})?)%\)"
)
_EXIT = re.compile(r"\bProcess exited(?: with status (?P<status>\d{1,3}))?")
_STATE = re.compile(r"\bState changed from (?P<from>\w{1,20}) to (?P<to>\w{1,20})")
_STOP = re.compile(r"\bStopping (?:all |remaining )?process(?:es)? with (?P<sig>SIG[A-Z]{2,8})")
_FLY_EXIT = re.compile(r"(?:exited|exit)(?: normally)? with code:? (?P<status>\d{1,3})", re.I)
_FLY_OOM = re.compile(r"out of memory: kill(?:ed)? process|oom[ -]?kill", re.I)
_RESTARTS = re.compile(r"max restart count|restart limit", re.I)
_MS = re.compile(r"^(\d{1,9})(?:ms)?$")
_ID = re.compile(
    r"/(?:\d{1,20}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,64})(?=/|$|\?)",
    re.I,
)


def _int(value: str | None) -> int | None:
    if not value:
        return None
    m = _MS.match(value)
    return int(m.group(1)) if m else None


def parse_time(raw: str | None) -> datetime | None:
    if not raw:
        return None
    raw = raw.replace(" ", "T", 1)
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    # Python's parser takes at most six fractional digits; Fly writes nine.
    m = re.match(r"^(.{19})\.(\d{1,9})(.*)$", raw)
    if m:
        raw = f"{m.group(1)}.{m.group(2)[:6].ljust(6, '0')}{m.group(3)}"
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def logfmt(text: str) -> dict[str, str]:
    """`key=value key="quoted value"` pairs; a cut-off quote keeps what is there."""
    out: dict[str, str] = {}
    for key, value in _LOGFMT.findall(text):
        if value.startswith('"'):
            closed = len(value) > 1 and value.endswith('"')
            value = (value[1:-1] if closed else value[1:]).replace('\\"', '"')
        out.setdefault(key, value)
    return out


def parse_line(line: str, sig: Signatures | None = None) -> LogEvent:
    """Parse one line of Heroku or Fly.io log text, in any envelope (or none), into a LogEvent."""
    sig = sig or signatures.default()
    line = line[:MAX_LINE].rstrip("\r\n")
    body = _undecorated(line)
    for pattern, build in ((_HEROKU, _heroku), (_SYSLOG, _heroku), (_SLASHED, _heroku), (_FLY, _fly)):
        m = pattern.search(body, 0, _HEAD)
        if m:
            return build(line, body, m, sig)
    if body.startswith("{"):
        event = _json_line(line, body, sig)
        if event:
            return event
    return _bare(line, _time_before(body, len(body)), body, sig)


def _undecorated(line: str) -> str:
    """The line without the indentation, quote marks and bullets people put in front of it."""
    m = _DECORATION.match(line)
    return line[m.end() :] if m else line


def line_time(line: str) -> datetime | None:
    """The time a log line starts with, without parsing the rest (for lines already stored)."""
    m = _ISO.match(_undecorated(line))
    return parse_time(m.group("ts")) if m else None


def _time_before(body: str, end: int) -> datetime | None:
    """The first ISO timestamp in the envelope's head (Logentries and log viewers put one before it)."""
    m = _ISO.search(body, 0, min(end, _HEAD))
    return parse_time(m.group("ts")) if m else None


def _heroku(line: str, body: str, m: re.Match[str], sig: Signatures) -> LogEvent:
    groups = m.groupdict()
    src, proc, msg = (
        groups["src"] or groups.get("src2"),
        groups["proc"] or groups.get("proc2"),
        body[m.end() :],
    )
    ts = parse_time(m.groupdict().get("ts")) or _time_before(body, m.start())
    base: dict[str, Any] = {
        "line": line,
        "platform": "heroku",
        "source": src,
        "process": proc,
        "time": ts,
        "message": msg,
    }
    if src == "heroku" and proc == "router":
        return _router(base, msg, sig)
    if src == "heroku" or proc in ("log-shuttle", "logplex"):
        return _runtime(base, msg, proc or "", sig)
    return LogEvent(**base, kind="app", dyno=proc)


def _router(base: dict[str, Any], msg: str, sig: Signatures) -> LogEvent:
    m = _LEGACY_ROUTER.search(msg, 0, _HEAD) if "Error H" in msg[:_HEAD] else None
    if m and m.group("code") in sig.codes:
        f = logfmt(msg[m.end() :])
        host, _, path = m.group("target").partition("/")
        return LogEvent(
            **base,
            kind="router",
            level="error",
            code=m.group("code"),
            desc=m.group("desc"),
            method=m.group("method"),
            host=host or None,
            path="/" + path,
            status=_int(f.get("status")),
            service_ms=_int(f.get("service")),
            dyno=f.get("dyno") or None,
        )
    f = logfmt(msg)
    if f.get("at") or f.get("code") or f.get("status"):
        return LogEvent(
            **base,
            kind="router",
            level=f.get("at"),
            code=sig.router_code(msg),
            desc=f.get("desc"),
            method=f.get("method"),
            path=f.get("path"),
            host=f.get("host"),
            status=_int(f.get("status")),
            service_ms=_int(f.get("service")),
            sock=f.get("sock"),
            dyno=f.get("dyno") or None,
        )
    return LogEvent(**base, kind="router")


def _runtime(base: dict[str, Any], msg: str, proc: str, sig: Signatures) -> LogEvent:
    m = sig.error_code(msg)
    if m:
        code = m.group("code")
        kind = {"R": "runtime", "L": "logging", "H": "router"}[code[0]]
        desc = re.match(r" ?\((?P<desc>[^)]{1,80})\)", msg[m.end() :])
        return LogEvent(
            **base,
            kind=kind,
            level="error",
            code=code,
            desc=desc.group("desc") if desc else None,
            dyno=_dyno(proc),
        )
    head = msg[:_HEAD]
    m = _MEM.search(head)
    if m:
        mb = float(m.group("mb")) * (1024 if m.group("unit") == "G" else 1)
        return LogEvent(**base, kind="memory", dyno=_dyno(proc), mem_mb=mb, mem_pct=float(m.group("pct")))
    m = _EXIT.search(head)
    if m:
        return LogEvent(**base, kind="exit", dyno=_dyno(proc), exit_status=_int(m.group("status")))
    m = _STATE.search(head)
    if m:
        return LogEvent(**base, kind="state", dyno=_dyno(proc), state_to=m.group("to"), desc=m.group("from"))
    m = _STOP.search(head)
    if m:
        return LogEvent(**base, kind="signal", dyno=_dyno(proc), signal=m.group("sig"))
    if "Starting process with command" in head:
        return LogEvent(**base, kind="start", dyno=_dyno(proc))
    for pattern, heroku_code in signatures.HEROKU_PHRASES:  # "Idling because quota is exhausted": H82
        if pattern.search(head):
            # The dyno manager's line, not a request: a router kind would count as traffic.
            return LogEvent(**base, kind="runtime", code=heroku_code, dyno=_dyno(proc))
    return LogEvent(**base, kind="other", dyno=_dyno(proc))


def _dyno(proc: str) -> str | None:
    return proc if proc not in ("router", "logplex", "api", "log-shuttle", "") else None


def _fly(line: str, body: str, m: re.Match[str], sig: Signatures) -> LogEvent:
    proc = m.group("proc") or m.group("inst")
    return _fly_event(
        {
            "line": line,
            "platform": "fly",
            "source": m.group("src") or "app",
            "process": proc,
            "time": parse_time(m.group("ts")) or _time_before(body, m.start()),
            "region": m.group("region"),
            "level": m.group("level"),
            "message": body[m.end() :],
            "dyno": proc,
        },
        sig,
    )


def _fly_event(base: dict[str, Any], sig: Signatures) -> LogEvent:
    """Classify one Fly.io line by its source (proxy, app, runner ...) and message."""
    src, msg = base["source"], base["message"]
    if src == "proxy":
        code = sig.fly_code(msg, trusted=True)
        if code is None and "error.message=" in msg:
            code = sig.fly_code(logfmt(msg).get("error.message", ""), trusted=True)
        return LogEvent(**base, kind="proxy", code=code)
    head = msg[:500]
    if _FLY_OOM.search(head):
        return LogEvent(**base, kind="memory", oom=True)
    m = _FLY_EXIT.search(head)
    if m:
        return LogEvent(**base, kind="exit", exit_status=int(m.group("status")))
    if _RESTARTS.search(head):
        return LogEvent(**base, kind="state", state_to="stopped")
    # The app's own output may print anything, "[PR01] retrying payment" included: only the proxy's
    # documented wordings count there, never a bare tag.
    code = sig.phrase_code(msg) if src != "app" else None
    return LogEvent(**base, kind="proxy" if code else ("app" if src == "app" else "other"), code=code)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _json_line(line: str, body: str, sig: Signatures) -> LogEvent | None:
    """Fly's NATS / log-shipper JSON lines: {"message": ..., "fly": {...}, "log": {"level": ...}}."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return None
    fly = _mapping(data.get("fly"))
    app = _mapping(fly.get("app"))
    event = _mapping(data.get("event"))
    log = _mapping(data.get("log"))
    if not fly and not event:
        return None  # some other JSON (an API error body, an app's structured log): read as text
    return _fly_event(
        {
            "line": line,
            "platform": "fly",
            "source": event.get("provider") or "app",
            "process": app.get("instance"),
            "time": parse_time(str(data.get("timestamp") or "")),
            "region": fly.get("region"),
            "level": log.get("level"),
            "message": data["message"],
            "dyno": app.get("instance"),
        },
        sig,
    )


def _bare(line: str, ts: datetime | None, msg: str, sig: Signatures) -> LogEvent:
    """A line in no known envelope: a message pasted on its own, a sentence, a JSON string, app output.
    Signals are looked for anywhere in it."""
    heroku = {
        "line": line,
        "platform": "heroku",
        "source": "heroku",
        "process": None,
        "time": ts,
        "message": msg,
    }
    if sig.router_code(msg):
        return _router({**heroku, "process": "router"}, msg, sig)
    m = sig.error_code(msg)
    if m:
        if _LEGACY_ROUTER.match(msg, m.start()):
            return _router({**heroku, "process": "router"}, msg[m.start() :], sig)
        return _runtime(heroku, msg[m.start() :], "", sig)
    head = msg[:_HEAD]
    if _MEM.search(head) or _EXIT.search(head) or _STATE.search(head) or _STOP.search(head):
        return _runtime(heroku, msg, "", sig)
    code = sig.fly_code(msg)
    if code is None and "error.message=" in msg:
        code = sig.fly_code(logfmt(msg).get("error.message", ""))
    if code:
        return LogEvent(
            line=line, platform="fly", source="proxy", time=ts, kind="proxy", code=code, message=msg
        )
    if _FLY_OOM.search(head):
        return LogEvent(line=line, time=ts, kind="memory", oom=True, message=msg)
    if _RESTARTS.search(head):
        return LogEvent(line=line, platform="fly", time=ts, kind="state", state_to="stopped", message=msg)
    for pattern, heroku_code in signatures.HEROKU_PHRASES:
        if pattern.search(msg, 0, _HEAD):
            return LogEvent(
                line=line,
                platform="heroku",
                source="prose",
                time=ts,
                kind="runtime",
                code=heroku_code,
                message=msg,
            )
    code = sig.prose_code(msg)
    if code:
        kind = {"H": "router", "R": "runtime", "L": "logging"}.get(code[0], "proxy")
        platform = "fly" if code[0] == "P" else "heroku"
        return LogEvent(
            line=line, platform=platform, source="prose", time=ts, kind=kind, code=code, message=msg
        )
    return LogEvent(line=line, time=ts, kind="other", message=msg)


def normalise_path(path: str) -> str:
    """`/users/123/orders/9f1c…` -> `/users/{id}/orders/{id}`; the query string is dropped."""
    path = path.split("?", 1)[0][:300]
    return _ID.sub("/{id}", path) or "/"
