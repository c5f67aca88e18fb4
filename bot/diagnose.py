"""Pasted text -> `Diagnosis`: which codes, how many, where, the likely root cause, whose fault, what next.

`diagnose(text)` redacts secrets, rebuilds the log lines (`paste`), parses each one (`logs`), reads any
JSON error bodies (`apierrors`), counts findings per code and then applies the correlation rules below;
each rule is registered with its priority, the order in which its pattern most often turns out to be the
real root cause.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from bot import logs, signatures
from bot.apierrors import AMBIGUOUS_SDK, ApiError, find_api_errors, find_api_signals, providers_in
from bot.failures import Failure, find_failures
from bot.knowledge import BLAME_WORDS, SEVERITIES, Entry, KnowledgeBase
from bot.logs import LogEvent, normalise_path
from bot.paste import MAX_PASTE_CHARS, clean
from bot.redact import Redacted, redact

K = TypeVar("K")  # what a Counter counts


@dataclass(frozen=True)
class Finding:
    """Every occurrence of one code in the paste, summed up."""

    code: str
    entry: Entry | None
    count: int
    first: datetime | None = None
    last: datetime | None = None
    where: tuple[tuple[str, int], ...] = ()  # dynos or machines, busiest first
    regions: tuple[tuple[str, int], ...] = ()
    paths: tuple[tuple[str, int], ...] = ()
    statuses: tuple[tuple[int, int], ...] = ()
    service_ms: tuple[int, int] | None = None  # (min, max)
    socks: tuple[tuple[str, int], ...] = ()
    example: str = ""
    api: ApiError | None = None

    @property
    def platform(self) -> str:
        return self.entry.platform if self.entry else "unknown"

    @property
    def title(self) -> str:
        return self.entry.title if self.entry else "Unknown code"

    @property
    def blame(self) -> str:
        return self.entry.blame if self.entry else "app"


@dataclass(frozen=True)
class Correlation:
    """A pattern across lines that points at a cause, with the lines that show it."""

    cause: str  # memory, boot, bind, crash, machine-not-starting, server-timeout, slow-endpoints, ...
    codes: tuple[str, ...]
    text: str
    quote: tuple[str, ...] = ()
    blame: str | None = None  # when the pattern itself says whose side it is on
    root: bool = True  # False: worth saying, but not the thing to act on first


@dataclass(frozen=True)
class Primary:
    code: str  # a code, or a cause with no code: oom | not-listening | crash | health-check
    why: str
    blame: str
    title: str = ""  # for a cause: what to call it in a sentence ("the out-of-memory kill")

    @property
    def label(self) -> str:
        return self.title or self.code


@dataclass(frozen=True)
class Diagnosis:
    findings: tuple[Finding, ...]
    primary: Primary | None
    correlations: tuple[Correlation, ...]
    observations: tuple[str, ...]  # what a human would point out even without a platform code
    redacted: int
    lines: int
    truncated: bool
    summary: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    failures: tuple[Failure, ...] = ()  # failures with no code of their own (oom, crash ...)

    @property
    def blame(self) -> str | None:
        return self.primary.blame if self.primary else None

    @property
    def root(self) -> str:
        """What to act on first: a code, or a cause with no code (oom, crash ...), or "none"."""
        return self.primary.code if self.primary else "none"


# App output that means trouble: exceptions, fatal errors, panics, killed workers.
_EXCEPTION = re.compile(
    r"Traceback \(most recent call last\)|\b[A-Z][A-Za-z0-9_]{1,60}(?:Error|Exception)\b(?::|\s\(|$)|\bFATAL\b"
    r"|\bpanic: |Uncaught |UnhandledPromiseRejection|\bSegmentation fault\b|\bout of memory\b|\bkilled\b",
    re.I,
)
_WORKER_KILL = re.compile(
    r"Terminating timed out worker|WORKER TIMEOUT|timeout \(\d{1,4}s > \d{1,4}s\), killing|worker timeout"
    r"|Worker \d{1,5} \(PID: ?\d{1,9}\) timed out|Rack::Timeout::RequestTimeoutException",
    re.I,
)
_LOCALHOST = re.compile(
    r"(?:listening|bound|running|serving|started)\D{0,40}(?:127\.0\.0\.1|localhost)", re.I
)
# Fly.io proxy codes that only report that a machine could not be reached.
_CONSEQUENCES = frozenset({"PM05", "PR01", "PR02", "PR03", "PR04", "PU02"})
_PLATFORM_SIDE = ("H99", "R99", "PU03", "PP01")
_CAPACITY = ("H11", "H22", "PL01", "PL02", "PR01")
_TIMEOUTS = ("H12", "H13", "H10", "H18", "H27", "PC01", "PC02", "PC03", "PC04", "PC05", "PR04", "PM05")
_EXIT_MEANING = {
    0: "exited cleanly (status 0)",
    1: "exited with status 1: the app failed (an unhandled error at start-up or run time)",
    137: "was killed with SIGKILL (status 137): out of memory, or it ignored SIGTERM for too long",
    139: "crashed with a segmentation fault (status 139): usually a native extension",
    143: "stopped on SIGTERM (status 143): an ordinary restart, deploy or daily cycling",
}


def _top(counter: Counter[K], n: int = 3) -> tuple[tuple[K, int], ...]:
    return tuple(counter.most_common(n))


def diagnose(text: str, kb: KnowledgeBase | None = None) -> Diagnosis:
    """Diagnose a paste of log lines and/or API error bodies. Never raises for any text."""
    kb = kb or KnowledgeBase.load()
    # Redacted before and after the wrapped lines are rejoined: a password cut by a terminal's wrap is
    # only recognisable once its halves are back together.
    secret = redact(text)
    paste = clean(secret.text)
    if paste.joined:
        lines = list(paste.lines)
        for i in sorted(paste.joined):
            again = redact(lines[i])
            if again.count:
                lines[i] = again.text
                secret = Redacted(
                    secret.text,
                    secret.count + again.count,
                    secret.kinds + tuple(k for k in again.kinds if k not in secret.kinds),
                )
        paste = replace(paste, lines=tuple(lines))
    events = _with_prose_codes([logs.parse_line(line) for line in paste.lines])
    joined = "\n".join(paste.lines)
    api_errors = _api_errors(joined, kb)

    findings = _findings(events, api_errors, kb)
    patterns = _correlations(events, findings)
    observations = _observations(events)
    failures = find_failures(joined)
    primary = _primary(findings, patterns)
    if failures and (primary is None or primary.code in _CONSEQUENCES):
        # No code, or a Fly proxy code that only reports an unreachable machine: the machine's own
        # failure (killed, crashed, not listening, unhealthy) is the thing to fix.
        primary = Primary(failures[0].cause, failures[0].why, "app", title=failures[0].title)
    if primary:  # the code to act on first leads the list
        findings = tuple(sorted(findings, key=lambda f: f.code != primary.code))
    notes: list[str] = []
    if paste.truncated:
        notes.append(f"The paste was longer than {MAX_PASTE_CHARS:,} characters; only the start was read.")
    if paste.binary:
        notes.append("This looks like binary data rather than log text; only readable lines were used.")
    if secret.count:
        notes.append(
            f"{secret.count} secret(s) were pasted ({', '.join(secret.kinds)}) and are masked here. "
            f"Treat them as leaked: rotate them now."
        )
    for error in api_errors:
        if error.api == AMBIGUOUS_SDK:
            notes.append(
                f"Nothing in the paste says which API raised it; both OpenAI's and Anthropic's SDKs have that "
                f"exception, and `{error.code}` is OpenAI's meaning. Paste the error body to be sure."
            )
        if error.disagreement:
            notes.append(f"Status and type disagree: {error.disagreement}.")
        if error.retry_after:
            notes.append(
                f"The response says Retry-After: {error.retry_after} — wait that long before retrying."
            )
    diagnosis = Diagnosis(
        findings=findings,
        primary=primary,
        correlations=tuple(corr for _, corr in patterns),
        observations=observations,
        redacted=secret.count,
        lines=len(paste.lines),
        truncated=paste.truncated,
        summary="",
        notes=tuple(notes),
        failures=failures,
    )
    return _with_summary(diagnosis)


# --- findings ----------------------------------------------------------------------------------------


def _findings(events: list[LogEvent], api_errors: list[ApiError], kb: KnowledgeBase) -> tuple[Finding, ...]:
    groups: dict[str, list[LogEvent]] = defaultdict(list)
    for event in events:
        if event.code:
            groups[event.code].append(event)
    findings: list[Finding] = []
    for code, group in groups.items():
        times = [e.time for e in group if e.time]
        services = [e.service_ms for e in group if e.service_ms is not None]
        findings.append(
            Finding(
                code=code,
                entry=kb.get(code),
                count=len(group),
                first=min(times) if times else None,
                last=max(times) if times else None,
                where=_top(Counter(e.where for e in group if e.where)),
                regions=_top(Counter(e.region for e in group if e.region)),
                paths=_top(Counter(normalise_path(e.path) for e in group if e.path)),
                statuses=_top(Counter(e.status for e in group if e.status)),
                service_ms=(min(services), max(services)) if services else None,
                socks=_top(Counter(e.sock for e in group if e.sock)),
                example=group[0].line[:500],
            )
        )
    for error in api_errors:
        entry, code = _api_entry(error, kb)
        if entry:  # the same type name means another API's error: explain that API's
            entry = entry.for_provider(error.api)
        existing = next((f for f in findings if f.code == code), None)
        if existing:
            findings[findings.index(existing)] = Finding(**{**existing.__dict__, "count": existing.count + 1})
            continue
        statuses = ((error.status, 1),) if error.status else ()
        findings.append(
            Finding(
                code=code, entry=entry, count=1, statuses=statuses, api=error, example=error.message[:300]
            )
        )
    severity = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (-severity[f.entry.severity] if f.entry else 0, -f.count, f.code))
    return tuple(findings)


def _with_prose_codes(events: list[LogEvent]) -> list[LogEvent]:
    """A sentence or a table row may name several codes ("H18 errors, plus occasional H13"); the line
    parser gives one event a line, so the others are added here."""
    out: list[LogEvent] = []
    sig = signatures.default()
    for event in events:
        out.append(event)
        if event.source == "prose":
            out.extend(
                replace(
                    event,
                    code=code,
                    kind={"H": "router", "R": "runtime", "L": "logging"}.get(code[0], "proxy"),
                )
                for code in sig.prose_codes(event.message)[1:]
            )
    return out


def _api_errors(text: str, kb: KnowledgeBase) -> list[ApiError]:
    """Error bodies parsed as JSON, then errors in every other notation; one per label, specific first."""
    bodies = find_api_errors(text) if ("{" in text or "HTTP/" in text) else []
    evidence = providers_in(text[:200_000]) if bodies else None
    if evidence:  # a body's shape guesses the provider; the paste's own evidence knows better
        bodies = [
            e
            if e.api not in ("unknown", "heroku-ai") or evidence[0] == e.api
            else ApiError(**{**e.__dict__, "api": evidence[0]})
            for e in bodies
        ]
    known = frozenset(x for e in bodies for x in (e.code, e.type, _api_entry(e, kb)[1]) if x)
    errors = bodies + find_api_signals(text, kb.api_labels, known, evidence)
    named = {label for e in errors for entry, label in [_api_entry(e, kb)] if entry}
    if named - _GENERIC_API:  # a specific label says more than a family or a bare status beside it
        errors = [e for e in errors if _api_entry(e, kb)[1] in named - _GENERIC_API]
    return errors


_GENERIC_API = frozenset({"invalid_request_error", "api_error", "AI-400", "AI-500"})


_IDENTIFIER = re.compile(r"[A-Za-z][\w.-]{1,60}")


def _api_entry(error: ApiError, kb: KnowledgeBase) -> tuple[Entry | None, str]:
    """The knowledge entry for an error body: its string code, then its type, then its status."""
    for candidate in (error.code, error.type):
        entry = kb.get(candidate) if candidate else None
        if entry:
            return entry, entry.code
    entry = kb.get(f"AI-{error.status}") if error.status and error.api in ("heroku-ai", "unknown") else None
    if entry:
        return entry, entry.code
    label = next((x for x in (error.code, error.type) if x and _IDENTIFIER.match(x)), None) or (
        f"HTTP {error.status}" if error.status else "API error"
    )
    return None, label


def _codes(findings: tuple[Finding, ...]) -> dict[str, Finding]:
    return {f.code: f for f in findings}


# --- correlation rules -------------------------------------------------------------------------------
# One small function per pattern, registered with its priority: when a paste shows several patterns,
# the one with the lowest priority is the root cause (the order in which they most often turn out to be
# the real cause), and `blame` says whose side it is on then. Correlations are listed in the order the
# rules are defined. Adding a rule is adding one function here.


@dataclass(frozen=True)
class _Evidence:
    """What every rule reads: the parsed lines and the findings per code."""

    events: list[LogEvent]
    findings: tuple[Finding, ...]
    found: dict[str, Finding]


_Find = Callable[[_Evidence], Correlation | None]


@dataclass(frozen=True)
class _Rule:
    priority: int  # lower leads
    blame: str | None  # whose side the pattern is on when it leads; None: the side of its code
    find: _Find


_RULES: list[_Rule] = []


# pragma: no mutate start
# _rule runs at import, before mutmut switches a mutant on: no test could see a mutant of it.
def _rule(priority: int, blame: str | None = None) -> Callable[[_Find], _Find]:
    """Register the decorated function as a correlation rule with its priority (unique; lower leads)."""

    def register(find: _Find) -> _Find:
        assert all(r.priority != priority for r in _RULES), f"two rules with priority {priority}"
        _RULES.append(_Rule(priority, blame, find))
        return find

    return register


# pragma: no mutate end


def _correlations(
    events: list[LogEvent], findings: tuple[Finding, ...]
) -> tuple[tuple[_Rule, Correlation], ...]:
    """Every pattern the rules find, each with the rule that found it, in the rules' order."""
    evidence = _Evidence(events, findings, _codes(findings))
    return tuple((rule, corr) for rule in _RULES for corr in [rule.find(evidence)] if corr is not None)


