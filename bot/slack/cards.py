"""Cards in Slack: each card is posted with its buttons and its details kept; Show more, Share and 👍/👎
are answered here.

Every button handler acknowledges first (Slack wants that within 3 seconds) and then works in Bolt's
listener thread: `chat.update` (or the `response_url` for a private message) to expand or fold a card,
the rest of a long answer in the card's thread, a post to share it, a row in the store for a vote.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import timedelta

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages
from bot.render.blocks import SlackMessage
from bot.render.cards import (
    ACTION_DOWN,
    ACTION_LESS,
    ACTION_MORE,
    ACTION_SHARE,
    ACTION_SHARE_TO,
    ACTION_UP,
    SHARE_NONE,
    Card,
    CardRef,
    shared_by,
    shows_more,
    with_actions,
)
from bot.store import StoredCard, StoreError

log = logging.getLogger(__name__)

CARD_DAYS = 7  # how long Show more works: long enough for an incident and its review
MAX_RESPONSE_POSTS = 4  # a response_url takes five posts; one is kept for a note
# Errors meaning the bot may not post in the conversation (not a member, or it is closed to it).
CANNOT_POST = ("not_in_channel", "channel_not_found", "is_archived", "restricted_action")


def prepare(card: Card, services, share: str = SHARE_NONE) -> SlackMessage:
    """Keep the card and its details for its buttons, and return the card with them. If the store cannot
    keep it, the card still goes out, with only the 👍/👎 that need nothing kept."""
    ref = CardRef(secrets.token_hex(8), card.kind, card.fingerprint, card.label, share)
    kept = StoredCard(
        ref.card_id,
        card.kind,
        card.fingerprint,
        card.label,
        _plain(card.message),
        [_plain(m) for m in card.details],
        services.store.clock(),
    )
    try:
        services.store.save_card(kept)
    except StoreError as exc:
        log.warning("cannot keep a card's details, posting it without Show more: %s", type(exc).__name__)
        return with_actions(card.message, replace(ref, share=SHARE_NONE), more=False, share=False)
    return with_actions(card.message, ref, more=card.has_more)


def forget_old_cards(store) -> int:
    """Drop cards older than `CARD_DAYS` (at start-up, as with seen events)."""
    return store.forget_cards(store.clock() - timedelta(days=CARD_DAYS))


def register(app: App, services) -> None:
    """Attach the card buttons' handlers to the Bolt app."""

    @app.action(ACTION_MORE)
    def on_more(ack, body: dict, client: WebClient, respond) -> None:
        ack()
        unfold(body, client, respond, services, expanded=True)

    @app.action(ACTION_LESS)
    def on_less(ack, body: dict, client: WebClient, respond) -> None:
        ack()
        unfold(body, client, respond, services, expanded=False)

    @app.action(ACTION_SHARE)
    def on_share(ack, body: dict, respond) -> None:
        ack()
        share_here(body, respond, services)

    @app.action(ACTION_SHARE_TO)
    def on_share_to(ack, body: dict, client: WebClient, respond) -> None:
        ack()
        share_to(body, client, respond, services)

    @app.action(ACTION_UP)
    def on_up(ack, body: dict, respond) -> None:
        ack()
        vote(body, respond, services, 1)

    @app.action(ACTION_DOWN)
    def on_down(ack, body: dict, respond) -> None:
        ack()
        vote(body, respond, services, -1)


# --- what a click carries ---------------------------------------------------------------------------


def _plain(message: SlackMessage) -> dict:
    return {"text": message.text, "blocks": list(message.blocks)}


def _message(kept: dict) -> SlackMessage:
    return SlackMessage(str(kept.get("text") or ""), tuple(kept.get("blocks") or ()))


def card_ref(body: dict) -> CardRef | None:
    """The card a click came from: the clicked button's value, or (for the channel menu, which has no
    value) a sibling button's."""
    action = (body.get("actions") or [{}])[0]
    ref = CardRef.parse(action.get("value"))
    if ref is None:
        for block in (body.get("message") or {}).get("blocks") or []:
            for element in block.get("elements") or [] if block.get("type") == "actions" else []:
                ref = ref or CardRef.parse(element.get("value"))
    if ref is None:
        log.warning("a click with no card in it (action %s)", action.get("action_id"))
    return ref


def _tell(respond, text: str) -> None:
    """A note only the person who clicked sees, under the card."""
    respond(text=text, response_type="ephemeral", replace_original=False)


