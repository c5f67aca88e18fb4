"""The card: the first message of every answer and diagnosis, short enough to scan and act on at 3 a.m.

A card is a header (the code and its title, or "R14 → H12 on web.1"), one sentence of meaning or root
cause, the first fix with its command filled in from what the question or paste names, whose side it is
on, the docs link, and the buttons: at most `MAX_CARD_BLOCKS` blocks and `MAX_CARD_CHARS` visible
characters. Everything else (every finding, correlation, more fixes, examples) is the card's `details`,
which *Show more* expands it to.

The buttons carry a `CardRef`: the card's id (to find its details), and the question's or paste's
fingerprint and a label of the answer (to file 👍/👎 even when the details are gone).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.context import Where, fixes_for
from bot.knowledge import UNSURE_HEAD, Answer, Entry
from bot.render.blocks import (
    BLAME_EMOJI,
    SEVERITY_EMOJI,
    SlackMessage,
    answer_text,
    clip,
    code,
    context,
    diagnosis_title,
    entry_line,
    escape,
    header,
    help_blocks,
    link,
    render_answer,
    render_diagnosis,
    section,
    tidy,
)
from bot.render.mrkdwn import date, visible_length
from bot.render.text import entry_heading, finding_where
from bot.reply import Reply, fingerprint

MAX_CARD_BLOCKS = 6
MAX_CARD_CHARS = 700

ACTION_MORE = "dynodoc_more"
ACTION_LESS = "dynodoc_less"
ACTION_SHARE = "dynodoc_share"  # a button: show a private answer to the conversation it was given in
ACTION_SHARE_TO = "dynodoc_share_to"  # a channel menu: share an answer given in a DM
ACTION_UP = "dynodoc_up"
ACTION_DOWN = "dynodoc_down"
ACTIONS = (ACTION_MORE, ACTION_LESS, ACTION_SHARE, ACTION_SHARE_TO, ACTION_UP, ACTION_DOWN)

SHARE_NONE = ""  # already in front of everyone (a channel, a group DM)
SHARE_HERE = "here"  # private in a conversation (ephemeral, slash command): the button posts it there
SHARE_PICK = "pick"  # in a DM with the bot: a menu picks the channel

_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "approx.", "incl.")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"'*])")


@dataclass(frozen=True)
class Card:
    """A card and what Show more expands it to."""

    kind: str  # question | paste
    label: str  # what was answered, for feedback: "code H12", "diagnosis R14: R14, H12"
    fingerprint: str  # of the question or paste (a hash: the text itself is never kept)
    message: SlackMessage  # the card, without its buttons
    details: tuple[
        SlackMessage, ...
    ]  # the whole answer: the first replaces the card, the rest go in the thread

    @property
    def has_more(self) -> bool:
        return shows_more(self.message, self.details)


def shows_more(card: SlackMessage, details: Sequence[SlackMessage]) -> bool:
    """Whether Show more would show anything the card does not."""
    return len(details) > 1 or visible_length(details[0].blocks) > visible_length(card.blocks) + 40


@dataclass(frozen=True)
class CardRef:
    """What every button of a card carries (as JSON in its `value`, well under Slack's 2,000 characters)."""

    card_id: str
    kind: str
    fingerprint: str
    label: str
    share: str = SHARE_NONE

    def value(self) -> str:
        return json.dumps(
            {"id": self.card_id, "k": self.kind, "f": self.fingerprint, "l": self.label, "s": self.share},
            separators=(",", ":"),
        )

    @classmethod
    def parse(cls, value: str | None) -> CardRef | None:
        """The ref in a button's value, or None for anything else (an old or forged payload)."""
        try:
            raw = json.loads(value or "")
            ref = cls(
                str(raw["id"]), str(raw["k"]), str(raw["f"]), str(raw["l"])[:200], str(raw.get("s", ""))
            )
        except (ValueError, TypeError, KeyError):
            return None
        return (
            ref
            if ref.kind in ("question", "paste") and ref.share in (SHARE_NONE, SHARE_HERE, SHARE_PICK)
            else None
        )


# --- the buttons ----------------------------------------------------------------------------------------


def _button(text: str, action_id: str, ref: CardRef, style: str = "") -> dict:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": ref.value(),
    }
    return {**button, "style": style} if style else button


