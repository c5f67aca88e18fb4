"""Turn what people paste into Slack (or a terminal) back into the log lines they copied.

Undoes Slack's formatting (code fences, `&lt;` entities, `<url|label>` links, `<@U123>` mentions),
rejoins lines that a terminal hard-wrapped mid-word, drops NUL and other binary noise, and cuts
oversized input with a note instead of failing.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass

MAX_PASTE_CHARS = 2_000_000  # about 2 MB of text: far above Slack's 40k message limit, bounded for files

_FENCE = re.compile(r"^\s{0,3}```[a-z0-9_+-]{0,20}\s*$", re.I)
_LINK = re.compile(
    r"<((?:https?|mailto|postgres(?:ql)?|redis|rediss|amqps?|mysql)://?[^|>\s]{1,2000})(?:\|([^>]{0,2000}))?>"
)
_MENTION = re.compile(r"<[@#!][A-Za-z0-9^|_.-]{1,120}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lines that start a new log record: a timestamp, a Heroku/Fly source, a syslog frame.
_RECORD_START = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[T ]\d\d:\d\d|(?:heroku|app|proxy|runner|health)\[|\d{1,6} <\d{1,3}>1 |at=|Error [HRL]\d\d"
    r"|\[P[A-Z]\d\d\]|\{|HTTP/)"
)


@dataclass(frozen=True)
class Paste:
    lines: tuple[str, ...]
    truncated: bool
    binary: bool  # the input was mostly not text
    joined: frozenset[int] = frozenset()  # lines glued together from hard-wrapped pieces


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip data, stopping at `limit` bytes of output (a small bomb cannot fill memory).

    A truncated file gives what could be read; data that is not gzip raises zlib.error.
    """
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return inflater.decompress(data, limit)


def decode(data: bytes) -> str:
    """Bytes from a file or stdin as text: UTF-8 where it is, replacement characters where it is not."""
    return data.decode("utf-8", errors="replace")


def unslack(text: str) -> str:
    """Undo Slack's message formatting."""
    text = _MENTION.sub(" ", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clean(text: str) -> Paste:
    """Normalise a paste into log lines."""
    truncated = len(text) > MAX_PASTE_CHARS
    if truncated:
        text = text[:MAX_PASTE_CHARS]
    sample = text[:4096]
    noise = len(_CONTROL.findall(sample)) + sample.count("\ufffd")
    binary = bool(sample) and noise > len(sample) * 0.1
    text = _CONTROL.sub("", unslack(text))
    raw = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    raw = [line for line in raw if line.strip() and not _FENCE.match(line)]
    # Inline fences: "```2024-... heroku[router]: ...```"
    raw = [
        line.strip().strip("`") if line.lstrip().startswith("```") or line.endswith("```") else line
        for line in raw
    ]
    lines, joined = _rejoin(raw)
    return Paste(tuple(lines), truncated, binary, frozenset(joined))


def _rejoin(lines: list[str]) -> tuple[list[str], set[int]]:
    """Glue hard-wrapped continuations back onto the log record they belong to.

    A terminal wraps at a fixed width and keeps every character, so a continuation follows a line of
    exactly that width and is joined without adding a space. Without a clear width, continuations are
    glued on only when most lines are log records.
    """
    if not lines:
        return lines, set()
    lengths = Counter(len(line) for line in lines if len(line) >= 40)
    width, count = lengths.most_common(1)[0] if lengths else (0, 0)
    fixed_width = count >= 3
    mostly_records = sum(1 for line in lines if _RECORD_START.match(line.lstrip())) >= max(
        2, len(lines) * 0.6
    )
    if not fixed_width and not mostly_records:
        return lines, set()
    out: list[str] = []
    joined: set[int] = set()
    previous = ""  # the previous physical line
    for line in lines:
        stripped = line.lstrip()
        record = _RECORD_START.match(stripped) or stripped.startswith(("at ", "File ", "Traceback"))
        if (
            out
            and not record
            and ((fixed_width and len(previous) == width) or (not fixed_width and len(previous) >= 60))
        ):
            out[-1] += line
            joined.add(len(out) - 1)
        else:
            out.append(stripped if record else line)
        previous = line
    return out, joined