def _kept(ref: CardRef, respond, services) -> StoredCard | None:
    kept = services.store.card(ref.card_id)
    if kept is None:
        _tell(respond, messages.CARD_GONE.format(days=CARD_DAYS))
    return kept


# --- Show more / Show less ------------------------------------------------------------------------------


def unfold(body: dict, client: WebClient, respond, services, *, expanded: bool) -> None:
    """Replace the card with all of the answer (the rest in its thread), or fold it back to the card."""
    ref = card_ref(body)
    kept = _kept(ref, respond, services) if ref else None
    if ref is None or kept is None:
        return
    card = _message(kept.card)
    pages = [_message(d) for d in kept.details] if expanded else [card]
    first = with_actions(
        pages[0], ref, expanded=expanded, more=shows_more(card, [_message(d) for d in kept.details])
    )
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if container.get("is_ephemeral") or not (channel and ts):
        respond(replace_original=True, **first.payload())
        for page in pages[1 : MAX_RESPONSE_POSTS + 1]:
            respond(response_type="ephemeral", replace_original=False, **page.payload())
        return
    try:
        client.chat_update(channel=channel, ts=ts, **first.payload())
    except SlackApiError as exc:  # e.g. a shared card posted through a response_url: answer through it
        log.info(
            "chat.update refused (%s); replacing the card through its response_url", exc.response.get("error")
        )
        respond(replace_original=True, **first.payload())
    thread = (body.get("message") or {}).get("thread_ts") or container.get("thread_ts") or ts
    for page in pages[1:]:
        client.chat_postMessage(
            channel=channel, thread_ts=thread, unfurl_links=False, unfurl_media=False, **page.payload()
        )
    log.info("%s a %s card (%d message(s))", "expanded" if expanded else "folded", ref.kind, len(pages))


# --- Share ------------------------------------------------------------------------------------------------


def _public(kept: StoredCard, ref: CardRef, user: str) -> SlackMessage:
    card = _message(kept.card)
    more = shows_more(card, [_message(d) for d in kept.details])
    return with_actions(shared_by(card, user), replace(ref, share=SHARE_NONE), more=more)


def share_here(body: dict, respond, services) -> None:
    """A private answer (ephemeral, slash command) shown to the conversation it was given in."""
    ref = card_ref(body)
    kept = _kept(ref, respond, services) if ref else None
    if ref is None or kept is None:
        return
    user = (body.get("user") or {}).get("id", "")
    answer = respond(response_type="in_channel", replace_original=False, **_public(kept, ref, user).payload())
    if getattr(answer, "status_code", 200) != 200:
        _tell(respond, messages.SHARE_FAILED.format(error=f"HTTP {answer.status_code}"))
        return
    respond(delete_original=True)
    log.info("shared a %s card in its conversation", ref.kind)


def share_to(body: dict, client: WebClient, respond, services) -> None:
    """An answer given in a DM, posted to the channel picked in the card's menu."""
    action = (body.get("actions") or [{}])[0]
    channel = action.get("selected_conversation") or ""
    ref = card_ref(body)
    kept = _kept(ref, respond, services) if ref and channel else None
    if ref is None or kept is None:
        return
    user = (body.get("user") or {}).get("id", "")
    try:
        client.chat_postMessage(
            channel=channel, unfurl_links=False, unfurl_media=False, **_public(kept, ref, user).payload()
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        _tell(
            respond,
            messages.CANNOT_SHARE_IN.format(channel=channel)
            if error in CANNOT_POST
            else messages.SHARE_FAILED.format(error=error),
        )
        return
    _tell(respond, messages.SHARED_IN.format(channel=channel))
    log.info("shared a %s card from a DM to %s", ref.kind, channel)


# --- 👍 / 👎 -------------------------------------------------------------------------------------------------


def vote(body: dict, respond, services, value: int) -> None:
    """File the vote under the question's or paste's fingerprint (never its text) and say thanks."""
    ref = card_ref(body)
    user = (body.get("user") or {}).get("id", "")
    if ref is None or not user:
        return
    try:
        services.store.record_vote(ref.fingerprint, user, ref.kind, ref.label, value)
    except StoreError as exc:
        _tell(respond, messages.VOTE_FAILED.format(error=type(exc).__name__))
        return
    log.info("feedback %s on %s (%s)", "up" if value > 0 else "down", ref.label, ref.kind)
    _tell(respond, messages.THANKS_UP if value > 0 else messages.THANKS_DOWN)
