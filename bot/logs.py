"""One log line -> `LogEvent`: Heroku router, runtime, state and Logplex lines, Fly.io proxy/app/runner lines.

This is the only log parser: diagnosis, polling and digests all call `parse_line`. It never raises, and
every pattern is anchored or bounded so that a hostile 1 MB line costs linear time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

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
    kind: str = "other"  # router | runtime | logging | proxy | memory | state | exit | signal | start | app | other
    code: str | None = None  # H12, R14, L10, PC01 ...
    desc: str | None = None
    message: str = ""
    method: str | None = None
    path: str | None = None
    host: str | None = None
    status: int | None = None
    service_ms: int | None = None
    connect_ms: int | None = None
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


_TS = r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)"
# Heroku: "<ts> heroku[router]: msg", "<ts> app[web.1]: msg" (the timestamp is optional in pastes).
_HEROKU = re.compile(rf"^(?:{_TS}\s{{1,4}})?(?P<src>heroku|app)\[(?P<proc>[^\]\s]{{1,64}})\]:\s?(?P<msg>.*)$", re.S)
# Fly: "<ts> proxy[e2862692b79d68] sin [error]msg" (flyctl's rendering).
_FLY = re.compile(
    rf"^(?:{_TS}\s{{1,4}})?(?P<src>proxy|app|runner|health|machine|stats|api)\[(?P<proc>[^\]\s]{{1,64}})\]\s{{1,4}}"
    r"(?P<region>[a-z]{3})\s{1,4}\[(?P<level>[a-z]{1,10})\]\s?(?P<msg>.*)$",
    re.S,
)
# Heroku syslog drain frames: "83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - msg".
_SYSLOG = re.compile(
    rf"^(?:\d{{1,6}}\s)?<\d{{1,3}}>1\s{_TS}\s\S{{1,255}}\s(?P<src>heroku|app)\s(?P<proc>\S{{1,64}})\s-\s(?P<msg>.*)$", re.S
)
_BARE_TS = re.compile(rf"^{_TS}\s{{1,4}}(?P<msg>.*)$", re.S)

_LOGFMT = re.compile(r'([a-z][a-z0-9_.]{0,40})=("(?:[^"\\]|\\.){0,4000}"|"[^"]{0,4000}|[^\s"]*)')
_LEGACY_ROUTER = re.compile(r"^Error (?P<code>H\d\d) \((?P<desc>[^)]{1,80})\) -> (?P<method>[A-Z]{3,7}) (?P<target>\S{1,2000})")
_RUNTIME = re.compile(r"^Error (?P<code>[HRL]\d\d)(?: \((?P<desc>[^)]{1,80})\))?(?::|\s->|$|\s)")
_MEM = re.compile(r"Process running mem=(?P<mb>\d{1,7}(?:\.\d{1,3})?)(?P<unit>[MG])B?\((?P<pct>\d{1,5}(?:\.\d{1,3})?)%\)")
_EXIT = re.compile(r"^Process exited(?: with status (?P<status>\d{1,3}))?")
_STATE = re.compile(r"^State changed from (?P<from>\w{1,20}) to (?P<to>\w{1,20})")
_STOP = re.compile(r"^Stopping (?:all |remaining )?process(?:es)? with (?P<sig>SIG[A-Z]{2,8})")
_FLY_CODE = re.compile(r"^(?:\[[a-z]{1,10}\]\s?)?\[(?P<code>P[PUCTMAERL]\d\d)\]\s?")
_BARE_HEROKU_CODE = re.compile(r"(?:^|\s)code=(?P<code>[HRL]\d\d)(?:\s|$)")
_FLY_EXIT = re.compile(r"(?:exited|exit)(?: normally)? with code:? (?P<status>\d{1,3})", re.I)
_FLY_OOM = re.compile(r"out of memory: kill(?:ed)? process|oom[ -]?kill", re.I)
_MS = re.compile(r"^(\d{1,9})(?:ms)?$")
_ID = re.compile(r"/(?:\d{1,20}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,64})(?=/|$|\?)",
                 re.I)

# Old Fly proxy messages without the [Pxx] prefix, and the words each code's own messages use; both
# filled from the knowledge base by `set_message_codes`.
_message_codes: tuple[tuple[str, str], ...] = ()
_code_words: dict[str, frozenset[str]] = {}
_WORDS = re.compile(r"\b[a-z]{4,}\b")


def set_message_codes(pairs: Iterable[tuple[str, str]], words: dict[str, Iterable[str]] | None = None) -> None:
    """Teach the parser which lower-case phrases mean which code (from `knowledge/*.yml` `messages`), and
    which words each code's messages use (`words`), so a bare "[PR01] retrying payment" is not taken for
    the Fly code."""
    global _message_codes, _code_words
    _message_codes = tuple(sorted(pairs, key=lambda p: -len(p[0])))
    if words is not None:
        _code_words = {code: frozenset(w) for code, w in words.items()}


def _sounds_like(code: str, text: str) -> bool:
    """Does the text after a bare [Pxx] share a word with that code's own messages?"""
    words = _code_words.get(code)
    return words is None or bool(words & set(_WORDS.findall(text[:300].lower())))


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


