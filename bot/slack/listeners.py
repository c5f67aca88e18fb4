"""Slack listeners: each pulls what it needs out of Slack's payload, calls the core, and says the result.

Everything is registered in `register(app, services)`:

- `app_mention`                a question or a paste (or a shared file), answered in the message's thread
- `message` in a DM            the same, without a mention, answered inline (in a thread only if asked there)
- `message` in a channel       a paste, answered unprompted only in autodiagnose channels and only when it
  or a group DM                holds a recognisable platform error (ordinary chatter never gets a reply)
- shortcut `diagnose_message`  the diagnosis of any message, in its thread
- command `/dynodoc`           `R15 [share]` · `help` · `status` · `autodiagnose on|off` · `digest [app]`
- `app_home_opened`            the App Home tab
- the card buttons             Show more / less, Share, 👍 / 👎 (`bot.slack.cards`)

Questions and pastes go through `bot.reply.respond`, as in the terminal console, so both always agree;
every answer is a card (`bot.render.cards`). Messages from bots (including this one) are never answered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages
from bot import reply as replies
from bot.config import Settings
from bot.knowledge import KnowledgeBase
from bot.paste import unslack
from bot.render.blocks import (
    AppStatus,
    DigestStatus,
    FeedbackStatus,
    SlackMessage,
    StatusReport,
    home_view,
    note,
    render_status,
)
from bot.render.cards import SHARE_HERE, SHARE_NONE, SHARE_PICK, card_for
from bot.slack import cards as slack_cards
from bot.slack import files as slack_files
from bot.slack.threads import is_dm, reply_thread, thread_parent
from bot.store import Store, StoreError

log = logging.getLogger(__name__)

SHORTCUT_CALLBACK = "diagnose_message"
COMMAND = "/dynodoc"
WORKING_REACTION = "eyes"
# Plain messages, file shares and thread replies sent to the channel; not edits, joins or bot posts.
ANSWERED_SUBTYPES = (None, "file_share", "thread_broadcast")
MAX_RESPONSE_POSTS = slack_cards.MAX_RESPONSE_POSTS
CANNOT_POST = slack_cards.CANNOT_POST


@dataclass(frozen=True)
class Services:
    """What the listeners need from the rest of the bot, built once at start-up."""

    settings: Settings
    kb: KnowledgeBase
    store: Store


@dataclass(frozen=True)
class Material:
    """What a message gives us to read: its text plus its files, and notes about files we could not read."""

    text: str
    notes: tuple[str, ...] = ()
    too_big: bool = False


def register(app: App, services: Services) -> None:
    """Attach every listener to the Bolt app."""

    @app.event("app_mention")
    def on_mention(event: dict, client: WebClient) -> None:
        if str(event.get("channel", "")).startswith("D"):
            no_reply(event, "a mention in a DM is answered as its message.im event")
            return
        answer_message(event, client, services)

    @app.event("message")
    def on_message(event: dict, client: WebClient, context) -> None:
        kind = event.get("channel_type")
        if kind == "im":
            answer_message(event, client, services)
        elif kind in ("channel", "group", "mpim"):
            if context.bot_user_id and f"<@{context.bot_user_id}>" in (event.get("text") or ""):
                # Usually app_mention comes too (whichever arrives first answers), but for a message
                # with files Slack may send only this event (bolt-python#925).
                answer_message(event, client, services)
            elif autodiagnose_on(services, event.get("channel", "")):
                autodiagnose_message(event, client, services)
            else:
                no_reply(event, "autodiagnose off")
        else:
            no_reply(event, f"channel type {kind!r}")

    @app.shortcut(SHORTCUT_CALLBACK)
    def on_shortcut(ack, shortcut: dict, client: WebClient, respond) -> None:
        ack()
        diagnose_shortcut(shortcut, client, respond, services)

    @app.command(COMMAND)
    def on_command(ack, command: dict, respond) -> None:
        slash_command(command, ack, respond, services)

    slack_cards.register(app, services)

    @app.event("app_home_opened")
    def on_home_opened(event: dict, body: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            log.debug(
                "app_home_opened on the %s tab (event %s): nothing to publish",
                event.get("tab"),
                body.get("event_id"),
            )
            return
        client.views_publish(
            user_id=event["user"],
            view=home_view(messages.SLACK_INTRO, messages.SLACK_USAGE, status_report(services)),
        )

    @app.error
    def on_error(error: Exception) -> None:
        log.error("a listener failed: %s: %s", type(error).__name__, error, exc_info=error)


# --- messages ---------------------------------------------------------------------------------------


def why_ignored(event: dict) -> str:
    """Why a message gets no reply whatever it says, or "" if it may get one: bots (this one included),
    edits, joins and other non-messages are never answered."""
    if bool(event.get("bot_id") or event.get("bot_profile")) or event.get("subtype") == "bot_message":
        return "from a bot"
    if event.get("subtype") not in ANSWERED_SUBTYPES:
        return f"subtype {event.get('subtype')}"
    return ""


def no_reply(event: dict, reason: str) -> None:
    """The decision not to answer a message, for the operator (and the tests that wait for it): where it
    was and why, never what it says. DEBUG, since most messages in a channel get no reply."""
    log.debug("no reply to message %s in %s: %s", event.get("ts"), event.get("channel"), reason)


def autodiagnose_on(services: Services, channel: str) -> bool:
    default = channel in services.settings.autodiagnose_channels
    try:
        return services.store.autodiagnose(channel, default=default)
    except StoreError as exc:  # the database is down: the bot still answers, by the configured default
        log.warning("cannot read the autodiagnose setting of %s: %s", channel, exc)
        return default


def first_reply(services: Services, channel: str, ts: str) -> bool:
    """True once per message: Slack may deliver one message as both app_mention and message."""
    try:
        return services.store.first_sighting(f"reply:{channel}:{ts}")
    except StoreError as exc:  # answering twice beats not answering at all
        log.warning("cannot record the reply to %s: %s", ts, exc)
        return True


def read_material(text: str, shared: list[dict], token: str, services: Services) -> Material:
    """The message text plus the text of each readable file it carries."""
    parts = [text] if text.strip() else []
    notes: list[str] = []
    too_big = False
    for file in shared:
        got = slack_files.fetch(file, token, services.settings.slack_api_url)
        if got.text:
            parts.append(got.text)
        else:
            log.info("could not read a shared file: %s", got.problem or "too big")
            notes.append(got.note)
            too_big = too_big or bool(got.too_big)
    return Material("\n".join(parts), tuple(notes), too_big)


def reply_to(material: Material, services: Services, share: str = SHARE_NONE) -> list[SlackMessage]:
    """Notes about unreadable files, then the card of the answer or diagnosis (the same rules as the
    console), with its buttons."""
    out = [note(n) for n in material.notes]
    if material.text.strip() or not material.notes:
        card = card_for(replies.respond(material.text, services.kb), material.text)
        out.append(slack_cards.prepare(card, services, share))
    return out


def answer_message(event: dict, client: WebClient, services: Services) -> None:
    """A mention or a direct message: always answered, in the message's thread (inline in a DM)."""
    if reason := why_ignored(event):
        no_reply(event, reason)
        return
    channel, ts = event["channel"], event["ts"]
    if not first_reply(services, channel, ts):
        no_reply(event, "already answered (it came as both app_mention and message)")
        return
    thread_ts = reply_thread(event)
    text = event.get("text") or ""
    files = event.get("files") or []
    shared = [f for f in files if slack_files.wanted(f)]
    if files and not shared and not unslack(text).strip():
        post(client, channel, thread_ts, [note(messages.FILE_NOT_LOGS)])  # only images or the like
        log.info("answered message %s in %s (1 message(s): no readable file)", ts, channel)
        return
    share = SHARE_PICK if is_dm(event) else SHARE_NONE
    with working(client, channel, ts):
        parent_ts = event.get("thread_ts")
        if (
            parent_ts
            and parent_ts != ts
            and not shared
            and replies.is_about_context(unslack(text), services.kb)
        ):
            # "@Dyno Doctor what's this?" under someone's paste: diagnose the message that started the thread.
            parent = thread_parent(client, channel, parent_ts)
            if parent.message is None:
                post(
                    client,
                    channel,
                    thread_ts,
                    [note(messages.THREAD_PARENT_UNREADABLE.format(error=parent.error))],
                )
                return
            text = parent.message.get("text") or ""
            shared = [f for f in parent.message.get("files") or [] if slack_files.wanted(f)]
        out = reply_to(read_material(text, shared, client.token or "", services), services, share)
        post(client, channel, thread_ts, out)
    log.info("answered message %s in %s (%d message(s))", ts, channel, len(out))