@_rule(priority=10, blame="app")
def _memory(ev: _Evidence) -> Correlation | None:
    """Memory pressure first: swapping or OOM kills make everything after them slow or dead."""
    events, found = ev.events, ev.found
    pressure = [e for e in events if e.code in ("R14", "R15") or e.oom or (e.mem_pct or 0) > 100]
    if not pressure:
        return None
    places = sorted({e.where for e in pressure if e.where})
    victims = [
        e
        for e in events
        if (e.code in _TIMEOUTS or e.exit_status == 137)
        and (not places or e.where in places or e.where is None)
    ]
    peak = max((e.mem_pct for e in pressure if e.mem_pct), default=None)
    head = "R15" if "R15" in found else "R14" if "R14" in found else "OOM"
    where = f" on {', '.join(places)}" if places else ""
    text = f"Memory pressure{where}"
    if peak:
        text += f" (peak {peak:g}% of the dyno's quota)"
    if victims:
        hit = sorted({e.code or f"exit {e.exit_status}" for e in victims})
        text += (
            f", with {', '.join(hit)} on the same {'dyno' if places else 'app'} — a dyno or machine that "
            f"swaps or is killed for memory answers slowly or not at all. Memory is the root cause; the "
            f"others are symptoms."
        )
        return Correlation("memory", (head, *sorted({e.code for e in victims if e.code})), text)
    others = sorted({f.code for f in ev.findings if f.code not in ("R14", "R15") and f.code in _TIMEOUTS})
    text += ": the process is using more memory than its size allows" + (
        f" — a separate problem from the {', '.join(others)} elsewhere." if others else "."
    )
    return Correlation("memory", (head,), text, root=not others)


