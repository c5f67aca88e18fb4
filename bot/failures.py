"""Failures that carry no platform code: out-of-memory kills, crashes and crash loops, an app that is not
listening where the platform expects it, failing health checks.

People paste these as often as coded errors (a Fly.io OOM mail, `fly deploy` output, a crash loop in
`heroku logs`, a sentence in an issue), and "No platform error codes found" is the wrong answer to all of
them. Each failure is recognised by the wording the platforms, flyctl and the kernel really print,
wherever it sits in the paste; the first kind found in `ORDER` is the one to act on first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SCAN = 200_000  # only this much of a paste is searched

# Most specific first: an OOM kill explains the crash loop and failed health checks that follow it, and
# a process that crashes is not listening either.
ORDER = ("oom", "not-listening", "crash", "health-check")
TITLES = {
    "oom": "the out-of-memory kill",
    "not-listening": "the app not listening where the platform expects",
    "crash": "the crash",
    "health-check": "the failing health checks",
}
_NOT_CLEAN = r"(?!0\b|143\b)\d{1,3}\b"  # an exit status other than 0 or 143 (an ordinary SIGTERM stop)
_PATTERNS = {
    "oom": re.compile(
        r"out of memory: kill|oom[ _-]?kill|appears to have been oom|javascript heap out of memory|ran out of memory"
        r"|out of memory error|fails? with out of memory|\bMemoryError\b|PumaWorkerKiller: Out of memory"
        r"|Killed process \d{1,9} \(|Cannot allocate memory",
        re.I,
    ),
    "not-listening": re.compile(
        r"not listening on the expected address|is listening on the incorrect address|app is not listening"
        r"|isn't listening on|not listening on (?:0\.0\.0\.0|\[::\]|port)",
        re.I,
    ),
    "crash": re.compile(
        r"State changed from \w{1,20} to crashed|max restart (?:count|limit)|restart limit|smoke checks? for \S{1,40} failed"
        r"|appears to be crashing|release[_ ]command failed|release command .{0,40}fail"
        r"|Main child exited normally with code: ?"
        + _NOT_CLEAN
        + r"|exited with (?:code|status):? ?"
        + _NOT_CLEAN
        + r"|exit (?:code|status):? ?"
        + _NOT_CLEAN
        + r"|Process exited with status "
        + _NOT_CLEAN
        + r"|Worker failed to boot|Segmentation fault|\bsegfault"
        r"|\bcrash(?:es|ed|ing)? (?:on|at|after|with|when|every|right)\b"
        # a process that cannot start: its command or a module it needs is missing, or it panics
        r"|: command not found|Cannot find module|ModuleNotFoundError|\bpanicked at\b|^\s*panic: "
        r"|\bkeeps? (?:exiting|crashing|restarting)\b|\bout of restarts\b|\bcrash ?loop"
        # a server that cannot bind its port exits at start
        r"|listen EACCES|listen EADDRINUSE|syscall: 'listen'|address already in use"
        r"|exec format error|Kernel panic",
        re.I | re.M,
    ),
    "health-check": re.compile(
        r"unhealthy allocations|health ?checks?\b.{0,60}\b(?:fail|failing|failed|critical|timed? ?out|timeout)"
        r"|failing health ?checks?|timeout reached waiting for health|\b[1-9]\d{0,2} critical\b"
        r"|wait[ -]timeout"
        r"|Health check on port",
        re.I,
    ),
}
_WHY = {
    "oom": "The process was killed for running out of memory, so it restarts and drops what it was doing. "
    "Give it more memory (`fly scale memory 512`, a larger dyno) or make it use less (fewer workers, "
    "streaming instead of loading whole files).",
    "not-listening": "The app does not listen on the address and port the platform sends traffic to. Bind to "
    "0.0.0.0 (or [::]) on the port in fly.toml's internal_port (on Heroku, $PORT), then deploy.",
    "crash": "The process exits on its own, usually at start-up: the lines just before the exit say why (a "
    "missing module, a bad command, a missing environment variable). Fix that error; the platform "
    "will keep restarting it until then.",
    "health-check": "The platform's health checks fail, so the new version is not taken into service. Check that "
    "the check's path and port match what the app serves, and that the app answers within the "
    "check's timeout once it has booted.",
}


@dataclass(frozen=True)
class Failure:
    """A failure with no code of its own, and the line that shows it."""

    cause: str  # oom | not-listening | crash | health-check
    quote: str

    @property
    def title(self) -> str:
        return TITLES[self.cause]

    @property
    def why(self) -> str:
        return _WHY[self.cause]


# Literal words without which a pattern cannot match: checked first, because a case-insensitive regex
# with many alternatives is slow over a 40 kB paste of healthy router lines.
_TRIGGERS = {
    "oom": ("out of memory", "oom", "killed process", "memoryerror", "allocate memory"),
    "not-listening": ("listening",),
    "crash": (
        "crash",
        "restart count",
        "restart limit",
        "smoke check",
        "release",
        "exit",
        "worker failed",
        "segmentation",
        "segfault",
        "command not found",
        "cannot find module",
        "modulenotfounderror",
        "panic",
        "listen",
        "address already in use",
        "exec format error",
        "kernel panic",
    ),
    "health-check": ("health", "critical", "wait timeout", "wait-timeout"),
}


def find_failures(text: str) -> tuple[Failure, ...]:
    """Every kind of codeless failure in the paste, most specific first."""
    text = text[:_SCAN]
    low = text.lower()
    found = []
    for cause in ORDER:
        quote = _first_match(text, low, cause)
        if quote is not None:
            found.append(Failure(cause, quote))
    causes = [f.cause for f in found]
    if "health-check" in causes and "crash" not in causes:
        # Checks that fail while the app prints an error at start fail because the app does not start.
        m = _START_ERROR.search(text)
        if m:
            start = text.rfind("\n", 0, m.start()) + 1
            end = text.find("\n", m.end())
            found.insert(
                causes.index("health-check"),
                Failure("crash", text[start : end if end != -1 else len(text)].strip()[:300]),
            )
    return tuple(found)


# An error printed by the app itself (an `app[...]` or `[info]` log line), not by flyctl about the deploy.
_START_ERROR = re.compile(
    r"(?:\bapp\[[^\]\s]{1,64}\][^\n]{0,40}?|\[info\]\s{0,3})(?:Error|Exception|Traceback|panic)\b|\berror while loading\b"
    r"|\b[a-z_]{2,30}(?:\.[a-z_]{1,30})+\.[A-Z]\w{2,60}(?:Error|Exception):",  # sqlalchemy.exc.NoSuchModuleError:
    re.I,
)


def _first_match(text: str, low: str, cause: str, per_trigger: int = 200) -> str | None:
    """The first line (or pair of lines, for wrapped text) around a trigger word that the cause's pattern
    matches. Only lines holding a trigger are searched, so a long healthy paste costs a few `find`s."""
    starts: set[int] = set()
    for trigger in _TRIGGERS[cause]:
        pos = low.find(trigger)
        seen = 0
        while pos != -1 and seen < per_trigger:
            starts.add(text.rfind("\n", 0, pos) + 1)
            pos = (
                low.find(trigger, text.find("\n", pos) + 1 or len(low)) if text.find("\n", pos) != -1 else -1
            )
            seen += 1
    for start in sorted(starts):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        after = text.find("\n", end + 1)
        begin = max(0, text.rfind("\n", 0, max(0, start - 1)) + 1)
        window = text[begin : len(text) if after == -1 else after]
        # Only a match on this line (or running into it) counts: one on the next line is that line's
        # to quote, else an ordinary "exit 0" just before a crash would be quoted as the crash.
        if any(
            m.start() < end - begin and m.end() > start - begin for m in _PATTERNS[cause].finditer(window)
        ):
            return text[start:end].strip()[:300] or window.strip()[:300]
    return None
