"""The one log-line parser: every line shape people paste or the APIs return."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.logs import logfmt, parse_line, parse_time


def test_router_logfmt_error_line():
    e = parse_line(
        '2024-05-14T09:11:03.402117+00:00 heroku[router]: at=error code=H12 desc="Request timeout" '
        'method=GET path="/reports/9/export" host=acme.herokuapp.com request_id=0d5c fwd="203.0.113.7" '
        "dyno=web.2 connect=1ms service=30001ms status=503 bytes=0 protocol=https"
    )
    assert (e.platform, e.kind, e.code, e.level) == ("heroku", "router", "H12", "error")
    assert (e.method, e.path, e.host, e.dyno) == ("GET", "/reports/9/export", "acme.herokuapp.com", "web.2")
    assert (e.status, e.service_ms) == (503, 30001)
    assert e.desc == "Request timeout"
    assert e.time == datetime(2024, 5, 14, 9, 11, 3, 402117, tzinfo=UTC)


def test_router_info_line_has_status_and_service_but_no_code():
    e = parse_line(
        '2024-05-14T09:11:03+00:00 heroku[router]: at=info method=POST path="/api" host=a.io '
        "dyno=web.1 connect=0ms service=120ms status=201 bytes=88 protocol=https"
    )
    assert (e.kind, e.code, e.status, e.service_ms, e.level) == ("router", None, 201, 120, "info")


def test_router_line_with_empty_fields_and_sock():
    e = parse_line(
        'heroku[router]: at=error code=H18 desc="Server Request Interrupted" method=POST path="/up" '
        'host=a.io request_id=1 fwd="1.2.3.4" dyno=web.3 connect=0ms service=88ms status=503 bytes= '
        "protocol=https sock=backend"
    )
    assert (e.code, e.sock, e.dyno) == ("H18", "backend", "web.3")
    e = parse_line(
        '2010-10-06T21:51:12-07:00 heroku[router]: at=error code=H10 desc="App crashed" method=GET path=/ '
        "host=myapp.herokuapp.com fwd=17.17.17.17 dyno= connect= service= status=503 bytes="
    )
    assert (e.code, e.dyno, e.service_ms, e.status) == ("H10", None, None, 503)


def test_legacy_router_form():
    e = parse_line(
        "2012-01-01T10:00:00+00:00 heroku[router]: Error H12 (Request timeout) -> GET myapp.herokuapp.com/"
        "slow dyno=web.1 queue= wait= service=30000ms status=503 bytes=0"
    )
    assert (e.code, e.desc, e.method, e.host, e.path, e.service_ms, e.dyno) == (
        "H12",
        "Request timeout",
        "GET",
        "myapp.herokuapp.com",
        "/slow",
        30000,
        "web.1",
    )


@pytest.mark.parametrize(
    "line, code, kind",
    [
        ("2024-05-14T09:10:01+00:00 heroku[web.1]: Error R14 (Memory quota exceeded)", "R14", "runtime"),
        (
            "heroku[web.1]: Error R10 (Boot timeout) -> Web process failed to bind to $PORT within 60 seconds of launch",
            "R10",
            "runtime",
        ),
        (
            "heroku[worker.2]: Error R12 (Exit timeout) -> Process failed to exit within 30 seconds of SIGTERM",
            "R12",
            "runtime",
        ),
        (
            "heroku[logplex]: Error L10 (output buffer overflow): 1200 messages dropped since 2024-05-14T09:00:00+00:00.",
            "L10",
            "logging",
        ),
        ("app[log-shuttle]: Error L13: 111 messages lost since 2024-05-14T09:00:00Z.", "L13", "logging"),
        (
            'heroku[logplex]: Error L14 (certificate validation): error="bad certificate" uri="syslog+tls://x:1"',
            "L14",
            "logging",
        ),
        (
            "83 <40>1 2012-11-30T06:45:29+00:00 host heroku web.3 - Error R14 (Memory quota exceeded)",
            "R14",
            "runtime",
        ),
        ("Error R15 (Memory quota vastly exceeded)", "R15", "runtime"),
    ],
)
def test_runtime_and_logging_codes(line, code, kind):
    e = parse_line(line)
    assert (e.code, e.kind, e.platform) == (code, kind, "heroku")


def test_runtime_state_lines():
    assert parse_line("heroku[web.1]: Process running mem=528M(103.3%)").mem_pct == 103.3
    assert parse_line("heroku[worker.1]: Process running mem=1028MB(200.8%)").mem_mb == 1028
    assert parse_line("heroku[web.1]: Process running mem=1.5GB(300.1%)").mem_mb == 1536
    e = parse_line("heroku[web.1]: Process exited with status 137")
    assert (e.kind, e.exit_status, e.where) == ("exit", 137, "web.1")
    e = parse_line("heroku[web.1]: State changed from up to crashed")
    assert (e.kind, e.state_to) == ("state", "crashed")
    assert parse_line("heroku[web.1]: Stopping process with SIGKILL").signal == "SIGKILL"
    assert parse_line("heroku[web.1]: Stopping all processes with SIGTERM").signal == "SIGTERM"
    assert parse_line("heroku[web.1]: Starting process with command `bin/rails server`").kind == "start"


def test_app_lines_are_not_codes_even_when_they_look_like_them():
    e = parse_line("2024-05-14T09:10:01+00:00 app[web.1]: [PR01] retrying payment; code=H12 at=error")
    assert (e.kind, e.code, e.where) == ("app", None, "web.1")
    assert parse_line('    logger.info("[PR01] retrying payment")').code is None
    assert parse_line("fly app[6e82] iad [info] [PC01] our own tag").code is None


@pytest.fixture
def fly_phrases(kb):
    """The uncoded Fly.io wordings come from the knowledge base through bot.signatures."""


@pytest.mark.parametrize(
    "line, code",
    [
        (
            "2026-05-11T14:59:02Z proxy[e2862692b79d68] sin [error][PM05] failed to connect to machine: gave up after 15 "
            "attempts (in 8.398191653s)",
            "PM05",
        ),
        (
            "2024-01-02T03:04:05.123456789Z proxy[3d8d9e1b2c4f87] iad [error][PC01] instance refused connection. is your "
            "app listening on 0.0.0.0:8080? make sure it is not only listening on 127.0.0.1",
            "PC01",
        ),
        (
            "proxy[3d8d9e1b2c4f87] iad [error][PR04] could not find a good candidate within 40 attempts at load balancing",
            "PR04",
        ),
        # the older wording, without the code
        ("2023-06-01T10:00:00Z proxy[3d8d9e1b2c4f87] iad [error]instance refused connection", "PC01"),
        (
            "2023-06-01T10:00:00Z proxy[3d8d9e1b2c4f87] iad [error]could not find a good candidate within 21 attempts at "
            "load balancing",
            "PR04",
        ),
        (
            "2023-06-01T10:00:00Z proxy[3d8d9e1b2c4f87] iad [error]failed to connect to machine: gave up after 15 attempts",
            "PM05",
        ),
        (
            '2023-06-01T10:00:00Z proxy[3d8d9e1b2c4f87] iad [error]error.code=2 error.message="[PC01] instance refused"',
            "PC01",
        ),
        ("[PC01] instance refused connection. is your app listening on 0.0.0.0:8080?", "PC01"),
    ],
)
def test_fly_proxy_lines(fly_phrases, line, code):
    e = parse_line(line)
    assert (e.platform, e.code) == ("fly", code)


def test_fly_prefix_fields(fly_phrases):
    e = parse_line(
        "2026-05-11T14:59:02Z proxy[e2862692b79d68] sin [error][PM05] failed to connect to machine"
    )
    assert (e.source, e.where, e.region, e.level) == ("proxy", "e2862692b79d68", "sin", "error")


@pytest.mark.parametrize(
    "line, kind, status",
    [
        (
            "2024-01-02T03:04:05Z app[6e8245d1c17e87] iad [info][  12.3] Out of memory: Killed process 513 (node)",
            "memory",
            None,
        ),
        (
            "2024-01-02T03:04:05Z app[6e8245d1c17e87] iad [info]INFO Main child exited normally with code: 1",
            "exit",
            1,
        ),
        (
            "2024-01-02T03:04:05Z runner[6e8245d1c17e87] iad [info]machine has reached its max restart count of 10",
            "state",
            None,
        ),
    ],
)
def test_fly_machine_lines(line, kind, status):
    e = parse_line(line)
    assert e.kind == kind and e.exit_status == status


def test_fly_json_line(fly_phrases):
    e = parse_line(
        '{"event":{"provider":"proxy"},"fly":{"app":{"instance":"6e82","name":"x"},"region":"iad"},'
        '"log":{"level":"error"},"message":"[PC01] instance refused connection",'
        '"timestamp":"2024-01-02T03:04:05.1Z"}'
    )
    assert (e.code, e.region, e.where) == ("PC01", "iad", "6e82")


def test_times():
    assert parse_time("2024-01-02T03:04:05.123456789Z") == datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert parse_time("2010-10-06T21:51:04-07:00").utcoffset().total_seconds() == -7 * 3600
    assert parse_time("not a time") is None


def test_logfmt_keeps_a_cut_off_quote():
    assert logfmt('at=error code=H12 desc="Request tim') == {
        "at": "error",
        "code": "H12",
        "desc": "Request tim",
    }


@pytest.mark.parametrize(
    "line",
    [
        "",
        "\x00\xff",
        "heroku[",
        "heroku[router]: at=",
        "proxy[x] iad [error][P",
        "a" * 50_000,
        "{" * 10_000,
        "Error H12 (" + "x" * 5000,
    ],
)
def test_garbage_never_raises(line):
    parse_line(line)
