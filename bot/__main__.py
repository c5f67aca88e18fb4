"""The `dynodoc` command line: a thin layer that parses options and calls the core."""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import zlib
from collections.abc import Callable

from bot import messages
from bot.config import ConfigError, Settings, load_settings
from bot.diagnose import diagnose
from bot.knowledge import KnowledgeBase, KnowledgeError
from bot.paste import MAX_PASTE_CHARS, decode
from bot.render.text import answer_json, diagnosis_json, render_answer, render_diagnosis
from bot.reply import looks_like_paste, respond

MAX_READ = MAX_PASTE_CHARS * 2  # bytes read from a file; the diagnosis cuts the text itself


def _print_json(data: dict) -> None:
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
    return render_diagnosis(reply.diagnosis) if reply.diagnosis else render_answer(reply.answer)


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
            data = gzip.decompress(data)[:MAX_READ]
        except (OSError, EOFError, zlib.error):
            print(f"dynodoc: {source} is not a readable gzip file", file=sys.stderr)
            return 2
    diagnosis = diagnose(decode(data), kb)
    if args.json:
        _print_json(diagnosis_json(diagnosis))
    else:
        print(render_diagnosis(diagnosis))
    return 0


def cmd_chat(args: argparse.Namespace, *, banner: str = "") -> int:
    kb = KnowledgeBase.load()
    interactive = sys.stdin.isatty()
    if interactive:
        print(banner or messages.CHAT_BANNER)
    buffer: list[str] = []
    while True:
        try:
            line = input("you> " if interactive else "")
        except (EOFError, KeyboardInterrupt):
            if buffer:
                print(reply_to("\n".join(buffer), kb))
            print()
            return 0
        # A paste arrives as many lines at once; a blank line (or a single-line question) ends it.
        if line.strip() in ("quit", "exit", ":q") and not buffer:
            return 0
        if line.strip():
            buffer.append(line)
            if len(buffer) == 1 and not looks_like_paste(line):
                print("bot> " + reply_to(buffer.pop(), kb).replace("\n", "\n     ") if interactive
                      else reply_to(buffer.pop(), kb))
                print()
            continue
        if buffer:
            print(reply_to("\n".join(buffer), kb))
            print()
            buffer.clear()


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.has_slack:
        return cmd_serve(args, settings=settings)
    return cmd_chat(args, banner=messages.CHAT_BANNER + "\n" + messages.NO_SLACK_HINT)


def cmd_serve(args: argparse.Namespace, settings: Settings | None = None) -> int:
    print(messages.NOT_YET.format(what="The Slack bot (dynodoc serve)"), file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dynodoc", description=messages.CLI_DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer a question about an error code or symptom")
    ask.add_argument("question", nargs="+", help='e.g. "what is R15?"')
    ask.add_argument("--json", action="store_true", help="print the machine-readable answer")
    ask.set_defaults(func=cmd_ask)

    diag = sub.add_parser("diagnose", help="diagnose log lines or an API error body (file, .gz or stdin)")
    diag.add_argument("file", nargs="?", default="-", help="a file to read, or - for standard input (default)")
    diag.add_argument("--json", action="store_true", help="print the machine-readable diagnosis")
    diag.set_defaults(func=cmd_diagnose)

    chat = sub.add_parser("chat", help="the offline console: talk to the bot in the terminal")
    chat.set_defaults(func=cmd_chat)

    run = sub.add_parser("run", help="serve Slack if tokens are set, otherwise the offline console")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except (ConfigError, KnowledgeError) as exc:
        print(f"dynodoc: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
