"""Heroku HTTPS log drains: the logplex frame parser, and `POST /drains/heroku/<app>` on the real
`dynodoc serve --http`, fed the way Logplex feeds it (tests/fakes/logplex.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml
from fakes import logplex
from fakes.heroku import router
from fakes.slack import BotProcess, FakeSlack

from bot import logs
from bot.clock import system_clock as utcnow
from bot.config import Settings, WatchedApp
from bot.drain import DrainIngest, drain_command, parse_frames
from bot.poll import DRAIN_NOTE, fed_by_drain
from bot.store import Store

REAL = Path(__file__).parent / "data" / "real"
TOKEN = "drain-token-0123456789abcdef"

# The documented example frame (timber.io's Heroku log format page, quoted in PLATFORM-FACTS.md): the count
# 83 covers the message and its closing newline.
EXAMPLE = b"83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up\n"


def test_the_documented_frame_reads_as_the_heroku_logs_line():
    frames = parse_frames(EXAMPLE)
    assert frames.lines == ["2012-11-30T06:45:29+00:00 app[web.3]: State changed from starting to up"]
    assert frames.malformed == 0


def real_lines(case: str) -> list[str]:
    return yaml.safe_load((REAL / f"{case}.yml").read_text(encoding="utf-8"))["text"].splitlines()


def test_real_router_lines_framed_by_logplex_parse_as_when_polled():
    # https://github.com/trustwallet/blockatlas/issues/809 : four H12s on web.1
    lines = real_lines("router-007-h12-masked-path")
    frames = parse_frames(logplex.body(lines))
    assert frames.lines == lines and frames.malformed == 0
    assert [logs.parse_line(line).code for line in frames.lines] == ["H12"] * 4


def test_a_bad_frame_costs_itself_only():
    good = logplex.frame("2012-11-30T06:45:29+00:00 app[web.3]: State changed from starting to up")
    broken = b"999 <40>1 2012-11-30T06:45:30+00:00 host app web.3 - cut off"
    frames = parse_frames(good + b"12 not a frame" + good + broken)
    assert len(frames.lines) == 2 and frames.malformed == 2


@pytest.mark.parametrize(
    "junk", [b"", b"\x00\xff" * 500, b"9" * 5000, b"5 <1>1 ", b"83 " + b"x" * 83, b"\n\n\n", "é".encode() * 9]
)
def test_junk_never_raises_and_yields_no_invented_lines(junk):
    frames = parse_frames(junk)
    assert frames.lines == []
    assert (frames.malformed > 0) == bool(junk.strip())


def ingest_for(tmp_path: Path) -> tuple[DrainIngest, Store]:
    store = Store(tmp_path / "drain.db")
    # Retention of ten years: the real lines are from 2020.
    settings = Settings(apps=(WatchedApp("heroku", "acme-api"),), drain_token=TOKEN, retention_days=3650)
    return DrainIngest(settings, store), store


def environ(password: str | None, frame_id: str = "F1") -> dict:
    env = {"REQUEST_METHOD": "POST", "HTTP_LOGPLEX_FRAME_ID": frame_id}
    if password is not None:
        env["HTTP_AUTHORIZATION"] = logplex.basic(password)
    return env


def test_credentials_app_and_retries(tmp_path):
    ingest, store = ingest_for(tmp_path)
    body = logplex.body(real_lines("router-007-h12-masked-path"))
    path = "/drains/heroku/acme-api"
    assert ingest.handle(path, environ(None), body)[0].startswith("401")
    assert ingest.handle(path, environ("wrong-password-000000"), body)[0].startswith("401")
    assert ingest.handle("/drains/heroku/someone-else", environ(TOKEN), body)[0].startswith("404")
    assert ingest.handle(path, environ(TOKEN, "F1"), body)[0] == "204 No Content"
    assert ingest.handle(path, environ(TOKEN, "F1"), body)[0] == "204 No Content"  # Logplex retried
    tally = store.digest_tally(
        "acme-api", "heroku", utcnow().replace(year=2020, month=2, day=5, hour=0), utcnow()
    )
    assert sum(tally.codes.values()) == 4  # four H12s, counted once
    [result] = ingest.report()
    assert result.new_events == 4 and result.lines_read == 8
    assert result.note == f"{DRAIN_NOTE} (0 malformed frames skipped, 1 retried batches)"
    assert fed_by_drain(store, "acme-api", utcnow())
    from bot.render.polling import render_status

    said = render_status([(WatchedApp("heroku", "acme-api"), store.poll_health("acme-api"))], utcnow(), 5)
    assert "source: log drain" in said and "coverage: partial" not in said


def test_drain_url_keeps_the_token_in_the_shell():
    command = drain_command("acme-api", "https://dynodoc.example.com/")
    assert command == (
        'heroku drains:add "https://x:${DYNODOC_DRAIN_TOKEN}@dynodoc.example.com/drains/heroku/acme-api" -a acme-api'
    )


def test_the_running_bot_takes_drains(tmp_path):
    fake = FakeSlack()
    try:
        bot, port = BotProcess.http(fake, tmp_path, DYNODOC_APPS="heroku:acme-api", DYNODOC_DRAIN_TOKEN=TOKEN)
        try:
            url = f"http://127.0.0.1:{port}/drains/heroku/acme-api"
            now = utcnow()
            lines = [
                router(now, f"/export/{i}", 503, 30000, code="H12", desc="Request timeout") for i in range(40)
            ]
            first = logplex.post(url, lines, password=TOKEN, frame_id="A1")
            again = logplex.post(url, lines, password=TOKEN, frame_id="A1")
            assert first.status_code == again.status_code == 204
            assert logplex.post(url, lines, password="not-the-token-000").status_code == 401
            assert logplex.post(url, lines, password=None).status_code == 401
            assert logplex.post(url.replace("acme-api", "nope"), lines, password=TOKEN).status_code == 404
            junk = logplex.post(url, password=TOKEN, raw=b"\x00\x01garbage 7 <1>1 x")
            assert junk.status_code == 204
            with sqlite3.connect(tmp_path / "dynodoc.db") as db:
                assert db.execute("SELECT COUNT(*) FROM events WHERE code = 'H12'").fetchone()[0] == 40
            assert TOKEN not in bot.stderr
        finally:
            bot.stop()
    finally:
        fake.close()
