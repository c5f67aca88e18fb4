"""Find and mask secrets in text before it is stored, echoed or posted anywhere."""

from __future__ import annotations

import re
from dataclasses import dataclass

MASK = "[REDACTED]"

# (name, pattern, group to mask). Each pattern is bounded so a hostile paste cannot make it backtrack.
_RULES: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("Authorization header", re.compile(r"(?i)\b(authorization\s{0,3}[:=]\s{0,3}(?:bearer|token|basic|flyv1)\s{1,3})([^\s\"',]{6,4096})"), 2),
    ("bearer token", re.compile(r"(?i)\b(bearer\s{1,3})([A-Za-z0-9._~+/=-]{16,4096})"), 2),
    ("Slack token", re.compile(r"()\b(xox[abposr]-[A-Za-z0-9-]{10,256}|xapp-[A-Za-z0-9-]{10,256})"), 2),
    ("Heroku inference key", re.compile(r"()\b(inf-[A-Za-z0-9_-]{12,256})"), 2),
    ("API key", re.compile(r"()\b(sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,256})"), 2),
    ("Fly.io token", re.compile(r"()\b(fm[12]r?_[A-Za-z0-9_+/=-]{16,4096})"), 2),
    ("GitHub token", re.compile(r"()\b(gh[pousr]_[A-Za-z0-9]{20,255})"), 2),
    ("AWS access key", re.compile(r"()\b((?:AKIA|ASIA)[0-9A-Z]{16})\b"), 2),
    ("JSON web token", re.compile(r"()\b(eyJ[A-Za-z0-9_-]{8,2048}\.eyJ[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{8,2048})"), 2),
    ("password in a URL", re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20}://[^\s:/@]{1,256}:)([^\s@/]{1,256})(?=@)"), 2),
    ("secret setting", re.compile(
        r"(?i)\b((?:[a-z0-9_]{0,40}(?:api[_-]?key|secret|token|password|passwd|pwd))[\"']?\s{0,3}[:=]\s{0,3}[\"']?)"
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
    for name, pattern, group in _RULES:
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
