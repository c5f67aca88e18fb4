"""Slack mrkdwn that cannot break: escaped text, code spans, links, dates, and what a reader sees of it.

Text from logs and questions is untrusted: `<`, `>` and `&` make links and mentions, a backtick ends a code
span, and `_` or `*` inside a path turn on italics or bold. Everything we show from outside goes through
`escape` (prose) or `code` (paths, commands, log excerpts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

# Slack has no escape for a backtick inside a code span; this look-alike (MODIFIER LETTER GRAVE ACCENT)
# keeps the text readable without ending the span.
BACKTICK_LOOKALIKE = "ˋ"


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup in any text it shows."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def code(text: str, limit: int = 300) -> str:
    """`text` as an inline code span: escaped, on one line, no backtick inside to end it early."""
    flat = " ".join(text.split())
    if not flat:
        return ""
    return "`" + escape(clip(flat, limit)).replace("`", BACKTICK_LOOKALIKE) + "`"


def link(url: str, label: str) -> str:
    return f"<{url}|{escape(label)}>"


def date(t: datetime, token: str = "{date_short_pretty} {time_secs}") -> str:
    """A time Slack shows in each reader's own time zone; the fallback (old clients, notifications) is UTC."""
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    fallback = t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"<!date^{int(t.timestamp())}^{token}|{fallback}>"


# --- what a reader sees -------------------------------------------------------------------------------------

_ANGLE = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_EMOJI = re.compile(r"(?<![\w:]):[a-z][a-z0-9_+-]{0,40}:(?![\w])")
_MARKS = re.compile(r"(?<![\w])[*_~]+|[*_~]+(?![\w])")


def _angle(m: re.Match[str]) -> str:
    target: str = m.group(1)
    label: str | None = m.group(2)
    if label is not None:
        return label
    if target.startswith("@"):
        return "@someone"
    if target.startswith("#"):
        return "#channel"
    return target


def visible(mrkdwn: str) -> str:
    """What a reader sees of a mrkdwn string: link labels, date fallbacks, one character per emoji, no
    formatting marks or backticks, entities decoded."""
    text = _ANGLE.sub(_angle, mrkdwn)
    text = _EMOJI.sub("◆", text)
    text = text.replace("```", "").replace("`", "")
    text = _MARKS.sub("", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _element_text(element: dict[str, Any]) -> str:
    if element.get("type") in ("mrkdwn", "plain_text"):
        return visible(element.get("text", ""))
    if element.get("type") == "button":
        return str(element["text"]["text"])
    placeholder = element.get("placeholder")
    return str(placeholder["text"]) if isinstance(placeholder, dict) else ""


def visible_text(blocks: Iterable[dict[str, Any]]) -> str:
    """A message's blocks as the words on screen, one block a line (buttons and menus by their labels)."""
    lines = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("header", "section") and block.get("text"):
            lines.append(visible(block["text"]["text"]))
        elif kind in ("context", "actions"):
            lines.append("  ".join(t for t in map(_element_text, block.get("elements", [])) if t))
    return "\n".join(lines)


def visible_length(blocks: Iterable[dict[str, Any]]) -> int:
    """How many characters a reader sees in these blocks (newlines between blocks included)."""
    return len(visible_text(blocks))
