"""Answers, diagnoses and the status panel as Slack Block Kit messages, within Slack's limits.

Every message is a `SlackMessage`: blocks plus the plain `text` Slack shows in notifications and to
clients without blocks. Slack rejects a message with more than 50 blocks, a section text over 3,000
characters, or (in practice, well below the documented limits) about 13,200 characters of blocks in
total (`msg_blocks_too_long`), so a reply that would not fit is split: the first message carries the
summary and the rest follow in the same thread.

The wording follows the terminal renderer (`bot.render.text`): the same facts, in mrkdwn.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.context import Where, fixes_for
from bot.knowledge import BLAME_WORDS, Answer, Entry
from bot.render.mrkdwn import clip, code, date, escape, link
from bot.render.text import entry_facts, entry_heading, finding_where

MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_FALLBACK_TEXT = 3000
# Slack answers msg_blocks_too_long at about 13,200 characters of blocks JSON; stay clear of it. Measured
# as slack_sdk sends it (json.dumps with \u escapes), the larger of the possible counts.
MAX_BLOCKS_JSON = 11_000

SEVERITY_EMOJI = {
    "low": ":white_circle:",
    "medium": ":large_yellow_circle:",
    "high": ":large_orange_circle:",
    "critical": ":red_circle:",
}
BLAME_EMOJI = {
    "app": ":hammer_and_wrench:",
    "platform": ":cloud:",
    "client": ":bust_in_silhouette:",
    "config": ":gear:",
}


@dataclass(frozen=True)
class SlackMessage:
    """One message to post: Block Kit blocks and the plain-text fallback."""

    text: str
    blocks: tuple[dict, ...] = ()

    def payload(self) -> dict:
        """The keyword arguments for chat.postMessage / respond / ack."""
        return {"text": self.text, "blocks": list(self.blocks)}


@dataclass(frozen=True)
class AppStatus:
    """What the status panel says about one watched app."""

    app: str  # "heroku:my-api"
    last_poll: datetime | None = None
    outcome: str = ""  # of the last poll: ok | partial | failed | skipped
    new_events: int | None = None  # found by the last poll
    events_24h: int = 0
    gaps_24h: int = 0
    failures_in_a_row: int = 0
    problem: str = ""  # the last poll's error or note (e.g. "Fir-generation app: ...")


@dataclass(frozen=True)
class DigestStatus:
    """The last digest: its day, where it went, and whether it was posted."""

    day: str
    channel: str
    state: str
    when: datetime | None = None


@dataclass(frozen=True)
class FeedbackStatus:
    """👍 and 👎 on the bot's answers, and the answers disliked most (label, 👎 count)."""

    up: int = 0
    down: int = 0
    disliked: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class StatusReport:
    """What `/dynodoc status` and the App Home show."""

    apps: tuple[AppStatus, ...] = ()
    last_digest: DigestStatus | None = None
    autodiagnose_channels: tuple[str, ...] = ()
    feedback: FeedbackStatus | None = None


# --- mrkdwn and block helpers -------------------------------------------------------------------------


__all__ = ["clip", "code", "escape", "link"]  # re-exported: the helpers every renderer uses


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}}


def context(*texts: str) -> dict:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, MAX_CONTEXT_TEXT)} for t in texts if t][:10],
    }


def header(text: str) -> dict:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, MAX_HEADER_TEXT), "emoji": True},
    }


def divider() -> dict:
    return {"type": "divider"}


def quote(lines: Sequence[str], limit: int = 600) -> str:
    """Log lines as a code block, escaped and cut short."""
    body = "\n".join(clip(line, 300) for line in lines)
    return "```" + escape(clip(body, limit)).replace("```", "'''") + "```"


