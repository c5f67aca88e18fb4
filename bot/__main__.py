"""The `dynodoc` command line: a thin layer that parses options and calls the core."""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot import messages
from bot.config import ConfigError, Settings, load_settings
from bot.diagnose import diagnose
from bot.knowledge import KnowledgeBase, KnowledgeError
from bot.paste import MAX_PASTE_CHARS, decode, gunzip
from bot.render.text import (
    answer_json,
    diagnosis_json,
    digest_json,
    render_answer,
    render_diagnosis,
    render_digest,
)
from bot.reply import looks_like_paste, respond

MAX_READ = MAX_PASTE_CHARS * 2  # bytes read from a file; the diagnosis cuts the text itself


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def cmd_ask(args: argparse.Namespace) -> int:
    kb = KnowledgeBase.load()
    answer = kb.lookup(" ".join(args.question))
    if args.json:
        _print_json(answer_json(answer))
    else:
        print(render_answer(answer))
    return 0


def reply_to(text: str, kb: KnowledgeBase) -> str:
    """What the bot says to a message: the same rules as in Slack, rendered as text."""
    reply = respond(text, kb)
    if reply.diagnosis is not None:
        return render_diagnosis(reply.diagnosis)
    assert reply.answer is not None  # a Reply holds one of the two
    return render_answer(reply.answer)


def cmd_diagnose(args: argparse.Namespace) -> int:
    kb = KnowledgeBase.load()
    source = args.file
    try:
        if source == "-":
            data = sys.stdin.buffer.read(MAX_READ)
        else:
            with open(source, "rb") as fh:
                data = fh.read(MAX_READ)
    except OSError as exc:
        print(f"dynodoc: cannot read {source}: {exc.strerror}", file=sys.stderr)
        return 2
    if source.endswith(".gz") or data[:2] == b"\x1f\x8b":
        try:
            data = gunzip(data, MAX_READ)
        except zlib.error:
            print(f"dynodoc: {source} is not a readable gzip file", file=sys.stderr)
            return 2
    diagnosis = diagnose(decode(data), kb)
    if args.json:
        _print_json(diagnosis_json(diagnosis))
    else:
        print(render_diagnosis(diagnosis))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """The offline console: questions are answered line by line; a paste is read until an empty line."""
    kb = KnowledgeBase.load()
    interactive = sys.stdin.isatty()
    if interactive:
        print(messages.CHAT_BANNER)

    def say(text: str) -> None:
        print(("bot> " + text.replace("\n", "\n     ")) if interactive else text)
        print()

    buffer: list[str] = []
    while True:
        try:
            line = input(("...> " if buffer else "you> ") if interactive else "")
        except (EOFError, KeyboardInterrupt):
            if buffer:
                say(reply_to("\n".join(buffer), kb))
            return 0
        if line.strip() in ("quit", "exit", ":q") and not buffer:
            return 0
        if line.strip():
            buffer.append(line)
            if len(buffer) == 1 and not looks_like_paste(line):
                say(reply_to(buffer.pop(), kb))
        elif buffer:
            say(reply_to("\n".join(buffer), kb))
            buffer.clear()


