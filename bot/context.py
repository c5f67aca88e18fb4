"""Where the trouble is, as a question or a paste says it (dyno, process type, app, Fly.io machine), and
the knowledge base's fixes with their commands filled in from it.

A fix written for `worker.1` is wrong advice for an R15 on `web.1`, and `WEB_CONCURRENCY` means nothing
to a Sidekiq dyno: the entry's commands are templates, filled here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_DYNO = re.compile(r"(?<![\w.-])(?P<type>web|worker|[a-z][a-z0-9_]{1,30})\.(?P<n>\d{1,4})(?![\w.])")
_APP = re.compile(r"(?:\s-a\s+|--app[ =]|heroku\[|app[ =:]\s?)(?P<app>[a-z][a-z0-9-]{2,29})\b")
_MACHINE = re.compile(r"(?<![0-9a-f])(?P<id>[0-9a-f]{14})(?![0-9a-f])")
_NOT_DYNOS = frozenset(
    {"app", "heroku", "router", "www", "api", "log", "logs", "node", "python", "ruby", "java"}
)
_NOT_APPS = frozenset(
    {"web", "worker", "router", "the", "that", "this", "name", "error", "crashed", "errors"}
)

# The template parts of the knowledge base's commands.
_TEMPLATE_DYNO = re.compile(r"(?<![\w.])(?:web|worker)\.1(?![\w.])")
# The process type whose dynos are in trouble: resized, restarted or stopped. Not `ps:scale`: scaling names
# the type the fix adds ("move the job to a worker: `ps:scale worker=1`", "`ps:scale web=1`" for H14).
_TEMPLATE_TYPE = re.compile(r"\b(ps:(?:resize|restart|stop)\s+)(?:web|worker)(?=[=\s`]|$)")
_TEMPLATE_APP = re.compile(r"(-a\s+)APP\b")
_TEMPLATE_MACHINE = re.compile(r"<machine-id>")


@dataclass(frozen=True)
class Where:
    """What is known of the place the trouble is in; None where nothing was said."""

    dyno: str | None = None  # web.1
    process: str | None = None  # web, worker, sidekiq
    app: str | None = None
    machine: str | None = None  # a Fly.io machine id

    @property
    def known(self) -> bool:
        return any((self.dyno, self.process, self.app, self.machine))


def where_in(text: str, dynos: Iterable[str] = ()) -> Where:
    """Read the place from free text (a question, a paste); `dynos` (busiest first) wins when given."""
    text = text[:20_000]
    dyno = next(iter(dynos), None)
    if dyno is None:
        m = next((m for m in _DYNO.finditer(text) if m.group("type") not in _NOT_DYNOS), None)
        dyno = m.group(0) if m else None
    process = dyno.split(".")[0] if dyno and re.fullmatch(r"[a-z][a-z0-9_]{1,30}\.\d{1,4}", dyno) else None
    if process is None:
        m = re.search(r"\b(sidekiq|celery|resque|worker|web|clock|scheduler)\b", text, re.I)
        process = m.group(1).lower() if m else None
    app = next((m.group("app") for m in _APP.finditer(text) if m.group("app") not in _NOT_APPS), None)
    m = _MACHINE.search(text)
    return Where(
        dyno=dyno if dyno and "." in dyno else None,
        process=process,
        app=app,
        machine=m.group("id") if m else (dyno if dyno and _MACHINE.fullmatch(dyno) else None),
    )


def _unknown(fix: str) -> str:
    fix = _TEMPLATE_DYNO.sub("<dyno>", fix)
    return _TEMPLATE_TYPE.sub(lambda m: m.group(1) + "<type>", fix)


def fill(fix: str, where: Where) -> str:
    """One fix with its command templates filled from `where`."""
    dyno = where.dyno or (f"{where.process}.1" if where.process else None)
    if dyno:
        fix = _TEMPLATE_DYNO.sub(dyno, fix)
    process, app = where.process, where.app
    if process:
        fix = _TEMPLATE_TYPE.sub(lambda m: m.group(1) + process, fix)
    if app:
        fix = _TEMPLATE_APP.sub(lambda m: m.group(1) + app, fix)
    if where.machine:
        fix = _TEMPLATE_MACHINE.sub(where.machine, fix)
    return fix


def fixes_for(fixes: Iterable[str], where: Where | None) -> list[str]:
    """The fixes that apply where the trouble is, filled in: advice about web concurrency is left out
    for a process that serves no web traffic."""
    if where is None or not where.known:
        # The knowledge base writes its commands with example dynos; with none known, say which part to
        # fill in rather than hand over an example that may be the wrong dyno ("worker.1" for a web R15).
        return [_unknown(f) for f in fixes]
    kept = [f for f in fixes if not (where.process and where.process != "web" and "WEB_CONCURRENCY" in f)]
    return [fill(f, where) for f in kept or list(fixes)]
