"""Helpers for the polling tests: point `dynodoc` at the fakes, run it, read the database it wrote."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from pathlib import Path

from bot.__main__ import main

DB = "dyno.db"


def configure(monkeypatch, *, apps: str, heroku=None, fly=None, **extra: str) -> dict[str, str]:
    """Set the environment `dynodoc` reads (the conftest fixture has already cleared it)."""
    env = {"DYNODOC_APPS": apps, "DYNODOC_DB": DB, "DYNODOC_RETRY_BASE": "0.01"}
    if heroku is not None:
        env |= {"HEROKU_API_KEY": heroku.api_key, "HEROKU_API_URL": heroku.url}
    if fly is not None:
        env |= {"FLY_API_TOKEN": fly.token, "FLY_API_URL": fly.url}
    env |= extra
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def dynodoc(capsys, *args: str) -> tuple[int, str, str]:
    """Run the real CLI entry point in this process; returns (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def line_for(out: str, app: str) -> str:
    """The line `dynodoc poll` printed for `app`."""
    found = [line for line in out.splitlines() if line.startswith(app + " ")]
    assert len(found) == 1, out
    return found[0]


def db(path: str | Path = DB) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn


def event_codes(app: str, path: str | Path = DB) -> Counter:
    with db(path) as conn:
        return Counter(r["code"] for r in conn.execute("SELECT code FROM events WHERE app = ?", [app]))


def runs(app: str, path: str | Path = DB) -> list[sqlite3.Row]:
    with db(path) as conn:
        return list(conn.execute("SELECT * FROM poll_runs WHERE app = ? ORDER BY id", [app]))


def rollup_totals(app: str, path: str | Path = DB) -> dict[str, int]:
    with db(path) as conn:
        row = conn.execute(
            "SELECT SUM(requests) r, SUM(errors) e, SUM(status_5xx) s FROM rollups WHERE app = ?", [app]
        ).fetchone()
    return {"requests": row["r"] or 0, "errors": row["e"] or 0, "status_5xx": row["s"] or 0}


# What a Heroku history should yield, counted straight from the text (not through our parser).
_ROUTER = re.compile(r" heroku\[router\]: at=")
_CODE = re.compile(r" code=(H\d\d) | Error ([RL]\d\d) ")


def expected_codes(lines: list[str]) -> Counter:
    codes: Counter = Counter()
    for line in lines:
        m = _CODE.search(line)
        if m:
            codes[m.group(1) or m.group(2)] += 1
    return codes


def expected_totals(lines: list[str]) -> dict[str, int]:
    router = [line for line in lines if _ROUTER.search(line)]
    return {
        "requests": len(router),
        "errors": sum(expected_codes(lines).values()),
        "status_5xx": sum(1 for line in router if re.search(r" status=5\d\d ", line)),
    }


def service_times(lines: list[str]) -> list[int]:
    return [
        int(m.group(1))
        for line in lines
        if _ROUTER.search(line)
        for m in [re.search(r" service=(\d+)ms ", line)]
        if m
    ]