def actions(ref: CardRef, *, more: bool = True, expanded: bool = False, share: bool = True) -> dict:
    """The card's buttons: Show more (or less), Share where the answer is private, 👍 and 👎."""
    elements = []
    if expanded:
        elements.append(_button("Show less", ACTION_LESS, ref))
    elif more:
        elements.append(_button("Show more", ACTION_MORE, ref, "primary"))
    if share and ref.share == SHARE_HERE:
        elements.append(_button("Share to channel", ACTION_SHARE, ref))
    elif share and ref.share == SHARE_PICK:
        elements.append(
            {
                "type": "conversations_select",
                "action_id": ACTION_SHARE_TO,
                "placeholder": {"type": "plain_text", "text": "Share to channel…"},
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            }
        )
    elements += [_button("👍", ACTION_UP, ref), _button("👎", ACTION_DOWN, ref)]
    return {"type": "actions", "elements": elements}


def with_actions(message: SlackMessage, ref: CardRef, **options) -> SlackMessage:
    """A message with the card's buttons at the end."""
    return SlackMessage(message.text, (*message.blocks, actions(ref, **options)))


def shared_by(message: SlackMessage, user: str) -> SlackMessage:
    """A card as shared to a channel: who shared it, under the header."""
    blocks = list(message.blocks)
    at = 1 if blocks and blocks[0]["type"] == "header" else 0
    blocks.insert(at, context(f":mega: Shared by <@{user}>" if user else ":mega: Shared"))
    return SlackMessage(message.text, tuple(blocks))


# The widest the buttons get, so that a card measured without them still fits with them.
_WIDEST_ACTIONS = visible_length([actions(CardRef("x", "question", "x", "x", SHARE_HERE))])
# Room kept on every page of details for the buttons (their JSON, with a long value).
ACTIONS_RESERVE = 1_500


# --- text that fits -------------------------------------------------------------------------------------


def first_sentence(text: str) -> tuple[str, str]:
    """The first sentence of `text` and the rest (abbreviations such as "e.g." do not end a sentence)."""
    for m in _SENTENCE_END.finditer(text):
        before = text[: m.start()]
        if not before.endswith(_ABBREVIATIONS):
            return before, text[m.end() :]
    return text, ""


