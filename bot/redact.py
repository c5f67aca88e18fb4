"""Find and mask secrets in text before it is stored, echoed or posted anywhere."""

from __future__ import annotations

import re
from dataclasses import dataclass

MASK = "[REDACTED]"

# (name, cheap lower-case triggers, pattern, group to mask). A rule runs only when one of its triggers is in
# the text, which keeps a 40 kB paste with no secrets fast. Every pattern is bounded so a hostile paste
# cannot make it backtrack.
_RULES: tuple[tuple[str, tuple[str, ...], re.Pattern[str], int], ...] = (
    ("Authorization header", ("authorization",), re.compile(
        r"(?i)\b(authorization\s{0,3}[:=]\s{0,3}(?:bearer|token|basic|flyv1)\s{1,3})([^\s\"',]{6,4096})"), 2),
    ("bearer token", ("bearer",), re.compile(r"(?i)\b(bearer\s{1,3})([A-Za-z0-9._~+/=-]{16,4096})"), 2),
    ("Slack token", ("xox", "xapp-"), re.compile(r"()\b(xox[abposr]-[A-Za-z0-9-]{10,256}|xapp-[A-Za-z0-9-]{10,256})"), 2),
    ("Heroku inference key", ("inf-",), re.compile(r"()\b(inf-[A-Za-z0-9_-]{12,256})"), 2),
    ("API key", ("sk-",), re.compile(r"()\b(sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,256})"), 2),
    ("Fly.io token", ("fm1", "fm2"), re.compile(r"()\b(fm[12]r?_[A-Za-z0-9_+/=-]{16,4096})"), 2),
    ("GitHub token", ("gh",), re.compile(r"()\b(gh[pousr]_[A-Za-z0-9]{20,255})"), 2),
    ("AWS access key", ("akia", "asia"), re.compile(r"()\b((?:AKIA|ASIA)[0-9A-Z]{16})\b"), 2),
    ("JSON web token", ("eyj",), re.compile(
        r"()\b(eyJ[A-Za-z0-9_-]{8,2048}\.eyJ[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{8,2048})"), 2),
    ("password in a URL", ("://",), re.compile(
        r"(?i)\b([a-z][a-z0-9+.-]{1,20}://[^\s:/@]{0,256}:)([^\s@/]{1,256})(?=@)"), 2),
    ("secret setting", ("key", "secret", "token", "pass", "pwd"), re.compile(
        r"(?i)((?:api[_-]?key|_key|secret|token|password|passwd|pwd)[a-z0-9_]{0,30}[\"']?\s{0,3}[:=]\s{0,3}[\"']?)"
        r"([^\s\"',;&]{6,4096})"), 2),
)


@dataclass(frozen=True)
class Redacted:
    text: str
    count: int
    kinds: tuple[str, ...]


def redact(text: str) -> Redacted:
    """Mask every secret found in `text`; count them and name their kinds."""
    count = 0
    kinds: list[str] = []
    lower = text.lower()
    for name, triggers, pattern, group in _RULES:
        if not any(t in lower for t in triggers):
            continue

        def mask(m: re.Match, name: str = name, group: int = group) -> str:
            nonlocal count
            if m.group(group) == MASK or m.group(group).startswith("[REDACTED"):
                return m.group(0)
            count += 1
            if name not in kinds:
                kinds.append(name)
            return m.group(0)[: m.start(group) - m.start(0)] + MASK
        text = pattern.sub(mask, text)
    return Redacted(text, count, tuple(kinds))
