"""Helpers for the polling tests: point `dynodoc` at the fakes, run it, read the database it wrote."""

from __future__ import annotations

import os
import re
from collections import Counter
from contextlib import closing

from bot.__main__ import main
from bot.store import Store

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


def target() -> str:
    """The database `dynodoc` was pointed at: DATABASE_URL (PostgreSQL) wins over DYNODOC_DB."""
    return os.environ.get("DATABASE_URL") or os.environ.get("DYNODOC_DB") or DB


def rows(sql: str, params: list | tuple = ()) -> list[dict]:
    with closing(Store(target())) as store:
        return store.query(sql, params, as_dicts=True)


def event_codes(app: str) -> Counter:
    return Counter(r["code"] for r in rows("SELECT code FROM events WHERE app = ?", [app]))


def runs(app: str) -> list[dict]:
    return rows("SELECT * FROM poll_runs WHERE app = ? ORDER BY id", [app])


def rollup_totals(app: str) -> dict[str, int]:
    (row,) = rows(
        "SELECT SUM(requests) r, SUM(errors) e, SUM(status_5xx) s FROM rollups WHERE app = ?", [app]
    )
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