@_rule(priority=20, blame="app")
def _boot(ev: _Evidence) -> Correlation | None:
    """R10/H20 with H10: the web process never bound $PORT in time."""
    if "R10" not in ev.found and "H20" not in ev.found:
        return None
    localhost = [e.line for e in ev.events if e.kind == "app" and _LOCALHOST.search(e.message)]
    text = (
        "The web process did not bind to $PORT within the boot window, so Heroku killed it and the router "
        "has nothing to send requests to (H10/H20 follow). "
    )
    text += (
        "The app says it listens on 127.0.0.1/localhost: bind to 0.0.0.0:$PORT instead."
        if localhost
        else "Make it listen on 0.0.0.0:$PORT, and move slow start-up work out of boot."
    )
    return Correlation(
        "boot", tuple(c for c in ("R10", "H20", "H10") if c in ev.found), text, tuple(localhost[:2])
    )


@_rule(priority=50, blame="app")
def _refused(ev: _Evidence) -> Correlation | None:
    """Fly: refused connections. Compare where the app says it listens with the port the proxy tried."""
    refused = tuple(c for c in ("PC01", "PC02") if c in ev.found)
    return _bind(ev.events, refused) if refused else None


@_rule(priority=70, blame="app")
def _crash(ev: _Evidence) -> Correlation | None:
    """The app lines just before a crash are usually the exception that caused it."""
    crash = _crash_context(ev.events)
    if not crash:
        return None
    quote, exit_line = crash
    codes = tuple(c for c in ("H10", "H13", "PM05", "PR04") if c in ev.found)
    return Correlation(
        "crash",
        codes or ("crash",),
        f"The process crashed ({exit_line}); the lines just before it show why.",
        quote,
    )