def autodiagnose_message(event: dict, client: WebClient, services: Services) -> None:
    """A message in an autodiagnose channel: answered only when it holds a recognisable platform error
    (or is a log file too big to read). Ordinary chatter never gets a reply."""
    if reason := why_ignored(event):
        no_reply(event, reason)
        return
    text = event.get("text") or ""
    shared = [f for f in event.get("files") or [] if slack_files.wanted(f)]
    if not shared and not replies.looks_like_paste(text):
        no_reply(event, "not a paste")  # chatter: not even worth a diagnosis
        return
    channel, ts = event["channel"], event["ts"]
    material = read_material(text, shared, client.token or "", services)
    reply = replies.respond(material.text, services.kb) if material.text.strip() else None
    relevant = (
        reply is not None and reply.diagnosis is not None and replies.has_platform_error(reply.diagnosis)
    )
    if not (relevant or material.too_big):
        no_reply(event, "no platform error in it")
        return
    if not first_reply(services, channel, ts):
        no_reply(event, "already answered")
        return
    out = [note(n) for n in material.notes]
    if reply is not None and relevant:
        out.append(slack_cards.prepare(card_for(reply, material.text), services))
    post(client, channel, event.get("thread_ts") or ts, out)
    log.info("diagnosed message %s in %s unprompted (%d message(s))", ts, channel, len(out))


