"""Several instances of the bot, each job done once: scheduled jobs under a database lock, and the
Slack-side guard that leaves at most one digest a day visible when instances cannot share a database.

- With a shared PostgreSQL, any number of `web` and `worker` processes run the scheduler; each job
  takes an advisory lock (`Store.exclusive`), so one instance polls and one posts each digest.
- Without one (an SQLite file per dyno), only one process should run the scheduler (see the README and
  `dynodoc serve --jobs`); if two do anyway, the digest guard below keeps the channel right: each
  posts, then reads the channel's digests tagged with that day, and deletes its own if an earlier one
  is there. Whatever the timing, the earliest stays and every later one is deleted by its poster.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.store import Store

log = logging.getLogger(__name__)

DIGEST_EVENT = "dynodoc_digest"  # Slack message metadata event_type of a posted digest


def only_one(store: Store, job: str, run: Callable[..., Any]) -> Callable[..., Any]:
    """`run`, done only by the instance that holds the job's lock; the others skip this round."""

    @functools.wraps(run)
    def exclusive(*args: Any, **kwargs: Any) -> Any:
        try:
            with store.exclusive(job) as mine:
                if not mine:
                    log.info("%s: another instance is doing it; skipped here", job)
                    return None
                return run(*args, **kwargs)
        except Exception:  # a scheduled job must never take the bot down (the database may be away)
            log.exception("%s failed", job)
            return None

    return exclusive


def while_ours(
    store: Store, job: str, run: Callable[[], Any], stop: threading.Event, retry_s: float = 60.0
) -> None:
    """Run a job that lasts (tail mode's open log sessions) only while this instance holds its lock:
    the others wait and try again every `retry_s`, so when the holder stops or dies (PostgreSQL then
    drops its lock) another instance takes over. Returns when `run` returns or `stop` is set."""
    while not stop.is_set():
        try:
            with store.exclusive(job) as mine:
                if mine:
                    run()
                    return
        except Exception:  # the database may be away: try again later, never take the bot down
            log.exception("%s: could not take its lock", job)
        log.info("%s: another instance is doing it; trying again in %.0f s", job, retry_s)
        stop.wait(retry_s)


def tagged_digests(client, channel: str, day: str, since: datetime) -> list[str]:
    """The ts of every message in `channel` since `since` tagged as the digest of `day`, oldest first."""
    found: list[str] = []
    cursor = None
    for _ in range(5):  # at most 5 pages of 200: a digest is found within minutes of its intent
        resp = client.conversations_history(
            channel=channel,
            oldest=f"{since.timestamp():.6f}",
            limit=200,
            include_all_metadata=True,
            cursor=cursor,
        )
        for message in resp.get("messages", []):
            meta = message.get("metadata") or {}
            if meta.get("event_type") == DIGEST_EVENT and (meta.get("event_payload") or {}).get("day") == day:
                found.append(message["ts"])
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return sorted(found, key=float)


def earlier_digest(client, channel: str, day: str, since: datetime, ours: str) -> str | None:
    """Just after posting `ours`: if an earlier digest of `day` is in the channel, delete ours and return
    the earlier one's ts; else None (ours stays). Two instances that both posted settle it between them:
    only the later poster finds an earlier one, and only its own message is deleted."""
    from slack_sdk.errors import SlackApiError

    try:
        earlier = [ts for ts in tagged_digests(client, channel, day, since) if float(ts) < float(ours)]
    except SlackApiError as exc:
        log.warning(
            "could not read %s to check for a second %s digest (%s)", channel, day, exc.response.get("error")
        )
        return None
    if not earlier:
        return None
    try:
        client.chat_delete(channel=channel, ts=ours)
    except SlackApiError as exc:
        log.warning("could not delete a second %s digest %s (%s)", day, ours, exc.response.get("error"))
    return earlier[0]
