"""Poll results, polling health and answer feedback as terminal text: `dynodoc poll` and `dynodoc status`."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import WatchedApp
from bot.poll import DRAIN_NOTE, FIR_NOTE, PollResult
from bot.sources.heroku import HISTORY_LINES
from bot.store import FeedbackTally, PollHealth, PollRun


def _codes(codes: tuple[tuple[str, int], ...], limit: int = 6) -> str:
    shown = ", ".join(f"{c} ({n})" if n > 1 else c for c, n in codes[:limit])
    return shown + (f", +{len(codes) - limit} more" if len(codes) > limit else "")


def _when(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M:%S}"


def _gap(start: datetime, end: datetime) -> str:
    return (
        f"gap {_when(start)} → {end:%H:%M:%S}"
        if start.date() == end.date()
        else f"gap {_when(start)} → {_when(end)}"
    )


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _ago(t: datetime, now: datetime) -> str:
    seconds = max(0, int((now - t).total_seconds()))
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 90 * 60:
        return f"{seconds // 60} min ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def render_poll_result(result: PollResult, width: int = 0) -> str:
    """One line per app: outcome, lines read, new events and their codes, gap, error."""
    parts = [f"{str(result.app):<{width}}  {result.outcome:<7}"]
    if result.outcome not in ("failed", "skipped"):
        parts.append(f"read {_n(result.lines_read, 'line')}, {_n(result.new_events, 'new event')}")
        if result.codes:
            parts[-1] += f" ({_codes(result.codes)})"
    if result.gap:
        parts.append(_gap(*result.gap))
    if result.error:
        parts.append(f"error: {result.error}")
    if result.note:
        parts.append(f"note: {result.note}")
    return " · ".join(parts)


def health_word(health: PollHealth, now: datetime, poll_minutes: int) -> str:
    """healthy | failing | no history | partial | stale | gaps | never polled."""
    last = health.last
    if last is None:
        return "never polled"
    if health.failures_in_a_row:
        return "failing"
    if last.note == FIR_NOTE:
        return "no history"
    if last.outcome == "partial":
        return "partial"
    if now - last.finished > timedelta(minutes=3 * poll_minutes):
        return "stale"
    if health.gaps_24h:
        return "gaps"
    return "healthy"


def _run(run: PollRun) -> str:
    if run.outcome in ("failed", "skipped"):
        return run.outcome
    text = f"{run.outcome}, {_n(run.lines_read, 'line')}, {_n(run.new_events, 'new event')}"
    if run.codes:
        text += f" ({_codes(run.codes)})"
    if run.gap_from and run.gap_to:
        text += f", {_gap(run.gap_from, run.gap_to)}"
    return text


def render_status(rows: list[tuple[WatchedApp, PollHealth]], now: datetime, poll_minutes: int) -> str:
    """Each watched app's last poll and health, with the reason when it fails."""
    if not rows:
        return "No apps are watched: set DYNODOC_APPS (e.g. heroku:my-api,fly:my-fly-app)."
    width = max(len(str(app)) for app, _ in rows)
    out = []
    for app, health in rows:
        word = health_word(health, now, poll_minutes)
        line = f"{str(app):<{width}}  {word.upper() if word == 'failing' else word}"
        last = health.last
        if last is None:
            out.append(line)
            continue
        drained = bool(last.note and last.note.startswith(DRAIN_NOTE))
        line += f" · source: {'log drain' if drained else 'polling'}"
        line += f" · last {'batch' if drained else 'poll'} {last.finished:%Y-%m-%d %H:%M} UTC ({_ago(last.finished, now)}): {_run(last)}"
        if health.newest_time:
            line += f" · newest line {_when(health.newest_time)}"
        line += f" · last 24 h: {_n(health.events_24h, 'event')}"
        if health.gaps_24h:
            line += f", {health.gaps_24h} poll(s) with a gap"
        out.append(line)
        if last.error:
            out.append(f"{'':<{width}}    {'why' if word == 'failing' else 'error'}: {last.error}")
        if health.failures_in_a_row:
            since = f"last good poll {_ago(health.last_ok, now)}" if health.last_ok else "no good poll yet"
            out.append(f"{'':<{width}}    {health.failures_in_a_row} failed poll(s) in a row; {since}")
        if not drained and app.platform == "heroku" and last.lines_read >= HISTORY_LINES:
            out.append(
                f"{'':<{width}}    coverage: partial — the poll read all {HISTORY_LINES:,} lines Heroku keeps, so older "
                f"lines of that interval were missed; a log drain sees every line (dynodoc drain-url {app.name})"
            )
        if last.note:
            out.append(f"{'':<{width}}    note: {last.note}")
        elif app.platform == "heroku" and last.outcome == "ok" and not last.lines_read:
            out.append(
                f"{'':<{width}}    note: no lines at all — a quiet app, or a Fir-generation app, which keeps "
                "no log history (set DYNODOC_HEROKU_TAIL=1 to tail it)"
            )
    return "\n".join(out)


def render_feedback(tally: FeedbackTally) -> str:
    """The votes on the bot's answers, and the answers disliked most with their fingerprints (the
    questions and pastes themselves are never kept)."""
    line = f"feedback        👍 {tally.up} · 👎 {tally.down}"
    if not tally.up and not tally.down:
        return line + " (no votes yet)"
    out = [line]
    for d in tally.disliked:
        out.append(f"  disliked: {d.label} ({d.kind} {d.fingerprint[:12]}): 👎 {d.down}, 👍 {d.up}")
    return "\n".join(out)
