"""Diagnosis rules one at a time, on short pastes written for each rule (the real pastes are in tests/data)."""

from __future__ import annotations

import pytest

from bot.diagnose import diagnose

TS = "2024-05-14T09:11:0{}+00:00"


def paste(*lines: str) -> str:
    return "\n".join(TS.format(i) + " " + line for i, line in enumerate(lines))


@pytest.mark.parametrize(
    "line",
    [
        'heroku[router]: at=error code=foo desc="x" method=GET path="/" dyno=web.1 status=503',
        'heroku[router]: at=error code=H1 desc="x" method=GET path="/" dyno=web.1 status=503',
        'heroku[router]: at=error code=H98 desc="x" method=GET path="/" dyno=web.1 status=503',  # no such code
        'heroku[router]: at=error code="H12x" desc="x" method=GET path="/" dyno=web.1 status=503',
    ],
)
def test_a_router_code_that_is_not_a_known_code_is_not_a_finding(kb, line):
    d = diagnose(paste(line), kb)
    assert d.findings == () and d.root == "none"
    assert d.summary == "No platform error codes found in 1 line(s)."


def test_an_ordinary_sigterm_restart_is_not_a_crash(kb):
    d = diagnose(
        paste(
            "heroku[web.1]: Cycling",
            "heroku[web.1]: Stopping all processes with SIGTERM",
            "app[web.1]: [4] - Gracefully shutting down workers...",
            "heroku[web.1]: Process exited with status 143",
        ),
        kb,
    )
    assert d.correlations == () and d.failures == () and d.primary is None
    assert d.observations == (
        "A process stopped on SIGTERM (status 143): an ordinary restart, deploy or daily cycling.",
    )


def test_the_same_exit_with_status_1_is_a_crash_with_the_lines_before_it(kb):
    d = diagnose(
        paste(
            "app[web.1]: NoMethodError: undefined method `name' for nil",
            "heroku[web.1]: Process exited with status 1",
            "heroku[web.1]: State changed from up to crashed",
        ),
        kb,
    )
    [crash] = d.correlations
    assert crash.cause == "crash" and crash.codes == ("crash",)
    assert crash.quote == ("NoMethodError: undefined method `name' for nil",)
    assert crash.text == "The process crashed (exit status 1 on web.1); the lines just before it show why."
    assert d.root == "crash"


R15_WEB2 = "heroku[web.2]: Error R15 (Memory quota vastly exceeded)"


def test_an_r15_on_one_dyno_does_not_explain_a_crash_on_another(kb):
    d = diagnose(
        paste(
            R15_WEB2,
            "heroku[web.2]: Stopping process with SIGKILL",
            "app[web.1]: KeyError: 'DATABASE_URL'",
            "heroku[web.1]: Process exited with status 1",
        ),
        kb,
    )
    crash = next(c for c in d.correlations if c.cause == "crash")
    assert crash.quote == ("KeyError: 'DATABASE_URL'",) and "on web.1" in crash.text
    assert "A process exited with status 1: the app failed" in d.observations[0]
    memory = next(c for c in d.correlations if c.cause == "memory")
    assert memory.text.startswith("Memory pressure on web.2: ")  # no victims on web.2


def test_an_r15_explains_the_kill_of_its_own_dyno(kb):
    d = diagnose(
        paste(
            R15_WEB2,
            "app[web.2]: KeyError: 'DATABASE_URL'",
            "heroku[web.2]: Stopping process with SIGKILL",
            "heroku[web.2]: Process exited with status 137",
        ),
        kb,
    )
    assert "crash" not in {c.cause for c in d.correlations}
    assert d.observations[0] == "A process was killed with SIGKILL (status 137) by the platform after R15."
    [memory] = [c for c in d.correlations if c.cause == "memory"]
    assert memory.codes == ("R15",) and "with exit 137 on the same dyno" in memory.text
    assert d.root == "R15" and d.blame == "app"
