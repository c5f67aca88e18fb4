"""Answers, diagnoses and digests as plain text for the terminal, and the `--json` contracts."""

from __future__ import annotations

from bot.context import Where, fixes_for, where_in
from bot.knowledge import BLAME_WORDS, Answer, Entry
from bot.redact import redact


def entry_heading(entry: Entry) -> str:
    retired = " (retired)" if entry.retired else ""
    return f"{entry.code} — {entry.title}{retired}"


def entry_facts(entry: Entry) -> str:
    """The one-line facts under a heading: platform, kind, whose side, severity."""
    return f"{entry.platform_name} {entry.kind} error · on {entry.blame_words} · severity {entry.severity}"


def finding_where(finding) -> Where:
    """Where a finding happened (its busiest dyno or machine), for filling in its fixes."""
    return where_in(finding.example, [w for w, _ in finding.where])


def render_entry(entry: Entry, *, fixes: int = 3, where: Where | None = None) -> str:
    # What a reader needs first (title, meaning, whose side, the fix, the docs) comes first.
    lines = [entry_heading(entry), entry_facts(entry), f"Docs: {entry.docs}", "", entry.summary, ""]
    lines.append("What to do:")
    lines += [f"  {i}. {f}" for i, f in enumerate(fixes_for(entry.fixes, where)[:fixes], 1)]
    if entry.causes:
        lines.append("Likely causes:")
        lines += [f"  • {c}" for c in entry.causes[:3]]
    if entry.table:
        lines.append("")
        lines.append("  " + " | ".join(entry.table.columns))
        lines += ["  " + " | ".join(row) for row in entry.table.rows]
    if entry.notes:
        lines.append("Good to know:")
        lines += [f"  • {n}" for n in entry.notes[:3]]
    if entry.example:
        lines.append(f"Looks like: {entry.example}")
    if entry.related:
        lines.append(f"Related: {', '.join(entry.related)}")
    return "\n".join(lines)


def render_compare(entries: list[Entry]) -> str:
    rows = [
        ("", *(e.code for e in entries)),
        ("title", *(e.title for e in entries)),
        ("platform", *(e.platform_name for e in entries)),
        ("whose side", *(e.blame for e in entries)),
        ("severity", *(e.severity for e in entries)),
        ("statuses", *(", ".join(map(str, e.statuses)) or "–" for e in entries)),
    ]
    width = max(len(r[0]) for r in rows)
    col = [max(len(r[i]) for r in rows) for i in range(1, len(entries) + 1)]
    table = [
        "  ".join([r[0].ljust(width), *(v.ljust(col[i]) for i, v in enumerate(r[1:]))]).rstrip() for r in rows
    ]
    parts = ["Side by side:", *table, ""]
    for e in entries:
        parts += [f"{e.code} — {e.title}: {e.summary}", f"  First fix: {e.fixes[0]}", f"  Docs: {e.docs}", ""]
    return "\n".join(parts).rstrip()


def render_list(entries: list[Entry]) -> str:
    return "\n".join(f"  {e.code:<22} {e.title}{' (retired)' if e.retired else ''}" for e in entries)


def _first_sentence(text: str) -> str:
    cut = text.find(". ")
    return text if cut == -1 else text[: cut + 1]


def render_answer(answer: Answer) -> str:
    """The reply to a question, as text."""
    entries = [m.entry for m in answer.matches]
    if answer.kind == "help":
        return answer.note
    if answer.kind == "unsure":
        return (
            answer.note
            + "\n"
            + "\n".join(
                f"  • {m.entry.code} — {m.entry.title}: {_first_sentence(m.entry.summary)}"
                for m in answer.candidates
            )
        )
    if answer.kind == "unknown_code":
        near = ", ".join(f"{e.code} ({e.title})" for e in entries)
        return f"{answer.note} The nearest real ones: {near}." if near else answer.note
    if answer.kind == "compare":
        head = f"{answer.note}\n\n" if answer.note else ""
        return head + render_compare(entries)
    if answer.kind == "family":
        return f"{answer.note} — {len(entries)} of them:\n{render_list(entries)}\n\nAsk about any one for details."
    if answer.kind == "status":
        first = entries[0]
        rest = entries[1:]
        text = f"{answer.note}:\n\n{render_entry(first, where=answer.where)}"
        if rest:
            text += f"\n\nAlso behind {answer.note}:\n{render_list(rest)}"
        return text
    text = render_entry(entries[0], where=answer.where)
    if answer.note or answer.guess_note:
        text = f"{' '.join(x for x in (answer.note, answer.guess_note) if x)}\n\n{text}"
    if answer.kind == "search" and len(entries) > 1:
        text += "\n\nOr did you mean:\n" + render_list(entries[1:])
    return text


