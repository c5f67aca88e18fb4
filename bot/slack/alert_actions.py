"""The buttons on an alert: Ack, Snooze 1 h / 24 h, Mute this code on this app.

Each click is acknowledged at once (Slack wants it within 3 s), then stored; the stored change queues an
update of the alert, which the sender delivers, so the message shows who acked it or until when it sleeps.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta

from slack_bolt import App

from bot.incidents import IncidentBook
from bot.render.alerts import ACTION_PREFIX

log = logging.getLogger(__name__)

SNOOZES = {"snooze_1h": timedelta(hours=1), "snooze_24h": timedelta(hours=24)}


def register_alert_actions(app: App, book: IncidentBook, wake: Callable[[], None]) -> None:
    @app.action(re.compile(f"^{ACTION_PREFIX}"))
    def on_alert_button(ack, body: dict, action: dict) -> None:
        ack()
        apply_button(
            book, action.get("action_id", ""), action.get("value", ""), (body.get("user") or {}).get("id", "")
        )
        wake()


def apply_button(book: IncidentBook, action_id: str, value: str, user: str) -> bool:
    """Store what the button says; False when the incident or the action is not one we know."""
    if not value.isdigit():
        return False
    incident_id, what, now = int(value), action_id.removeprefix(ACTION_PREFIX), book.store.clock()
    if what == "ack":
        done = book.ack(incident_id, user, now)
    elif what in SNOOZES:
        done = book.snooze(incident_id, now + SNOOZES[what], now)
    elif what == "mute":
        done = book.mute(incident_id, user, now)
    else:
        return False
    if done is None:
        log.warning("an alert button named incident %s, which is not in the database", incident_id)
    return done is not None