@contextmanager
def working(client: WebClient, channel: str, ts: str) -> Iterator[None]:
    """👀 on the message while the bot works on it."""
    react(client, channel, ts, add=True)
    try:
        yield
    finally:
        react(client, channel, ts, add=False)


def post(client: WebClient, channel: str, thread_ts: str | None, out: list[SlackMessage]) -> None:
    """Post messages, in order, into a thread (or inline when `thread_ts` is None)."""
    for message in out:
        client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,  # None: inline (slack_sdk leaves None arguments out of the request)
            unfurl_links=False,
            unfurl_media=False,
            **message.payload(),
        )


def react(client: WebClient, channel: str, ts: str, *, add: bool) -> None:
    """Show (or take back) the 👀 reaction; a missing scope, a race or a rate limit must never stop or
    delay the reply. Sent without the rate-limit retries: a 429 here would otherwise sleep in a listener
    thread that should be answering someone."""
    client = WebClient(token=client.token, base_url=client.base_url, timeout=5, retry_handlers=[])
    try:
        if add:
            client.reactions_add(channel=channel, timestamp=ts, name=WORKING_REACTION)
        else:
            client.reactions_remove(channel=channel, timestamp=ts, name=WORKING_REACTION)
    except SlackApiError as exc:
        log.debug("reaction %s failed: %s", "add" if add else "remove", exc.response.get("error"))


# --- the message shortcut ---------------------------------------------------------------------------


def diagnose_shortcut(shortcut: dict, client: WebClient, respond_url, services: Services) -> None:
    """'Diagnose with Dyno Doctor' on a message: the reply goes into that message's thread.

    A person chose to ask, so messages from bots (alerting bots post logs too) are diagnosed as well.
    If the bot may not post there, the reply goes to the person alone through the response_url.
    """
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id", "")
    ts = message.get("ts", "")
    thread_ts = message.get("thread_ts") or ts
    shared = [f for f in message.get("files") or [] if slack_files.wanted(f)]
    with working(client, channel, ts):
        material = read_material(message.get("text") or "", shared, client.token or "", services)
        if not material.text.strip() and not material.notes:
            respond_url(text=messages.NOTHING_TO_DIAGNOSE, response_type="ephemeral")
            return
        out = reply_to(material, services)
        try:
            post(client, channel, thread_ts, out)
            log.info("diagnosed a message in %s through the shortcut", channel)
        except SlackApiError as exc:
            error = exc.response.get("error", "")
            if error not in CANNOT_POST:
                respond_url(text=messages.REPLY_FAILED.format(error=error), response_type="ephemeral")
                raise
            # Only the person sees it now, so the card gets a Share button.
            private = reply_to(material, services, SHARE_HERE)
            respond_url(text=messages.NOT_IN_CHANNEL, response_type="ephemeral", replace_original=False)
            for message_out in private[:MAX_RESPONSE_POSTS]:
                respond_url(response_type="ephemeral", replace_original=False, **message_out.payload())


# --- the slash command ------------------------------------------------------------------------------


