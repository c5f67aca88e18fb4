"""Where a reply goes, and the message that started a thread.

In a channel or a group DM the bot answers in the message's thread, so it never floods the conversation.
In a DM with the bot an answer in a thread is easy to miss, so it answers inline, unless the person wrote
in a thread themselves.

A thread's first message is read with `conversations.history` (`latest=ts, inclusive, limit=1`), which bot
tokens may use wherever the bot is a member; `conversations.replies` is only the fallback, because Slack
documents it for bot tokens in DMs and group DMs alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

log = logging.getLogger(__name__)


def is_dm(event: dict[str, Any]) -> bool:
    """A direct message with the bot (not a group DM)."""
    return event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")


def reply_thread(event: dict[str, Any]) -> str | None:
    """The thread to answer a message in, or None to answer inline (a DM not written in a thread)."""
    if event.get("thread_ts"):
        return str(event["thread_ts"])
    return None if is_dm(event) else str(event["ts"])


@dataclass(frozen=True)
class Parent:
    """The message that started a thread, or why it could not be read."""

    message: dict[str, Any] | None = None
    error: str = ""


def thread_parent(client: WebClient, channel: str, thread_ts: str) -> Parent:
    """The first message of the thread `thread_ts` in `channel`: from conversations.history, else from
    conversations.replies; `error` names what Slack said when neither would tell."""
    errors = []
    calls: tuple[tuple[str, Callable[[], SlackResponse]], ...] = (
        (
            "conversations.history",
            lambda: client.conversations_history(channel=channel, latest=thread_ts, inclusive=True, limit=1),
        ),
        (
            "conversations.replies",
            lambda: client.conversations_replies(channel=channel, ts=thread_ts, limit=1),
        ),
    )
    for method, call in calls:
        try:
            found = call().get("messages") or []
        except SlackApiError as exc:
            errors.append(str(exc.response.get("error") or exc.response.status_code))
            log.info(
                "%s could not read the start of thread %s in %s: %s", method, thread_ts, channel, errors[-1]
            )
            continue
        first = next((m for m in found if m.get("ts") == thread_ts), None)
        if first is not None:
            return Parent(first)
        errors.append("message_not_found")
    return Parent(error=", ".join(dict.fromkeys(errors)))
