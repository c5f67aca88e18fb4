"""Every user-facing help and error sentence, in one place."""

from __future__ import annotations

CLI_DESCRIPTION = (
    "Dyno Doctor: explains Heroku and Fly.io error codes, diagnoses pasted logs and posts a daily digest."
)

CHAT_BANNER = (
    'Dyno Doctor offline console. Type what you would type in Slack: a question ("what is R15?") or\n'
    "paste log lines and end the paste with an empty line. Ctrl-D or 'quit' leaves."
)

NO_SLACK_HINT = (
    "(No SLACK_BOT_TOKEN set, so this is the console. To connect to Slack, set SLACK_BOT_TOKEN and\n"
    " SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode); see README.md.)"
)


# --- Slack: starting up -----------------------------------------------------------------------------

NO_BOT_TOKEN = (
    "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) from your Slack app's "
    "OAuth & Permissions page (see README.md, Slack set-up)."
)
NO_SIGNING_SECRET = (
    "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify Slack's requests (Basic Information > "
    "App Credentials), or set SLACK_APP_TOKEN and run without --http for Socket Mode."
)
TOKEN_REJECTED = "{setting} was rejected by Slack ({error})"
SLACK_REFUSED = "Slack refused to start with {setting} ({error}); check the app's settings (see README.md)"
SLACK_UNREACHABLE = "cannot reach Slack at {url} ({reason}); check the network or SLACK_API_URL"
PORT_IN_USE = "cannot listen on port {port} ({reason}); set PORT or pass --port"

# --- Slack: talking to people -----------------------------------------------------------------------

SLACK_INTRO = (
    "I explain *Heroku* and *Fly.io* error codes, and I diagnose pasted logs and API error bodies: "
    "what went wrong, whose side it is on, and what to do next."
)

SLACK_USAGE = (
    "*How to use me*\n"
    "• Mention me with a question: `@Dyno Doctor what is R15?`, `@Dyno Doctor r14 vs r15`, "
    "`@Dyno Doctor 429 from heroku ai`\n"
    "• Mention me with pasted log lines or an error body (a code block is fine), or share a "
    "`.log` / `.txt` / `.json` / `.gz` file with a mention\n"
    "• Send me a direct message: the same, without the mention\n"
    "• On any message: *More actions* (⋮) → *Diagnose with Dyno Doctor*\n"
    "• `/dynodoc R15` — the answer, just for you (add `share` to post it to the channel)\n"
    "• `/dynodoc status` — watched apps, last poll, last digest\n"
    "• `/dynodoc autodiagnose on|off` — diagnose pasted platform errors in this channel without a mention\n"
    "• `/dynodoc digest [app]` — the error digest\n"
    "In a channel or group DM I answer in the message's thread; in a DM, right below it. Each answer starts "
    "as a short card: *Show more* has the rest, *Share to channel* shows a private answer to others, and "
    "👍 / 👎 tell me whether it helped."
)

SLACK_HELP = SLACK_INTRO + "\n\n" + SLACK_USAGE

AUTODIAGNOSE_ON = (
    ":white_check_mark: Autodiagnose is *on* in this channel: when someone pastes log lines or an error body "
    "with a recognisable Heroku or Fly.io error, I'll reply in its thread. Ordinary messages get no reply. "
    "(I need to be a member: `/invite @Dyno Doctor`.)"
)
AUTODIAGNOSE_OFF = (
    "Autodiagnose is *off* in this channel: I'll only answer when mentioned, in DMs or through the "
    "*Diagnose with Dyno Doctor* shortcut."
)
AUTODIAGNOSE_STATE = (
    "Autodiagnose is *{state}* in this channel. Change it with `/dynodoc autodiagnose on|off`."
)
AUTODIAGNOSE_IN_DM = "Direct messages are always diagnosed; autodiagnose is a setting for channels."
DIGEST_NO_APPS = (
    "No apps are watched yet: set `DYNODOC_APPS` (e.g. `heroku:my-api,fly:my-fly-app`) and restart me."
)
DIGEST_UNKNOWN_APP = "`{app}` is not a watched app. Watched: {apps}."

FILE_TOO_BIG = (
    ":warning: `{name}` is {size} — more than the {cap} I read from a file. Share the part around the "
    "incident instead (e.g. `tail -n 5000 app.log > recent.log`), or gzip it."
)
FILE_UNREADABLE = ":warning: I couldn't read `{name}`: {reason}."
FILE_NOT_LOGS = (
    "I read log files — `.log`, `.txt`, `.json`, `.gz` and Slack text snippets — not images or other files."
)
NOTHING_TO_DIAGNOSE = "That message has no text or log file for me to diagnose."
NOT_IN_CHANNEL = (
    "I can't post in this conversation, so only you can see this. To have me answer in threads here, "
    "add me with `/invite @Dyno Doctor`."
)
REPLY_FAILED = "Sorry — I couldn't finish that reply ({error})."
NO_DRAIN_TOKEN = (
    "DYNODOC_DRAIN_TOKEN is not set: choose a long random password for the drain URL, e.g. "
    "python3 -c 'import secrets; print(secrets.token_urlsafe(24))', and set it where the bot runs."
)
NO_PUBLIC_URL = (
    "DYNODOC_PUBLIC_URL is not set: the bot's public https address, e.g. https://my-dynodoc.herokuapp.com, "
    "which Heroku will post the logs to."
)

# --- Slack: cards, their buttons, threads -----------------------------------------------------------

CARD_GONE = (
    "I no longer have the rest of that answer (I keep it for {days} days, and lose it when I restart on a "
    "fresh disk). Ask me again and I'll answer afresh."
)
SHARED_IN = ":white_check_mark: Shared in <#{channel}>."
CANNOT_SHARE_IN = "I can't post in <#{channel}>: add me there with `/invite @Dyno Doctor`, then share again."
SHARE_FAILED = "Sorry — I couldn't share that ({error})."
THANKS_UP = ":+1: Thanks — noted. It tells me which answers work."
THANKS_DOWN = (
    ":-1: Thanks — noted. If you paste the log line or error body you were looking at, I'll diagnose it "
    "instead."
)
VOTE_FAILED = "Sorry — I couldn't record that vote ({error})."
THREAD_PARENT_UNREADABLE = (
    "I couldn't read the message that started this thread ({error}). Paste the log lines here, or use "
    "*Diagnose with Dyno Doctor* on that message."
)