def parse_line(line: str) -> LogEvent:
    """Parse one line of Heroku or Fly.io log text (or a bare message) into a LogEvent."""
    line = line[:MAX_LINE].rstrip("\r\n")
    m = _HEROKU.match(line) or _SYSLOG.match(line)
    if m:
        return _heroku(line, m)
    m = _FLY.match(line)
    if m:
        return _fly(line, m)
    if line.startswith("{"):
        event = _json_line(line)
        if event:
            return event
    ts = None
    msg = line
    m = _BARE_TS.match(line)
    if m:
        ts, msg = m.group("ts"), m.group("msg")
    return _bare(line, parse_time(ts), msg)


def parse_lines(lines: Iterable[str]) -> Iterator[LogEvent]:
    for line in lines:
        if line.strip():
            yield parse_line(line)


def _heroku(line: str, m: re.Match) -> LogEvent:
    src, proc, msg = m.group("src"), m.group("proc"), m.group("msg")
    ts = parse_time(m.group("ts"))
    base = {"line": line, "platform": "heroku", "source": src, "process": proc, "time": ts, "message": msg}
    if src == "heroku" and proc == "router":
        return _router(base, msg)
    if src == "heroku" or proc in ("log-shuttle", "logplex"):
        return _runtime(base, msg, proc)
    return LogEvent(**base, kind="app", dyno=proc)


def _router(base: dict, msg: str) -> LogEvent:
    if "at=" in msg[:40]:  # usually first, but H18/H27 lines may lead with sock=client
        f = logfmt(msg)
        code = f.get("code") or None
        if code and not re.fullmatch(r"H\d\d", code):
            code = None
        return LogEvent(
            **base, kind="router", level=f.get("at"), code=code, desc=f.get("desc"), method=f.get("method"),
            path=f.get("path"), host=f.get("host"), status=_int(f.get("status")), service_ms=_int(f.get("service")),
            connect_ms=_int(f.get("connect")), sock=f.get("sock"), dyno=f.get("dyno") or None,
        )
    m = _LEGACY_ROUTER.match(msg)
    if m:
        f = logfmt(msg[m.end():])
        host, _, path = m.group("target").partition("/")
        return LogEvent(
            **base, kind="router", level="error", code=m.group("code"), desc=m.group("desc"),
            method=m.group("method"), host=host or None, path="/" + path, status=_int(f.get("status")),
            service_ms=_int(f.get("service")), dyno=f.get("dyno") or None,
        )
    return LogEvent(**base, kind="router")


def _runtime(base: dict, msg: str, proc: str) -> LogEvent:
    m = _RUNTIME.match(msg)
    if m:
        code = m.group("code")
        kind = {"R": "runtime", "L": "logging", "H": "router"}[code[0]]
        return LogEvent(**base, kind=kind, level="error", code=code, desc=m.group("desc"), dyno=_dyno(proc))
    m = _MEM.search(msg)
    if m:
        mb = float(m.group("mb")) * (1024 if m.group("unit") == "G" else 1)
        return LogEvent(**base, kind="memory", dyno=_dyno(proc), mem_mb=mb, mem_pct=float(m.group("pct")))
    m = _EXIT.match(msg)
    if m:
        return LogEvent(**base, kind="exit", dyno=_dyno(proc), exit_status=_int(m.group("status")))
    m = _STATE.match(msg)
    if m:
        return LogEvent(**base, kind="state", dyno=_dyno(proc), state_to=m.group("to"), desc=m.group("from"))
    m = _STOP.match(msg)
    if m:
        return LogEvent(**base, kind="signal", dyno=_dyno(proc), signal=m.group("sig"))
    if msg.startswith("Starting process with command"):
        return LogEvent(**base, kind="start", dyno=_dyno(proc))
    m = re.match(r"^Error (L1\d)\b", msg)
    if m:
        return LogEvent(**base, kind="logging", level="error", code=m.group(1))
    return LogEvent(**base, kind="other", dyno=_dyno(proc))


def _dyno(proc: str) -> str | None:
    return proc if proc not in ("router", "logplex", "api", "log-shuttle") else None