def sections(lines: Sequence[str], title: str = "") -> list[dict]:
    """Lines packed into as few sections as the 3,000-character limit allows."""
    out: list[dict] = []
    chunk = title
    for line in lines:
        if chunk and len(chunk) + 1 + len(line) > MAX_SECTION_TEXT:
            out.append(section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        out.append(section(chunk))
    return out


def tidy(blocks: Sequence[dict]) -> list[dict]:
    """Drop what Slack refuses as `invalid_blocks`: a section with empty text, a context with no elements."""
    out = []
    for block in blocks:
        if block["type"] in ("section", "header") and not block["text"]["text"].strip():
            continue
        if block["type"] == "context" and not block["elements"]:
            continue
        out.append(block)
    return out


def blocks_size(blocks: Sequence[dict]) -> int:
    return len(json.dumps(list(blocks)))


def fits(blocks: Sequence[dict], max_blocks: int = MAX_BLOCKS, reserve: int = 0) -> bool:
    return len(blocks) <= max_blocks and blocks_size(blocks) <= MAX_BLOCKS_JSON - reserve


def paginate(blocks: Sequence[dict], max_blocks: int = MAX_BLOCKS, reserve: int = 0) -> list[list[dict]]:
    """Split blocks, in order, into pages that each fit one message (with `reserve` characters and one
    block to spare on every page when `reserve` is given, for the buttons added later)."""
    if reserve:
        max_blocks -= 1
    pages: list[list[dict]] = []
    page: list[dict] = []
    size = 2
    for block in blocks:
        cost = len(json.dumps(block)) + 2
        if page and (len(page) >= max_blocks or size + cost > MAX_BLOCKS_JSON - reserve):
            pages.append(page)
            page, size = [], 2
        page.append(block)
        size += cost
    if page:
        pages.append(page)
    return pages


def _severity(entry: Entry) -> str:
    return SEVERITY_EMOJI.get(entry.severity, "")


# --- answers ------------------------------------------------------------------------------------------


def entry_blocks(entry: Entry, *, fixes: int = 3, where: Where | None = None, lead: str = "") -> list[dict]:
    """One knowledge entry in full: heading, facts, summary, fixes, causes, example, docs. `lead` is a
    line of mrkdwn said under the heading (the status or the question that led here)."""
    facts = (
        f"{_severity(entry)} {escape(entry_facts(entry))}"
        + (f" · HTTP {', '.join(map(str, entry.statuses))}" if entry.statuses else "")
        + f" · {link(entry.docs, 'Docs')}"
    )
    blocks = [
        header(entry_heading(entry)),
        *([context(lead)] if lead else []),
        context(facts),
        section(escape(entry.summary)),
        # The fix before the causes: at 3 a.m. the first screen should say what to do.
        section(
            "*What to do*\n"
            + "\n".join(f"{i}. {escape(f)}" for i, f in enumerate(fixes_for(entry.fixes, where)[:fixes], 1))
        ),
    ]
    if entry.causes:
        blocks.append(section("*Likely causes*\n" + "\n".join(f"• {escape(c)}" for c in entry.causes[:3])))
    if entry.table:
        rows = [entry.table.columns, *entry.table.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(len(entry.table.columns))]
        table = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
        blocks.append(section(quote(table, limit=2500)))
    if entry.notes:
        blocks.append(section("*Good to know*\n" + "\n".join(f"• {escape(n)}" for n in entry.notes[:3])))
    if entry.example.strip():
        blocks.append(section("*Looks like*\n" + quote([entry.example])))
    related = f"Related: {', '.join(code(c) for c in entry.related)} · " if entry.related else ""
    blocks.append(context(related + link(entry.docs, "Docs")))
    return blocks


def entry_line(entry: Entry) -> str:
    retired = " _(retired)_" if entry.retired else ""
    return f"• {code(entry.code)} {escape(entry.title)}{retired}"


def _entry_brief(entry: Entry, where: Where | None = None) -> str:
    """An entry in one section: what a comparison (or a 'not sure') shows of each code."""
    fix = fixes_for(entry.fixes, where)[0]
    return (
        f"*{escape(entry_heading(entry))}*\n{_severity(entry)} {escape(entry_facts(entry))}\n"
        f"{escape(entry.summary)}\n*First fix:* {escape(fix)}\n{link(entry.docs, 'Docs')}"
    )


def answer_blocks(answer: Answer) -> list[dict]:
    """An answer in full: what Show more expands a card to. A header always comes first."""
    entries = [m.entry for m in answer.matches]
    if answer.kind == "unsure":
        blocks = [header("Not sure which one you mean"), section(f":thinking_face: {escape(answer.note)}")]
        for m in answer.candidates:
            blocks += [divider(), section(_entry_brief(m.entry, answer.where))]
        return blocks
    if answer.kind == "help" or (not entries and answer.kind != "unknown_code"):
        return help_blocks(answer.note)
    if answer.kind == "unknown_code":
        blocks = [header(clip(answer.note.rstrip("."), MAX_HEADER_TEXT))]
        if entries:
            blocks += sections([entry_line(e) for e in entries], "The nearest real ones:")
        return blocks
    if answer.kind == "compare":
        blocks = [header(" vs ".join(e.code for e in entries))]
        if answer.note:
            blocks.append(context(escape(answer.note)))
        for entry in entries:
            blocks += [divider(), section(_entry_brief(entry, answer.where))]
        return blocks
    if answer.kind == "family":
        return [
            header(f"{answer.note} — {len(entries)} of them"),
            *sections([entry_line(e) for e in entries]),
            context("Ask about any one for details, e.g. `/dynodoc " + entries[0].code + "`."),
        ]
    if answer.kind == "status":
        blocks = entry_blocks(
            entries[0], where=answer.where, lead=f"The likeliest cause of *{escape(answer.note)}*"
        )
        if entries[1:]:
            blocks += sections([entry_line(e) for e in entries[1:]], f"*Also behind {escape(answer.note)}:*")
        return blocks
    lead = " ".join(escape(x) for x in (answer.note, answer.guess_note) if x)
    blocks = entry_blocks(entries[0], where=answer.where, lead=lead)
    if answer.kind == "search" and len(entries) > 1:
        blocks += sections([entry_line(e) for e in entries[1:]], "*Or did you mean:*")
    return blocks


def help_blocks(note_text: str) -> list[dict]:
    """Help (small talk, or nothing found): a header, then the note. "I don't know that one." leads."""
    first, _, rest = note_text.partition("\n\n")
    if rest and len(first) <= 80:
        return [header(first.rstrip(".")), section(escape(rest))]
    return [header(":stethoscope: Dyno Doctor"), section(escape(note_text))]


def answer_text(answer: Answer) -> str:
    """The plain-text fallback of an answer."""
    entry = answer.best
    if answer.kind in ("help", "unknown_code") or entry is None:
        return clip(answer.note or "Dyno Doctor", MAX_FALLBACK_TEXT)
    if answer.kind == "compare":
        return clip(
            " vs ".join(f"{m.entry.code} ({m.entry.title})" for m in answer.matches), MAX_FALLBACK_TEXT
        )
    if answer.kind == "family":
        return clip(f"{answer.note}: {', '.join(m.entry.code for m in answer.matches)}", MAX_FALLBACK_TEXT)
    return clip(f"{entry_heading(entry)}: {entry.summary}", MAX_FALLBACK_TEXT)


def render_answer(answer: Answer, reserve: int = 0) -> list[SlackMessage]:
    """An answer in full as Slack messages (one, unless it is very long)."""
    return _messages(answer_blocks(answer), [], answer_text(answer), reserve)


# --- diagnoses ----------------------------------------------------------------------------------------


def diagnosis_title(diagnosis) -> str:
    """The header of a diagnosis: the root cause, the codes it leads to, and where ("R14 → H12 on web.1")."""
    primary = diagnosis.primary
    findings = diagnosis.findings
    if primary is None:
        return "No platform errors found" if not findings else " · ".join(f.code for f in findings[:3])
    found = next((f for f in findings if f.code == primary.code), None)
    if found is None:  # a failure with no code of its own: "the crash" → "Crash"
        label = primary.label.removeprefix("the ")
        title = label[:1].upper() + label[1:]
        others = [f.code for f in findings[:2]]
    else:
        title = primary.code
        others = [f.code for f in findings if f.code != primary.code][:2]
    if others:
        more = len(findings) - len(others) - (found is not None)
        title += " → " + ", ".join(others) + (f" +{more}" if more > 0 else "")
    place = found.where[0][0] if found is not None and found.where else ""
    return clip(title + (f" on {place}" if place else ""), MAX_HEADER_TEXT)


def finding_facts(finding) -> list[str]:
    """When, where and how much, in mrkdwn: times in each reader's zone, paths as code."""
    facts = []
    if finding.first:
        span = date(finding.first)
        if finding.last and finding.last != finding.first:
            span += " → " + date(finding.last, "{time_secs}")
        facts.append(f"*when* {span}")
    for name, pairs in (("where", finding.where), ("regions", finding.regions), ("paths", finding.paths)):
        if pairs:
            facts.append(
                f"*{name}* " + ", ".join(code(str(k)) + (f" ({n})" if n > 1 else "") for k, n in pairs)
            )
    if finding.statuses:
        facts.append("*status* " + ", ".join(f"{k} ({n})" if n > 1 else str(k) for k, n in finding.statuses))
    if finding.service_ms:
        lo, hi = finding.service_ms
        facts.append(f"*service* {lo:,} ms" if lo == hi else f"*service* {lo:,}–{hi:,} ms")
    if finding.socks:
        facts.append("*sock* " + ", ".join(f"{k} ({n})" if n > 1 else str(k) for k, n in finding.socks))
    return facts


def _finding_heading(finding) -> str:
    head = f"*{code(finding.code)} {escape(finding.title)}* ×{finding.count}"
    if finding.entry:
        head += (
            f" · {_severity(finding.entry)} {finding.entry.severity}"
            f" · {BLAME_EMOJI[finding.blame]} {escape(finding.entry.blame_words)}"
        )
    return head


def finding_block(finding) -> dict:
    """One finding in full: heading, where and how much, what it is, the first fixes, the docs."""
    lines = [_finding_heading(finding)]
    facts = finding_facts(finding)
    if facts:
        lines.append(" · ".join(facts))
    if finding.entry:
        lines.append(escape(finding.entry.summary))
        lines += [
            f"{i}. {escape(fix)}"
            for i, fix in enumerate(fixes_for(finding.entry.fixes, finding_where(finding))[:2], 1)
        ]
        lines.append(link(finding.entry.docs, "Docs"))
    elif finding.api and finding.api.message:
        lines.append(escape(finding.api.message))
    return section("\n".join(lines))


def finding_line(finding) -> str:
    if finding.entry:
        return (
            f"• {code(finding.code)} {escape(finding.title)} ×{finding.count} · {_severity(finding.entry)} "
            f"{finding.entry.severity} · {escape(finding.entry.blame_words)}"
        )
    return f"• {code(finding.code)} {escape(finding.title)} ×{finding.count}"


def _diagnosis_head(diagnosis) -> list[dict]:
    blocks = [header(diagnosis_title(diagnosis)), section(escape(diagnosis.summary))]
    primary = diagnosis.primary
    if primary:
        blame = BLAME_WORDS[primary.blame]
        label = escape(primary.title) if primary.title else code(primary.code)
        blocks.append(
            section(
                f"*Root cause → {label}* · {BLAME_EMOJI.get(primary.blame, '')} on {blame}\n{escape(primary.why)}"
            )
        )
    shown = primary.why if primary else None
    for corr in diagnosis.correlations:
        text = "" if corr.text == shown else f"• {escape(corr.text)}"
        if corr.quote:
            text += ("\n" if text else "") + quote(corr.quote)
        if text:
            blocks.append(section(text))
    return blocks


def _diagnosis_tail(diagnosis) -> list[dict]:
    blocks: list[dict] = []
    observations = list(diagnosis.observations)
    if not diagnosis.findings:
        observations = observations[1:]  # the first one is already in the summary
    if observations:
        title = "*Also noticed:*" if diagnosis.findings else ""
        blocks += sections([f"• {escape(o)}" for o in observations], title)
    if diagnosis.notes:
        blocks.append(context(*(f":warning: {escape(n)}" for n in diagnosis.notes)))
    return blocks


def render_diagnosis(diagnosis, reserve: int = 0) -> list[SlackMessage]:
    """A diagnosis in full as Slack messages: all in one when it fits, else a summary first and the
    details after, in the same thread."""
    head = _diagnosis_head(diagnosis)
    details = [finding_block(f) for f in diagnosis.findings]
    tail = _diagnosis_tail(diagnosis)
    full = tidy(head + ([divider()] if details else []) + details + tail)
    if fits(full, reserve=reserve) and len(full) < MAX_BLOCKS:
        return [SlackMessage(clip(diagnosis.summary, MAX_FALLBACK_TEXT), tuple(full))]
    summary = head + [
        divider(),
        *sections([finding_line(f) for f in diagnosis.findings], "*Found:*"),
        *tail,
        context(":point_down: The details for each code follow in this thread."),
    ]
    return _messages(summary, details, diagnosis.summary, reserve)


def _messages(first: list[dict], rest: list[dict], text: str, reserve: int = 0) -> list[SlackMessage]:
    pages = paginate(tidy(first), reserve=reserve) + paginate(tidy(rest), reserve=reserve)
    if len(pages) == 1:
        return [SlackMessage(clip(text, MAX_FALLBACK_TEXT), tuple(pages[0]))]
    total = len(pages)
    return [
        SlackMessage(
            clip(text, MAX_FALLBACK_TEXT) if i == 0 else f"Dyno Doctor, continued ({i + 1}/{total})",
            tuple(page),
        )
        for i, page in enumerate(pages)
    ]


# --- notes, status and the App Home -----------------------------------------------------------------


def note(text: str) -> SlackMessage:
    """A short message in mrkdwn (help, a setting changed, a file that was too big)."""
    return SlackMessage(clip(text, MAX_FALLBACK_TEXT), (section(text),))


def _when(t: datetime | None) -> str:
    """A time Slack shows in each reader's own time zone, with a UTC fallback."""
    if t is None:
        return "never"
    fallback = t.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(t.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def status_blocks(report: StatusReport) -> list[dict]:
    """Watched apps with their last poll, and the last digest."""
    if report.apps:
        lines = []
        for app in report.apps:
            line = f"• `{escape(app.app)}` — last poll {_when(app.last_poll)}"
            if app.last_poll:
                line += f" ({escape(app.outcome)})" if app.outcome and app.outcome != "ok" else ""
                line += f", {app.new_events or 0} new event(s); last 24 h: {app.events_24h} event(s)"
                line += f", {app.gaps_24h} gap(s)" if app.gaps_24h else ""
            if app.failures_in_a_row > 1:
                line += f"\n      :warning: {app.failures_in_a_row} failed polls in a row"
            if app.problem:
                line += f"\n      :warning: {escape(clip(app.problem, 300))}"
            lines.append(line)
        blocks = sections(lines, "*Watched apps*")
    else:
        blocks = [section("*Watched apps*\nNone yet: set `DYNODOC_APPS` (e.g. `heroku:my-api,fly:my-edge`).")]
    digest = report.last_digest
    if digest:
        where = f" in <#{digest.channel}>" if digest.channel else ""
        blocks.append(
            section(
                f"*Last digest*\n{escape(digest.day)}{where} ({escape(digest.state)}, {_when(digest.when)})"
            )
        )
    else:
        blocks.append(section("*Last digest*\nNone posted yet."))
    if report.feedback is not None:
        blocks.append(section(feedback_text(report.feedback)))
    if report.autodiagnose_channels:
        channels = ", ".join(f"<#{c}>" for c in report.autodiagnose_channels)
        blocks.append(context(f"Pastes are diagnosed unprompted in {channels} (by default)."))
    return blocks


def feedback_text(feedback: FeedbackStatus) -> str:
    """The feedback panel: the votes, and the answers people disliked (to look at again)."""
    text = f"*Feedback*\n:+1: {feedback.up} · :-1: {feedback.down}"
    if not feedback.up and not feedback.down:
        text += " — nobody has voted on an answer yet"
    if feedback.disliked:
        text += "\nDisliked most: " + ", ".join(f"{code(label)} ({n} :-1:)" for label, n in feedback.disliked)
    return text


def render_status(report: StatusReport) -> SlackMessage:
    names = ", ".join(a.app for a in report.apps) or "no apps"
    return SlackMessage(
        clip(f"Dyno Doctor status: watching {names}.", MAX_FALLBACK_TEXT), tuple(status_blocks(report))
    )


def home_view(intro: str, usage: str, report: StatusReport) -> dict:
    """The App Home tab: what the bot does, how to use it, and the status panel."""
    blocks = [
        header(":stethoscope: Dyno Doctor"),
        section(intro),
        divider(),
        section(usage),
        divider(),
        *status_blocks(report),
    ]
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}


# --- the daily digest ---------------------------------------------------------------------------------


def _digest_app_lines(app) -> list[str]:
    from bot.render.text import app_headline, code_line, coverage_line

    if app.poll_error:
        return [f":x: *{escape(app.app)}* ({app.platform}) — polling failed: {escape(app.poll_error)}"]
    if app.healthy:
        return [f":white_check_mark: {escape(app_headline(app))}"]
    head = escape(app_headline(app)).replace(escape(app.app), f"*{escape(app.app)}*", 1)
    lines = [f":rotating_light: {head}", f"`{app.sparkline}` errors per hour, last 24 h"]
    for stat in app.codes[:4]:
        lines.append(f"• {escape(code_line(stat)).replace(stat.code, f'*{stat.code}*', 1)}")
    if len(app.codes) > 4:
        lines.append(f"• …and {len(app.codes) - 4} more code(s), in the thread")
    cov = coverage_line(app)
    if cov:
        lines.append(f"_coverage: {escape(cov)}_")
    return lines


def _digest_details(app) -> list[dict]:
    """Per-code details of one app, for the digest's thread."""
    out: list[dict] = [section(f"*{escape(app.app)}* ({app.platform}) — details")]
    for stat in app.codes:
        text = [
            f"*{stat.code} — {escape(stat.title)}* ×{stat.count:,} ({'NEW' if stat.new else stat.change})",
            escape(stat.meaning),
        ]
        if stat.paths:
            text.append("paths: " + ", ".join(f"`{escape(p)}` ({n})" for p, n in stat.paths))
        if stat.places:
            text.append("on: " + ", ".join(f"{escape(p)} ({n})" for p, n in stat.places))
        if stat.first_fix:
            text.append(f"first fix: {escape(stat.first_fix)}")
        out.append(section("\n".join(text)))
    return out


def render_digest(digest, title: str = "") -> list[SlackMessage]:
    """The digest as one channel message (apps, most troubled first) and per-code details for its thread."""
    title = title or f"Dyno Doctor digest · {digest.end:%Y-%m-%d}"
    troubled = [a for a in digest.apps if not a.healthy]
    healthy = [a for a in digest.apps if a.healthy]
    blocks: list[dict] = [
        header(title),
        context(
            f"last 24 h to {digest.end:%Y-%m-%d %H:%M} UTC · {len(digest.apps)} app(s) · "
            f"{digest.total_errors:,} error event(s)"
            + (f" · {digest.alerts_line}" if digest.alerts_line else "")
        ),
    ]
    if not digest.apps:
        blocks.append(section("No watched apps yet: set `DYNODOC_APPS` (see the README)."))
    tail = [context("Per-code details, paths and fixes are in the thread :thread:")] if troubled else []
    if healthy:
        tail = sections([line for a in healthy for line in _digest_app_lines(a)]) + tail
    # One message: apps are added most troubled first while they fit; the rest are named in one line.
    left_out: list[str] = []
    for app in troubled:
        candidate = sections(_digest_app_lines(app))
        if not left_out and fits(blocks + candidate + tail, MAX_BLOCKS - 1):
            blocks += candidate
        else:
            left_out.append(f"{escape(app.app)} ({app.errors:,})")
    if left_out:
        blocks.append(section(f"_Also with errors: {', '.join(left_out)} — details in the thread._"))
    blocks += tail if fits(blocks + tail) else tail[-1:]
    worst = ", ".join(f"{a.app}: {a.errors:,}" for a in troubled[:5]) or "no errors"
    text = f"{title} — {digest.total_errors:,} error event(s) ({worst})"
    details = [block for app in troubled for block in _digest_details(app)]
    pages = paginate(details)
    return [SlackMessage(clip(text, MAX_FALLBACK_TEXT), tuple(blocks))] + [
        SlackMessage(f"Digest details ({i + 1}/{len(pages)})", tuple(page)) for i, page in enumerate(pages)
    ]
