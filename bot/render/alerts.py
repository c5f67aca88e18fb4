"""An alert as Slack shows it: one message per incident, updated in place as it grows, acked or recovers.

🔴 H12 on acme-api — Request timeout
40 since 09:41 (new on this app) · your app's side
A request took longer than 30 s, so the router gave up and answered 503 for it.
Started 3 min after v142 (deployed by ada@example.com) · rollback: `heroku rollback v141 -a acme-api`
[Ack] [Snooze 1 h] [Snooze 24 h] [Mute H12 on acme-api]
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.incidents import Incident
from bot.knowledge import BLAME_WORDS, KnowledgeBase
from bot.render.blocks import _when, clip, context, escape, header, section

ALERT_EVENT = "dynodoc_alert"  # Slack message metadata event_type of an alert post
ACTION_PREFIX = "dynodoc_alert_"
ACTIONS = (("ack", "Ack"), ("snooze_1h", "Snooze 1 h"), ("snooze_24h", "Snooze 24 h"), ("mute", "Mute"))

_REASONS = {
    "new": "new on this app in 7 days",
    "spike": "a spike: far above its 7-day average",
    "crash-loop": "crash loop: repeated crashes within minutes",
    "memory": "killed for memory",
    "platform": "the platform's side",
    "ongoing": "still firing",
}
_TITLES = {"crash": "Crash loop", "oom": "Out-of-memory kill"}


def _first_sentence(text: str) -> str:
    m = re.match(r"(.+?[.!?])(\s|$)", text.strip(), re.S)
    return (m.group(1) if m else text).strip()


def alert_message(
    incident: Incident, kb: KnowledgeBase, now: datetime, mention: str = ""
) -> tuple[str, list[dict[str, Any]]]:
    """The alert's fallback text and blocks, rendered from the incident as it stands now."""
    entry = kb.get(incident.code)
    title = entry.title if entry else _TITLES.get(incident.code, incident.code)
    recovered = incident.state != "open"
    mark = "✅" if recovered else ("🔴" if incident.reason in ("platform", "memory", "crash-loop") else "🟠")
    code = incident.code.upper() if entry else ""
    head = f"{mark} {code + ' ' if code else ''}on {incident.app} — {title}"
    side = f" · {BLAME_WORDS.get(entry.blame, entry.blame)}" if entry else ""
    facts = f"*{incident.count}* since {_when(incident.opened)} ({_REASONS.get(incident.reason, incident.reason)}){side}"
    lines = [facts]
    if entry:
        lines.append(escape(_first_sentence(entry.summary)))
    if mention and not recovered:
        lines.insert(0, mention)
    blocks: list[dict[str, Any]] = [header(head), section("\n".join(lines))]
    notes = []
    if incident.release:
        notes.append(escape(incident.release))
    if incident.acked_by:
        notes.append(f"Acked by <@{escape(incident.acked_by)}> {_when(incident.acked_at)}")
    if incident.snoozed_until and incident.snoozed_until > now and not recovered:
        notes.append(f"Snoozed until {_when(incident.snoozed_until)}: the count keeps growing here, quietly")
    if recovered:
        notes.append(f"Recovered: quiet since {_when(incident.last_seen)}")
    if notes:
        blocks.append(context(*notes))
    if not recovered:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"alert_{incident.id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACTION_PREFIX + action,
                        "text": {
                            "type": "plain_text",
                            "text": label if action != "mute" else _mute_label(incident),
                        },
                        "value": str(incident.id),
                        **({"style": "primary"} if action == "ack" else {}),
                    }
                    for action, label in ACTIONS
                    if not (action == "ack" and incident.acked_by)
                ],
            }
        )
    text = clip(f"{head}: {incident.count} since {incident.opened:%H:%M} UTC", 300)
    if mention and not recovered:
        text = f"{mention} {text}"
    return text, blocks


def _mute_label(incident: Incident) -> str:
    return clip(f"Mute {incident.code} on {incident.app}", 75)


def reply_text(incident: Incident) -> str:
    return (
        f"Still firing: {incident.count} {incident.code} on {incident.app} since {incident.opened:%H:%M} UTC."
    )


def recovered_text(incident: Incident) -> str:
    return f"✅ Recovered: no {incident.code} on {incident.app} for 30 minutes ({incident.count} in all)."