def shorten(text: str, limit: int) -> str:
    """Cut plain text (with `code` spans) at a word, never inside a code span."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    if cut.count("`") % 2:
        cut = cut[: cut.rfind("`")]
    return cut.rstrip(" ,;:—-") + "…"


def _fit(build: Callable[[int], list[dict]]) -> list[dict]:
    """The blocks `build(room)` makes with the most room that keeps the card, with its buttons, within
    `MAX_CARD_CHARS`; `room` is how long each free-text part may be."""
    for room in (240, 200, 170, 140, 110, 80, 60):
        blocks = tidy(build(room))
        if visible_length(blocks) + 1 + _WIDEST_ACTIONS <= MAX_CARD_CHARS:
            return blocks
    return blocks


def _docs(entry: Entry) -> str:
    return link(entry.docs, f"{entry.platform_name} docs")


def _facts(entry: Entry, *extra: str) -> dict:
    side = f"{BLAME_EMOJI.get(entry.blame, '')} On {escape(entry.blame_words)}"
    severity = f"{SEVERITY_EMOJI.get(entry.severity, '')} severity {entry.severity}"
    return context(" · ".join([side, severity, _docs(entry)]), *extra)


def _fix_section(fix: str, room: int) -> dict:
    return section(f"*First fix:* {escape(shorten(fix, room))}")


# --- answers --------------------------------------------------------------------------------------------


def _entry_card(entry: Entry, where: Where | None, extra: str = "") -> list[dict]:
    sentence = first_sentence(entry.summary)[0]
    fix = fixes_for(entry.fixes, where)[0]

    def build(room: int) -> list[dict]:
        return [
            header(entry_heading(entry)),
            section(escape(shorten(sentence, room))),
            _fix_section(fix, room),
            _facts(entry, shorten(extra, room)),
        ]

    return _fit(build)


def _codes(entries: list[Entry], limit: int = 4) -> str:
    shown = ", ".join(code(e.code) for e in entries[:limit])
    return shown + (f" +{len(entries) - limit}" if len(entries) > limit else "")


def answer_card_blocks(answer: Answer) -> list[dict]:
    """The card of an answer (without its buttons). A header always comes first."""
    entries = [m.entry for m in answer.matches]
    if answer.kind == "unsure":
        candidates = [m.entry for m in answer.candidates]
        # The note minus "I'm not sure..." (the header says it), keeping why ("503 alone has many causes").
        advice = " ".join(answer.note.replace(UNSURE_HEAD, "").split()).rstrip(":")
        return _fit(
            lambda room: [
                header("Not sure which one you mean"),
                section(
                    "\n".join(f"{entry_line(e)}: {escape(shorten(e.summary, room // 2))}" for e in candidates)
                ),
                context(escape(advice + "." if advice else "")),
            ]
        )
    if answer.kind == "help" or (not entries and answer.kind != "unknown_code"):
        return tidy(help_blocks(answer.note))
    if answer.kind == "unknown_code":
        lines = [entry_line(e) for e in entries]
        return tidy(
            [
                header(clip(answer.note.rstrip("."), 150)),
                section("The nearest real ones:\n" + "\n".join(lines)) if lines else section(""),
            ]
        )
    if answer.kind == "compare":

        def build(room: int) -> list[dict]:
            per = max(60, room * 2 // len(entries))
            lines = [
                f"*{code(e.code)} {escape(e.title)}* · {BLAME_EMOJI.get(e.blame, '')} on {escape(e.blame_words)}\n"
                + escape(shorten(first_sentence(e.summary)[0], per))
                for e in entries
            ]
            return [
                header(" vs ".join(e.code for e in entries)),
                section("\n".join(lines)),
                context(" · ".join(link(e.docs, f"{e.code} docs") for e in entries)),
            ]

        return _fit(build)
    if answer.kind == "family":

        def build(room: int) -> list[dict]:
            lines: list[str] = []
            for e in entries:
                if sum(len(x) for x in lines) + len(e.title) + 12 > room * 2:
                    break
                lines.append(entry_line(e))
            if len(lines) < len(entries):
                lines.append(f"…and {len(entries) - len(lines)} more")
            return [
                header(f"{answer.note} — {len(entries)} of them"),
                section("\n".join(lines)),
                context(f"Ask about any one for its fix, e.g. {code(entries[0].code)}."),
            ]

        return _fit(build)
    extra = ""
    if answer.kind == "status" and entries[1:]:
        extra = f"Also behind {answer.note}: {_codes(entries[1:])}"
    else:
        # A note (which provider's meaning this is) and the alternatives, both: neither hides the other.
        alternatives = (
            f"Or did you mean {_codes(entries[1:], 3)}?" if answer.kind == "search" and entries[1:] else ""
        )
        extra = " ".join(x for x in (escape(answer.note), escape(answer.guess_note), alternatives) if x)
    return _entry_card(entries[0], answer.where, extra)


def _answer_label(answer: Answer) -> str:
    codes = [m.entry.code for m in answer.matches] or [m.entry.code for m in answer.candidates]
    return clip(" ".join([answer.kind, *codes[:4]]), 200)


def answer_card(answer: Answer, question: str) -> Card:
    """A question's answer as a card, and all of it for Show more."""
    return Card(
        kind="question",
        label=_answer_label(answer),
        fingerprint=fingerprint("question", question),
        message=SlackMessage(answer_text(answer), tuple(answer_card_blocks(answer))),
        details=tuple(render_answer(answer, reserve=ACTIONS_RESERVE)),
    )