def slash_command(command: dict, ack, respond_url, services: Services) -> None:
    """`/dynodoc ...`: answers go back in the acknowledgement, within Slack's three seconds."""
    text = (command.get("text") or "").strip()
    word, _, rest = text.partition(" ")
    sub = word.lower()
    if sub in ("", "help"):
        ack(response_type="ephemeral", **note(messages.SLACK_HELP).payload())
    elif sub == "status":
        ack(response_type="ephemeral", **render_status(status_report(services)).payload())
    elif sub == "autodiagnose":
        ack(**autodiagnose_command(command, rest.strip().lower(), services))
    elif sub == "digest":
        words = rest.split()
        share = bool(words) and words[-1].lower() == "share"
        out = digest_command(" ".join(words[:-1] if share else words), services)
        response_type = "in_channel" if share else "ephemeral"
        ack(response_type=response_type, **out[0].payload())
        for message in out[1 : MAX_RESPONSE_POSTS + 1]:
            respond_url(response_type=response_type, replace_original=False, **message.payload())
    else:
        words = text.split()
        share = len(words) > 1 and words[-1].lower() == "share"
        if share:
            text = text[: len(text) - len(words[-1])].rstrip()
        card = card_for(replies.respond(text, services.kb), text)
        answer = slack_cards.prepare(card, services, SHARE_NONE if share else SHARE_HERE)
        ack(response_type="in_channel" if share else "ephemeral", **answer.payload())


def autodiagnose_command(command: dict, arg: str, services: Services) -> dict:
    channel = command.get("channel_id", "")
    if channel.startswith("D") or command.get("channel_name") == "directmessage":
        return {"response_type": "ephemeral", **note(messages.AUTODIAGNOSE_IN_DM).payload()}
    if arg in ("on", "off"):
        services.store.set_autodiagnose(channel, arg == "on", command.get("user_id", ""))
        log.info("autodiagnose turned %s in %s", arg, channel)
        said = messages.AUTODIAGNOSE_ON if arg == "on" else messages.AUTODIAGNOSE_OFF
        # Said in the channel: everyone there should know why the bot starts (or stops) replying.
        return {"response_type": "in_channel", **note(said).payload()}
    state = "on" if autodiagnose_on(services, channel) else "off"
    return {"response_type": "ephemeral", **note(messages.AUTODIAGNOSE_STATE.format(state=state)).payload()}


def digest_command(app_name: str, services: Services) -> list[SlackMessage]:
    """`/dynodoc digest [app]`: the digest of the last 24 h, now, from what polling stored."""
    from bot.digest import hour_of
    from bot.jobs import build_stored_digest
    from bot.render.blocks import render_digest

    names = [a.name for a in services.settings.apps]
    if not names:
        return [note(messages.DIGEST_NO_APPS)]
    if app_name and app_name not in names:
        return [note(messages.DIGEST_UNKNOWN_APP.format(app=app_name, apps=", ".join(names)))]
    digest = build_stored_digest(
        services.store,
        services.settings,
        hour_of(services.store.clock()) + timedelta(hours=1),
        app_name or None,
        services.kb,
    )
    return render_digest(digest)


# --- status -----------------------------------------------------------------------------------------


def _time(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def status_report(services: Services) -> StatusReport:
    """Watched apps with their polling health, and the last digest, from settings and the database."""
    apps = []
    for app in services.settings.apps:
        try:
            health = services.store.poll_health(app.name)
        except StoreError as exc:  # a status panel must show, even half-empty
            log.warning("cannot read the polling health of %s: %s", app, exc)
            apps.append(AppStatus(str(app)))
            continue
        last = health.last
        apps.append(
            AppStatus(
                str(app),
                last.finished if last else None,
                last.outcome if last else "",
                last.new_events if last else None,
                health.events_24h,
                health.gaps_24h,
                health.failures_in_a_row,
                (last.error or last.note or "") if last else "",
            )
        )
    row = services.store.last_digest()
    digest = None
    if row:
        digest = DigestStatus(
            str(row.get("day") or ""),
            str(row.get("channel") or ""),
            str(row.get("state") or ""),
            _time(row.get("posted") or row.get("created")),
        )
    try:
        tally = services.store.feedback_tally()
        feedback = FeedbackStatus(tally.up, tally.down, tuple((d.label, d.down) for d in tally.disliked))
    except StoreError as exc:
        log.warning("cannot count the feedback: %s", exc)
        feedback = None
    return StatusReport(tuple(apps), digest, services.settings.autodiagnose_channels, feedback)