@_rule(priority=60, blame="app")
def _machine_not_starting(ev: _Evidence) -> Correlation | None:
    """Fly: the proxy gives up on a machine that keeps exiting."""
    codes = tuple(c for c in ("PM05", "PR04", "PR03") if c in ev.found)
    if not codes or not any(
        e.platform == "fly" and (e.kind == "exit" or e.state_to == "stopped") for e in ev.events
    ):
        return None
    return Correlation(
        "machine-not-starting",
        codes,
        "The proxy cannot reach a machine because the machine itself keeps exiting: look at "
        "its own exit (fly logs -i <machine>) rather than at the proxy.",
    )


@_rule(priority=80, blame="app")
def _server_timeout(ev: _Evidence) -> Correlation | None:
    """The web server kills workers below the router's 30 s."""
    kills = [e.line for e in ev.events if e.kind == "app" and _WORKER_KILL.search(e.message)]
    codes = tuple(c for c in ("H13", "H12", "H18") if c in ev.found)
    if not kills or not codes:
        return None
    return Correlation(
        "server-timeout",
        codes,
        "The web server kills workers that run too long, and the router then sees the "
        "connection closed without a response (H13) — the server's timeout is below the "
        "router's 30 s. Fix the slow requests; keep the app's own timeout (e.g. rack-timeout, "
        "gunicorn --timeout) just under 30 s so it fails cleanly.",
        tuple(kills[:2]),
    )