def _fly_code(msg: str) -> str | None:
    m = _FLY_CODE.match(msg)
    if m:
        return m.group("code")
    if _message_codes:
        low = msg[:400].lower()
        for phrase, code in _message_codes:
            if phrase in low:
                return code
    return None


def _fly(line: str, m: re.Match) -> LogEvent:
    return _fly_event({"line": line, "platform": "fly", "source": m.group("src"), "process": m.group("proc"),
                       "time": parse_time(m.group("ts")), "region": m.group("region"), "level": m.group("level"),
                       "message": m.group("msg"), "dyno": m.group("proc")})


def _fly_event(base: dict) -> LogEvent:
    """Classify one Fly.io line by its source (proxy, app, runner ...) and message."""
    src, msg = base["source"], base["message"]
    if src == "proxy":
        code = _fly_code(msg)
        if code is None and "error.message=" in msg:
            code = _fly_code(logfmt(msg).get("error.message", ""))
        return LogEvent(**base, kind="proxy", code=code)
    if _FLY_OOM.search(msg[:500]):
        return LogEvent(**base, kind="memory", oom=True)
    if src == "runner" or msg.startswith(("INFO ", "WARN ", "ERROR ")):
        m2 = _FLY_EXIT.search(msg[:500])
        if m2:
            return LogEvent(**base, kind="exit", exit_status=int(m2.group("status")))
        if "max restart count" in msg or "restart limit" in msg.lower():
            return LogEvent(**base, kind="state", state_to="stopped")
        return LogEvent(**base, kind="other")
    return LogEvent(**base, kind="app")


def _json_line(line: str) -> LogEvent | None:
    """Fly's NATS / log-shipper JSON lines: {"message": ..., "fly": {...}, "log": {"level": ...}}."""
    if len(line) > MAX_LINE:
        return None
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return None
    fly = data.get("fly") if isinstance(data.get("fly"), dict) else {}
    app = fly.get("app") if isinstance(fly.get("app"), dict) else {}
    event = data.get("event") if isinstance(data.get("event"), dict) else {}
    log = data.get("log") if isinstance(data.get("log"), dict) else {}
    if not fly and not event:
        return None  # some other JSON (an API error body, an app's structured log): not a Fly line
    return _fly_event({"line": line, "platform": "fly", "source": event.get("provider") or "app",
                       "process": app.get("instance"), "time": parse_time(str(data.get("timestamp") or "")),
                       "region": fly.get("region"), "level": log.get("level"), "message": data["message"],
                       "dyno": app.get("instance")})


def _bare(line: str, ts: datetime | None, msg: str) -> LogEvent:
    """A line without a known prefix: a router/runtime message pasted on its own, or app output."""
    if msg.startswith("at=") and "code=" in msg:
        return _router({"line": line, "platform": "heroku", "source": "heroku", "process": "router", "time": ts,
                        "message": msg}, msg)
    if msg.startswith("Error "):
        m = _LEGACY_ROUTER.match(msg)
        if m:
            return _router({"line": line, "platform": "heroku", "source": "heroku", "process": "router",
                            "time": ts, "message": msg}, msg)
        event = _runtime({"line": line, "platform": "heroku", "source": "heroku", "process": None, "time": ts,
                          "message": msg}, msg, "")
        if event.code:
            return event
    if msg.startswith(("Process running mem=", "Process exited", "State changed from", "Stopping ")):
        return _runtime({"line": line, "platform": "heroku", "source": "heroku", "process": None, "time": ts,
                         "message": msg}, msg, "")
    code = None
    m = _FLY_CODE.match(msg)
    if m and _sounds_like(m.group("code"), msg[m.end():]):
        code = m.group("code")
    elif "error.message=" in msg:
        code = _fly_code(logfmt(msg).get("error.message", ""))
    elif _message_codes and ts is not None:
        code = _fly_code(msg)
    if code:
        return LogEvent(line=line, platform="fly", source="proxy", time=ts, kind="proxy", code=code, message=msg)
    m = _BARE_HEROKU_CODE.search(msg)
    if m and "at=" in msg:
        return _router({"line": line, "platform": "heroku", "source": "heroku", "process": "router", "time": ts,
                        "message": msg}, msg[msg.find("at="):])
    return LogEvent(line=line, time=ts, kind="other", message=msg)


def normalise_path(path: str) -> str:
    """`/users/123/orders/9f1c…` -> `/users/{id}/orders/{id}`; the query string is dropped."""
    path = path.split("?", 1)[0][:300]
    return _ID.sub("/{id}", path) or "/"
