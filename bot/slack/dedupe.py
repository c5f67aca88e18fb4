"""Bolt middleware that answers a retried Slack event (an event_id already seen) with 200 and drops it.

Slack redelivers an event that got no 2xx within three seconds (headers `X-Slack-Retry-Num`,
`X-Slack-Retry-Reason`), and in Socket Mode the envelope's `retry_attempt` becomes the same header.
Bolt processes each delivery again, so without this a slow moment would post the same reply twice.
Seen ids live in the database (`Store.first_sighting`), shared by every instance on PostgreSQL, so a restart between two deliveries changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot.store import Store, StoreError

log = logging.getLogger(__name__)


def _retry(req: BoltRequest | None) -> str:
    """How Slack marked a delivery: `retry 1, http_timeout`, or `not marked as a retry`."""
    headers = req.headers if req is not None else {}
    number = (headers.get("x-slack-retry-num") or [""])[0]
    reason = (headers.get("x-slack-retry-reason") or [""])[0]
    return f"retry {number}, {reason or 'no reason given'}" if number else "not marked as a retry"


def drop_retried_events(store: Store) -> Callable[..., BoltResponse | None]:
    """A global middleware: events seen before are acknowledged and go no further."""

    def middleware(
        body: dict[str, Any],
        next: Callable[[], BoltResponse],  # noqa: A002 (Bolt's name)
        req: BoltRequest | None = None,
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        try:
            first = not event_id or store.first_sighting(str(event_id))
        except StoreError as exc:
            # The database cannot be written (disk full ...): answering twice beats not answering at all.
            log.warning("cannot record event %s, answering it anyway: %s", event_id, type(exc).__name__)
            first = True
        if not first:
            # Logged before the acknowledgement: the decision an operator (or a test) can wait for.
            log.info("dropped retried event %s (%s)", event_id, _retry(req))
            return BoltResponse(status=200, body="")
        return next()

    return middleware