@_rule(priority=110, blame="app")
def _slow_endpoints(ev: _Evidence) -> Correlation | None:
    h12 = ev.found.get("H12")
    if not (h12 and h12.service_ms and h12.service_ms[1] >= 29000):
        return None
    paths = ", ".join(f"{p} ({n})" for p, n in h12.paths) or "(no paths logged)"
    return Correlation(
        "slow-endpoints",
        ("H12",),
        f"Requests ran into the router's 30-second limit; slowest endpoints: {paths}. Profile "
        f"them, add indexes or move the work to a background job.",
    )


def _h18_socks(ev: _Evidence) -> dict[str, int]:
    h18 = ev.found.get("H18")
    return dict(h18.socks) if h18 else {}


@_rule(priority=130, blame="client")
def _client_disconnect(ev: _Evidence) -> Correlation | None:
    n = _h18_socks(ev).get("client")
    if not n:
        return None
    return Correlation(
        "client-disconnect",
        ("H18",),
        f"{n} H18 with sock=client: the client hung up mid-request (often harmless: closed tabs, mobile networks).",
    )


@_rule(priority=120)
def _backend_closed(ev: _Evidence) -> Correlation | None:
    n = _h18_socks(ev).get("backend")
    if not n:
        return None
    return Correlation(
        "backend-closed",
        ("H18",),
        f"{n} H18 with sock=backend: your dyno closed the socket mid-request — look for crashes or killed workers.",
    )


@_rule(priority=90)
def _capacity(ev: _Evidence) -> Correlation | None:
    capacity = tuple(c for c in _CAPACITY if c in ev.found)
    if not capacity:
        return None
    return Correlation(
        "capacity",
        capacity,
        "More traffic than the running dynos or machines can "
        "take: scale out (heroku ps:scale web=N / fly scale count N), raise concurrency "
        "limits, and make the slow requests faster.",
    )