# --- diagnoses ------------------------------------------------------------------------------------------


def diagnosis_card_blocks(diagnosis) -> list[dict]:
    """The card of a diagnosis (without its buttons): the root cause, its first fix, whose side, when."""
    primary = diagnosis.primary
    findings = diagnosis.findings
    found = next((f for f in findings if primary and f.code == primary.code), None)
    if primary is not None:
        sentence, rest = first_sentence(primary.why)
        if found is not None and found.entry is not None:
            fix = first_fix(fixes_for(found.entry.fixes, finding_where(found)), primary.why)
        else:  # a failure with no code of its own says what to do after its first sentence
            fix = rest.removeprefix("First fix:").strip()
    else:
        sentence, fix = diagnosis.summary, ""
    # The line that gives the root cause away ("Listening on http://127.0.0.1:5000"), when it has one.
    quoted = next(
        (c.quote[0] for c in diagnosis.correlations if primary and c.text == primary.why and c.quote), ""
    )
    facts: list[str] = []
    if primary is not None:
        facts.append(f"{BLAME_EMOJI.get(primary.blame, '')} On {escape(_blame(primary.blame))}")
    if findings:
        total = sum(f.count for f in findings)
        counts = ", ".join(f"{f.code}×{f.count}" for f in findings[:4]) + (" …" if len(findings) > 4 else "")
        facts.append(f"{total} event(s) in {diagnosis.lines} line(s): {counts}")
        firsts = [f.first for f in findings if f.first]
        lasts = [f.last or f.first for f in findings if f.first]
        if firsts:
            start, end = min(firsts), max(lasts)
            facts.append(date(start) + (f" → {date(end, '{time_secs}')}" if end != start else ""))
    if found is not None and found.entry is not None:
        facts.append(_docs(found.entry))

    def build(room: int) -> list[dict]:
        text = escape(shorten(sentence, room))
        if quoted and room >= 170:
            text += "\n" + code(quoted, 120)
        return [
            header(diagnosis_title(diagnosis)),
            section(text),
            _fix_section(fix, room) if fix else section(""),
            context(" · ".join(facts)),
        ]

    return _fit(build)


# What makes a root cause specific: an address, a port variable, a setting ("bind to 0.0.0.0:$PORT").
_SPECIFIC = re.compile(
    r"\$[A-Z_]{2,}|\b\d{1,3}(?:\.\d{1,3}){3}\b|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\binternal_port\b"
)


def first_fix(fixes: Sequence[str], why: str) -> str:
    """The fix to lead with: of the first three, the first that names what the root cause names (an
    address, `$PORT`, a setting), else the first."""
    marks = set(_SPECIFIC.findall(why))
    return next((f for f in fixes[:3] if any(m in f for m in marks)), fixes[0])


def _blame(blame: str) -> str:
    from bot.knowledge import BLAME_WORDS

    return BLAME_WORDS.get(blame, blame)


def diagnosis_card(diagnosis, paste: str) -> Card:
    """A paste's diagnosis as a card, and all of it for Show more."""
    root = diagnosis.primary.code if diagnosis.primary else "none"
    codes = ", ".join(f.code for f in diagnosis.findings[:6])
    return Card(
        kind="paste",
        label=clip(f"diagnosis {root}" + (f": {codes}" if codes else ""), 200),
        fingerprint=fingerprint("paste", paste),
        message=SlackMessage(clip(diagnosis.summary, 3000), tuple(diagnosis_card_blocks(diagnosis))),
        details=tuple(render_diagnosis(diagnosis, reserve=ACTIONS_RESERVE)),
    )


def card_for(reply: Reply, text: str) -> Card:
    """The card for the core's reply to `text` (a question or a paste)."""
    if reply.diagnosis is not None:
        return diagnosis_card(reply.diagnosis, text)
    assert reply.answer is not None
    return answer_card(reply.answer, text)