def cmd_digest(args: argparse.Namespace) -> int:
    if args.source is None:
        return _digest_from_store(args)
    from bot.digest import build_digest, tally_log_file, tally_log_path
    from bot.logfile import is_plain_file, open_log, progress_bar

    try:
        if is_plain_file(args.source):
            name = args.app or Path(args.source).name.split(".")[0]
            with progress_bar(enabled=not args.json) as bar:
                tally = tally_log_path(args.source, name, bar)
        else:
            with open_log(args.source, progress=not args.json) as (stream, name, progress):
                tally = tally_log_file(stream, args.app or name, progress)
    except OSError as exc:
        print(f"dynodoc: cannot read {args.source}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    end = tally.newest
    if end is None:
        print(f"dynodoc: no timestamped Heroku or Fly.io log lines in {args.source}", file=sys.stderr)
        return 2
    digest = build_digest([tally], end)
    if args.json:
        _print_json(digest_json(digest, {tally.app: tally}))
    else:
        print(render_digest(digest))
    return 0


def _digest_from_store(args: argparse.Namespace) -> int:
    """`dynodoc digest`: the last 24 h of the watched apps, from what polling stored."""
    from datetime import timedelta

    from bot.digest import hour_of
    from bot.jobs import build_stored_digest
    from bot.store import open_store

    settings = load_settings()
    if not settings.apps:
        print(
            "dynodoc: no watched apps: set DYNODOC_APPS (e.g. heroku:my-api,fly:my-fly-app), then "
            "`dynodoc poll`; or build a digest from a file with --from FILE",
            file=sys.stderr,
        )
        return 2
    if args.app and args.app not in {a.name for a in settings.apps}:
        print(f"dynodoc: {args.app} is not in DYNODOC_APPS", file=sys.stderr)
        return 2
    store = open_store(settings)
    try:
        digest = build_stored_digest(store, settings, hour_of(store.clock()) + timedelta(hours=1), args.app)
    finally:
        store.close()
    if args.json:
        _print_json(digest_json(digest))
    else:
        print(render_digest(digest))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.has_slack:
        return cmd_serve(args, settings=settings)
    # The hint goes to stderr so it shows on a terminal without mixing into piped replies.
    print(messages.NO_SLACK_HINT, file=sys.stderr)
    return cmd_chat(args)


def cmd_serve(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from bot.slack.app import serve  # imported here: the other commands never load slack_bolt

    return serve(
        settings or load_settings(),
        http=getattr(args, "http", False),
        port=getattr(args, "port", None),
        host=getattr(args, "host", "0.0.0.0"),
        jobs=getattr(args, "jobs", "on"),
    )


def cmd_poll(args: argparse.Namespace) -> int:
    """Poll the watched apps' logs into the database: once, or every DYNODOC_POLL_MINUTES until Ctrl-C."""
    from contextlib import closing

    from bot.poll import PollResult, check_poll_settings, poll_all, poll_forever
    from bot.render.polling import render_poll_result
    from bot.store import open_store

    settings = load_settings()
    check_poll_settings(settings)
    width = max(len(str(a)) for a in settings.apps)
    with closing(open_store(settings)) as store:

        def show(result: PollResult) -> None:
            print(render_poll_result(result, width), flush=True)

        if args.once:
            try:
                results = poll_all(settings, store, on_result=show)
            except KeyboardInterrupt:
                return 130
            return 1 if any(r.outcome == "failed" for r in results) else 0
        print(
            f"Polling {len(settings.apps)} app(s) every {settings.poll_minutes} min into {store.path}; "
            "Ctrl-C stops.",
            file=sys.stderr,
        )
        try:
            poll_forever(settings, store, on_result=show)
        except KeyboardInterrupt:
            print(file=sys.stderr)
        return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Each watched app's last poll and health, and the votes on the bot's answers."""
    from contextlib import closing

    from bot.render.polling import render_feedback, render_status
    from bot.store import open_store

    settings = load_settings()
    with closing(open_store(settings)) as store:
        rows = [(app, store.poll_health(app.name)) for app in settings.apps]
        now = store.clock()
        tally = store.feedback_tally()
    print(render_status(rows, now, settings.poll_minutes))
    print(render_feedback(tally))
    return 0


def cmd_drain_url(args: argparse.Namespace) -> int:
    """Print the `heroku drains:add` command that sends an app's logs to this bot."""
    from bot.drain import drain_command

    settings = load_settings()
    app = args.app.lower()
    if not any(a.platform == "heroku" and a.name == app for a in settings.apps):
        raise ConfigError(f"{app} is not a Heroku app in DYNODOC_APPS; add heroku:{app} there first")
    if not settings.drain_token:
        raise ConfigError(messages.NO_DRAIN_TOKEN)
    if not settings.public_url:
        raise ConfigError(messages.NO_PUBLIC_URL)
    print(drain_command(app, settings.public_url))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dynodoc", description=messages.CLI_DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer a question about an error code or symptom")
    ask.add_argument("question", nargs="+", help='e.g. "what is R15?"')
    ask.add_argument("--json", action="store_true", help="print the machine-readable answer")
    ask.set_defaults(func=cmd_ask)

    diag = sub.add_parser("diagnose", help="diagnose log lines or an API error body (file, .gz or stdin)")
    diag.add_argument(
        "file", nargs="?", default="-", help="a file to read, or - for standard input (default)"
    )
    diag.add_argument("--json", action="store_true", help="print the machine-readable diagnosis")
    diag.set_defaults(func=cmd_diagnose)

    digest = sub.add_parser(
        "digest", help="the error digest: of the watched apps, or straight from a log file"
    )
    digest.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="build it from a Heroku or Fly.io log file (.gz accepted, - for stdin)",
    )
    digest.add_argument("--app", help="the app name to show (default: the file name)")
    digest.add_argument("--json", action="store_true", help="per app: counts per code and totals")
    digest.set_defaults(func=cmd_digest)

    chat = sub.add_parser("chat", help="the offline console: talk to the bot in the terminal")
    chat.set_defaults(func=cmd_chat)

    serve = sub.add_parser(
        "serve", help="run the Slack bot: Socket Mode if SLACK_APP_TOKEN is set, else HTTP"
    )
    serve.add_argument("--http", action="store_true", help="HTTP mode (Slack requests at /slack/events)")
    serve.add_argument("--port", type=_port, help="HTTP port (default: $PORT, else 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP address to listen on (default: 0.0.0.0)")
    serve.add_argument(
        "--jobs",
        choices=("on", "off", "shared"),
        default="on",
        help="poll and post the digest here too: on (default), off, or shared: only with a shared "
        "PostgreSQL (DATABASE_URL), where every instance may and each job runs once",
    )
    serve.set_defaults(func=cmd_serve)

    poll = sub.add_parser("poll", help="poll the watched apps' Heroku / Fly.io logs into the database")
    poll.add_argument(
        "--once",
        action="store_true",
        help="poll every app once and exit (default: every DYNODOC_POLL_MINUTES until Ctrl-C)",
    )
    poll.set_defaults(func=cmd_poll)

    status = sub.add_parser("status", help="each watched app's last poll and health")
    status.set_defaults(func=cmd_status)

    drain = sub.add_parser("drain-url", help="print the `heroku drains:add` command for a watched Heroku app")
    drain.add_argument("app", help="the Heroku app's name, as in DYNODOC_APPS")
    drain.set_defaults(func=cmd_drain_url)

    run = sub.add_parser("run", help="serve Slack if tokens are set, otherwise the offline console")
    run.set_defaults(func=cmd_run)
    return parser


def _port(raw: str) -> int:
    """A TCP port, refused with one line by argparse when it is not one."""
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port (1-65535)")
    return int(raw)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    from bot.store import StoreUnavailable

    try:
        return func(args)
    except StoreUnavailable as exc:  # a fault of the moment (the server is down), not a wrong setting
        print(f"dynodoc: {exc}", file=sys.stderr)
        return 1
    except (ConfigError, KnowledgeError) as exc:
        print(f"dynodoc: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