@_rule(priority=40, blame="config")
def _no_web_dynos(ev: _Evidence) -> Correlation | None:
    if "H14" not in ev.found:
        return None
    return Correlation(
        "no-web-dynos", ("H14",), "No web dynos are running: scale them up with `heroku ps:scale web=1`."
    )


@_rule(priority=30, blame="config")
def _maintenance(ev: _Evidence) -> Correlation | None:
    if "H80" not in ev.found:
        return None
    return Correlation(
        "maintenance",
        ("H80",),
        "The app is in maintenance mode: `heroku maintenance:off` when the work is done.",
    )


@_rule(priority=100, blame="platform")
def _platform_side(ev: _Evidence) -> Correlation | None:
    codes = tuple(c for c in _PLATFORM_SIDE if c in ev.found)
    if not codes:
        return None
    # Platform codes only lead when the app itself shows nothing worse.
    ours = sum(ev.found[c].count for c in codes)
    worse = any(f.blame == "app" and f.count > ours for f in ev.findings)
    return Correlation(
        "platform",
        codes,
        "These codes come from the platform's side: check "
        "https://status.heroku.com or https://status.flyio.net and open a ticket if it "
        "persists.",
        root=not worse,
    )


_LISTEN = re.compile(
    r"(?:listen\w{0,3}|bound|running|serving|started)\b[^\n]{0,40}?(?:https?://)?"
    r"(?P<host>localhost|127\.0\.0\.1|0\.0\.0\.0|\[::\]|::)(?::(?P<port>\d{2,5}))?",
    re.I,
)
_PROXY_PORT = re.compile(r"listening on (?:0\.0\.0\.0|\[::\]):(\d{2,5})")


def _bind(events: list[LogEvent], codes: tuple[str, ...]) -> Correlation | None:
    """PC01/PC02: the app listens on localhost (app), on another port than fly.toml says (config), or not
    yet. None when the app is seen listening where the proxy connects: then binding is not the problem
    (the refusals come while it restarts, after a crash or an OOM kill)."""
    listens_right = False
    wanted = next(
        (m.group(1) for e in events if e.code in codes for m in [_PROXY_PORT.search(e.message)] if m), None
    )
    for e in events:
        if e.kind != "app":
            continue
        m = _LISTEN.search(e.message[:500])
        if not m:
            continue
        host, port = m.group("host"), m.group("port")
        if host in ("localhost", "127.0.0.1"):
            return Correlation(
                "bind",
                codes,
                "The app listens on 127.0.0.1 only, so the proxy's connections are "
                "refused: bind to 0.0.0.0 (or [::]) on the port fly.toml's internal_port names.",
                (e.line,),
                blame="app",
            )
        if port and wanted and port != wanted:
            return Correlation(
                "bind",
                codes,
                f"Port mismatch: the app listens on {host}:{port} but the proxy "
                f"connects to {wanted} (fly.toml internal_port). Set internal_port = {port} in "
                f"[http_service] or make the app listen on {wanted}, then `fly deploy`.",
                (e.line,),
                blame="config",
            )
        if host in ("0.0.0.0", "[::]", "::") and (not wanted or port == wanted):
            listens_right = True
    if listens_right:
        return None
    return Correlation(
        "bind",
        codes,
        "Nothing accepted the proxy's connection on the machine: check that the "
        "app listens on 0.0.0.0 (not 127.0.0.1) on the port fly.toml's internal_port names, and "
        "that it had finished booting.",
    )


_KILLING_CODES = ("R10", "R12", "R15")


def _killed_by_platform(before: list[LogEvent], event: LogEvent) -> str | None:
    """The code (R10, R12, R15) whose SIGKILL explains this exit or crash, if one came just before it."""
    return next(
        (e.code for e in reversed(before[-6:]) if e.code in _KILLING_CODES and e.where == event.where), None
    )