def answer_json(answer: Answer) -> dict:
    """The `dynodoc ask --json` contract: query, matches (best first) and the rendered answer."""
    return {
        "query": redact(answer.query).text,  # a question can carry a pasted key: never echo it
        "kind": answer.kind,
        "matches": [
            {"code": m.entry.code, "platform": m.entry.platform, "title": m.entry.title, "score": m.score}
            for m in answer.matches
        ],
        "candidates": [{"code": m.entry.code, "title": m.entry.title} for m in answer.candidates],
        # What decided the first match, and how often answers decided that way are right (null: none).
        "evidence": answer.evidence or None,
        "confidence": answer.confidence,
        "answer": render_answer(answer),
    }


# --- diagnoses ----------------------------------------------------------------------------------------


def _span(first, last) -> str:
    if not first:
        return ""
    if last and last != first:
        return (
            f"{first:%Y-%m-%d %H:%M:%S} → {last:%H:%M:%S}"
            if first.date() == last.date()
            else f"{first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M}"
        )
    return f"{first:%Y-%m-%d %H:%M:%S}"


def _counts(pairs) -> str:
    return ", ".join(f"{k} ({n})" if n > 1 else str(k) for k, n in pairs)


def finding_facts(finding) -> list[str]:
    """The 'where and how much' lines of one finding, shared by text and Slack."""
    facts = []
    span = _span(finding.first, finding.last)
    if span:
        facts.append(f"when: {span}")
    if finding.where:
        facts.append(f"where: {_counts(finding.where)}")
    if finding.regions:
        facts.append(f"regions: {_counts(finding.regions)}")
    if finding.paths:
        facts.append(f"paths: {_counts(finding.paths)}")
    if finding.statuses:
        facts.append(f"status: {_counts(finding.statuses)}")
    if finding.service_ms:
        lo, hi = finding.service_ms
        facts.append(f"service: {lo:,} ms" if lo == hi else f"service: {lo:,}–{hi:,} ms")
    if finding.socks:
        facts.append(f"sock: {_counts(finding.socks)}")
    return facts


def render_diagnosis(diagnosis) -> str:
    """The reply to a paste, as text (the Slack reply says the same in blocks)."""
    lines = [diagnosis.summary]
    if diagnosis.primary:
        p = diagnosis.primary
        lines += ["", f"Root cause → {p.label} (on {BLAME_WORDS[p.blame]})", f"  {p.why}"]
    shown = diagnosis.primary.why if diagnosis.primary else None
    for c in diagnosis.correlations:
        if c.text != shown:
            lines.append(f"• {c.text}")
        lines += [f"    > {q}" for q in c.quote]
    for f in diagnosis.findings:
        lines += ["", f"{f.code} — {f.title} ×{f.count}" + (f" ({f.entry.blame_words})" if f.entry else "")]
        lines += [f"  {fact}" for fact in finding_facts(f)]
        if f.entry:
            lines.append(f"  {f.entry.summary}")
            lines += [
                f"  {i}. {fix}" for i, fix in enumerate(fixes_for(f.entry.fixes, finding_where(f))[:2], 1)
            ]
            lines.append(f"  Docs: {f.entry.docs}")
        elif f.api and f.api.message:
            lines.append(f"  {f.api.message}")
    if diagnosis.findings and diagnosis.observations:
        lines += ["", "Also noticed:"] + [f"  • {o}" for o in diagnosis.observations]
    elif not diagnosis.findings and len(diagnosis.observations) > 1:
        lines += [f"  • {o}" for o in diagnosis.observations[1:]]
    if diagnosis.notes:
        lines += [""] + [f"⚠ {n}" for n in diagnosis.notes]
    return "\n".join(lines)


def diagnosis_json(diagnosis) -> dict:
    """The `dynodoc diagnose --json` contract."""

    def when(t):
        return t.isoformat() if t else None

    return {
        "findings": [
            {
                "code": f.code,
                "platform": f.platform,
                "count": f.count,
                "title": f.title,
                "blame": f.blame,
                "severity": f.entry.severity if f.entry else None,
                "first": when(f.first),
                "last": when(f.last),
                "where": dict(f.where),
                "regions": dict(f.regions),
                "paths": dict(f.paths),
                "statuses": {str(k): v for k, v in f.statuses},
                "service_ms": list(f.service_ms) if f.service_ms else None,
                "sock": dict(f.socks),
                "fixes": fixes_for(f.entry.fixes, finding_where(f))[:3] if f.entry else [],
                "docs": f.entry.docs if f.entry else None,
                **(
                    {
                        "api": {
                            "api": f.api.api,
                            "status": f.api.status,
                            "type": f.api.type,
                            "code": f.api.code,
                            "message": f.api.message,
                            "retry_after": f.api.retry_after,
                            "disagreement": f.api.disagreement,
                        }
                    }
                    if f.api
                    else {}
                ),
            }
            for f in diagnosis.findings
        ],
        "primary": (
            {"code": diagnosis.primary.code, "why": diagnosis.primary.why, "blame": diagnosis.primary.blame}
            if diagnosis.primary
            else None
        ),
        "blame": diagnosis.blame,
        "correlations": [
            {"cause": c.cause, "codes": list(c.codes), "text": c.text, "quote": list(c.quote)}
            for c in diagnosis.correlations
        ],
        "observations": list(diagnosis.observations),
        "redacted": diagnosis.redacted,
        "lines": diagnosis.lines,
        "truncated": diagnosis.truncated,
        "notes": list(diagnosis.notes),
        "summary": diagnosis.summary,
    }


