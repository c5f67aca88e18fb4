"""Every user-facing help and error sentence, in one place."""

from __future__ import annotations

CLI_DESCRIPTION = (
    "Dyno Doctor: explains Heroku and Fly.io error codes, diagnoses pasted logs and posts a daily digest."
)

CHAT_BANNER = (
    "Dyno Doctor offline console. Type what you would type in Slack: a question (\"what is R15?\") or\n"
    "paste log lines and end the paste with an empty line. Ctrl-D or 'quit' leaves."
)

NO_SLACK_HINT = (
    "(No SLACK_BOT_TOKEN set, so this is the console. To connect to Slack, set SLACK_BOT_TOKEN and\n"
    " SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode); see README.md.)"
)

NOT_YET = "{what} is not built yet."