def _crash_context(events: list[LogEvent]) -> tuple[tuple[str, ...], str] | None:
    """The app lines just before the first unexplained crash, preferring ones that look like an exception.

    An exit right after R10 (boot timeout), R12 (exit timeout) or R15 (memory) is the platform's SIGKILL,
    already explained by that code.
    """
    for i, event in enumerate(events):
        crashed = event.state_to == "crashed" or (
            event.kind == "exit" and event.exit_status not in (None, 0, 143)
        )
        if not crashed:
            continue
        recent = events[max(0, i - 40) : i]
        if _killed_by_platform(recent, event):
            continue
        before = [
            e for e in recent if e.kind == "app" and (event.where is None or e.where in (None, event.where))
        ]
        loud = [e.message.strip() for e in before if _EXCEPTION.search(e.message)]
        quote = loud[-3:] or [e.message.strip() for e in before[-3:]]
        if not quote:
            continue
        label = (
            f"exit status {event.exit_status}"
            if event.exit_status is not None
            else f"state changed to {event.state_to}"
        )
        where = f" on {event.where}" if event.where else ""
        return tuple(q[:300] for q in quote), label + where
    return None


def _observations(events: list[LogEvent]) -> tuple[str, ...]:
    notes: list[str] = []
    exits: Counter[tuple[int, str | None]] = Counter()
    for i, e in enumerate(events):
        if e.kind == "exit" and e.exit_status is not None:
            exits[e.exit_status, _killed_by_platform(events[max(0, i - 6) : i], e)] += 1
    for (status, killer), n in exits.most_common(3):
        if killer:
            meaning = f"was killed with SIGKILL (status {status}) by the platform after {killer}"
        else:
            meaning = _EXIT_MEANING.get(status, f"exited with status {status}")
        notes.append(f"A process {meaning}{f' ({n} times)' if n > 1 else ''}.")
    exceptions = [
        e.message.strip() for e in events if e.kind in ("app", "other") and _EXCEPTION.search(e.message)
    ]
    if exceptions:
        # The exception's own line says more than a "Traceback (most recent call last):" header.
        telling = next((x for x in exceptions if not x.startswith("Traceback")), exceptions[0])
        notes.append(f"The app logged {len(exceptions)} error line(s), e.g.: {telling[:200]}")
    mem = [e for e in events if e.mem_pct]
    if mem:
        peak = max(mem, key=lambda e: e.mem_pct or 0.0)
        notes.append(
            f"Memory peaked at {peak.mem_pct:g}% of quota ({peak.mem_mb:g} MB) on {peak.where or 'a dyno'}."
        )
    return tuple(notes)


# --- primary -----------------------------------------------------------------------------------------


def _primary(
    findings: tuple[Finding, ...], correlations: tuple[tuple[_Rule, Correlation], ...]
) -> Primary | None:
    """The root cause: the pattern of the rule with the lowest priority that names a code, else the first
    finding."""
    found = _codes(findings)
    for rule, corr in sorted(correlations, key=lambda pair: pair[0].priority):
        if not corr.root:
            continue
        code = next((c for c in corr.codes if c in found), None)
        if code is None:
            continue  # a pattern with no platform code behind it is an observation, not a primary
        return Primary(code, corr.text, corr.blame or rule.blame or found[code].blame)
    if not findings:
        return None
    top = findings[0]
    why = top.entry.summary if top.entry else (top.api.message if top.api else "")
    if top.entry:
        why += f" First fix: {top.entry.fixes[0]}"
    return Primary(top.code, why.strip(), top.blame)


def _with_summary(d: Diagnosis) -> Diagnosis:
    if not d.findings and d.primary:
        shown = next((f.quote for f in d.failures if f.cause == d.primary.code), "")
        text = f"No platform error code in {d.lines} line(s), but the paste shows {d.primary.label}"
        text += f": “{shown[:160]}”." if shown else "."
    elif not d.findings:
        text = "No platform error codes found"
        text += f" in {d.lines} line(s)." if d.lines else " (the paste was empty)."
        if d.observations:
            text += " " + d.observations[0]
    else:
        total = sum(f.count for f in d.findings)
        codes = ", ".join(f"{f.code}×{f.count}" for f in d.findings[:6])
        text = f"{total} error event(s) in {d.lines} line(s): {codes}."
        if d.primary:
            text += f" Start with {d.primary.label} ({BLAME_WORDS[d.primary.blame]})."
    return Diagnosis(**{**d.__dict__, "summary": text})