# --- digests -------------------------------------------------------------------------------------------


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.2%}"


def coverage_line(app) -> str | None:
    """ "polled 288 of 288 times; 2 gaps, 03:10–03:15, lines may be missing" (None when not polled)."""
    if not app.polls_expected and not app.gaps:
        return None
    text = f"polled {app.polls_done} of {app.polls_expected} times"
    if app.gaps:
        spans = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in app.gaps[:3])
        text += f"; {len(app.gaps)} gap{'s' if len(app.gaps) > 1 else ''}, {spans}, lines may be missing"
    else:
        text += "; no gaps"
    return text


def app_headline(app) -> str:
    if app.poll_error:
        return f"{app.app} ({app.platform}) — polling failed: {app.poll_error}"
    if app.healthy:
        extra = f" · {app.requests:,} requests" if app.requests else ""
        return f"{app.app} ({app.platform}) — no errors in the last 24 h{extra}"
    change = (
        "="
        if app.errors == app.previous_errors
        else (f"{'▲' if app.errors > app.previous_errors else '▼'} from {app.previous_errors:,}")
    )
    parts = [f"{app.app} ({app.platform}) — {app.errors:,} errors ({change})"]
    if app.requests:
        parts.append(f"{app.requests:,} requests, error rate {_rate(app.error_rate)}")
    if app.p95_ms is not None:
        parts.append(f"p95 ≤ {app.p95_ms:,} ms")
    return " · ".join(parts)


def code_line(stat) -> str:
    if stat.new:
        trend = "NEW"
    else:
        avg = f", 7-day avg {stat.daily_average:.1f}/day" if stat.daily_average else ""
        trend = f"{stat.change}{avg}"
    return f"{stat.code} ×{stat.count:,} ({trend}) — {stat.title}: {stat.meaning}"


def render_digest(digest) -> str:
    lines = [f"Dyno Doctor digest — {digest.start:%Y-%m-%d %H:%M} → {digest.end:%Y-%m-%d %H:%M} UTC"]
    if digest.alerts_line:
        lines.append(digest.alerts_line)
    if not digest.apps:
        lines.append("No apps to report on.")
    for app in digest.apps:
        lines += ["", ("✅ " if app.healthy else "") + app_headline(app)]
        if app.healthy or app.poll_error:
            cov = coverage_line(app)
            if cov:
                lines.append(f"  coverage: {cov}")
            continue
        lines.append(f"  errors per hour: {app.sparkline}")
        for stat in app.codes:
            lines.append(f"  {code_line(stat)}")
            where = []
            if stat.paths:
                where.append("paths " + ", ".join(f"{p} ({n})" for p, n in stat.paths))
            if stat.places:
                where.append("on " + ", ".join(f"{p} ({n})" for p, n in stat.places))
            if where:
                lines.append(f"      {' · '.join(where)}")
            if stat.first_fix:
                lines.append(f"      first fix: {stat.first_fix}")
        cov = coverage_line(app)
        if cov:
            lines.append(f"  coverage: {cov}")
    return "\n".join(lines)


def digest_json(digest, file_tallies=None) -> dict:
    """Per app: counts per code and totals for the digest window (and for the whole file, if read from one)."""
    apps = []
    for app in digest.apps:
        item = {
            "app": app.app,
            "platform": app.platform,
            "codes": {s.code: s.count for s in app.codes},
            "totals": {
                "requests": app.requests,
                "errors": app.errors,
                "previous_errors": app.previous_errors,
                "error_rate": app.error_rate,
                "p95_ms": app.p95_ms,
            },
            "new_codes": [s.code for s in app.codes if s.new],
            "sparkline": app.sparkline,
            "poll_error": app.poll_error,
        }
        if file_tallies and app.app in file_tallies:
            tally = file_tallies[app.app]
            codes: dict[str, int] = {}
            for (_, code), n in tally.codes.items():
                codes[code] = codes.get(code, 0) + n
            item["file"] = {
                "codes": dict(sorted(codes.items())),
                "requests": sum(tally.requests.values()),
                "errors": sum(codes.values()),
            }
        apps.append(item)
    out = {"start": digest.start.isoformat(), "end": digest.end.isoformat(), "apps": apps}
    if digest.alerts is not None:
        out["alerts"] = dict(digest.alerts)
    return out
