"""The one log-line parser: every line shape people paste or the APIs return."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.logs import LogEvent, line_time, logfmt, normalise_path, parse_line, parse_time


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
        '{"fly": {"region": "iad"}}',  # no message
        '{"message": "m", "fly": "iad"}',  # a field of the wrong type
        '    {"message": "m", "fly": {"app": "x"}}',
        "request.proxy_error.message=x",  # another field that ends like the proxy's error field
        "2024-01-02T03:04:05Z proxy[6e82] iad [error]upstream_error.message=x",
    ],
)
def test_garbage_never_raises(line):
    parse_line(line)


T = datetime(2024, 5, 14, 9, 11, 3, tzinfo=UTC)
FLY_T = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def _heroku(line: str, message: str, process: str, **fields) -> LogEvent:
    return LogEvent(line=line, platform="heroku", process=process, message=message, **fields)


def _fly(line: str, message: str, source: str, machine: str, region: str, level: str, **fields) -> LogEvent:
    return LogEvent(
        line=line,
        platform="fly",
        source=source,
        process=machine,
        dyno=machine,
        time=FLY_T,
        region=region,
        level=level,
        message=message,
        **fields,
    )


# Each line shape the parser knows, with everything it says: the envelope's time, process and region, the
# kind of line and the values it carries. A field the parser fills wrongly (or not at all) fails here.
SHAPES = [
    (
        "2024-05-14T09:11:03+00:00 heroku[web.1]: Process running mem=528M(103.3%)",
        lambda line: _heroku(
            line,
            "Process running mem=528M(103.3%)",
            "web.1",
            source="heroku",
            time=T,
            kind="memory",
            dyno="web.1",
            mem_mb=528.0,
            mem_pct=103.3,
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 heroku[web.1]: Process exited with status 137",
        lambda line: _heroku(
            line,
            "Process exited with status 137",
            "web.1",
            source="heroku",
            time=T,
            kind="exit",
            dyno="web.1",
            exit_status=137,
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 heroku[worker.2]: Process exited",
        lambda line: _heroku(
            line, "Process exited", "worker.2", source="heroku", time=T, kind="exit", dyno="worker.2"
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 heroku[web.1]: State changed from up to crashed",
        lambda line: _heroku(
            line,
            "State changed from up to crashed",
            "web.1",
            source="heroku",
            time=T,
            kind="state",
            desc="up",
            state_to="crashed",
            dyno="web.1",
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 heroku[web.1]: Stopping all processes with SIGTERM",
        lambda line: _heroku(
            line,
            "Stopping all processes with SIGTERM",
            "web.1",
            source="heroku",
            time=T,
            kind="signal",
            signal="SIGTERM",
            dyno="web.1",
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 heroku[web.1]: Starting process with command `bundle exec puma`",
        lambda line: _heroku(
            line,
            "Starting process with command `bundle exec puma`",
            "web.1",
            source="heroku",
            time=T,
            kind="start",
            dyno="web.1",
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 heroku[web.1]: Idling",
        lambda line: _heroku(line, "Idling", "web.1", source="heroku", time=T, kind="other", dyno="web.1"),
    ),
    (
        "2024-05-14T09:11:03+00:00 heroku[api]: Release v42 created by user me@example.com",
        lambda line: _heroku(
            line, "Release v42 created by user me@example.com", "api", source="heroku", time=T, kind="other"
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 app[log-shuttle]: Error L13: 111 messages lost",
        lambda line: _heroku(
            line,
            "Error L13: 111 messages lost",
            "log-shuttle",
            source="app",
            time=T,
            kind="logging",
            level="error",
            code="L13",
        ),
    ),
    (
        "2024-05-14 09:11:03,123 heroku[web.1]: Error R15 (Memory quota vastly exceeded)",
        lambda line: _heroku(
            line,
            "Error R15 (Memory quota vastly exceeded)",
            "web.1",
            source="heroku",
            time=T.replace(microsecond=123000),
            kind="runtime",
            level="error",
            code="R15",
            desc="Memory quota vastly exceeded",
            dyno="web.1",
        ),
    ),
    (
        "  > 2024-05-14T09:11:03Z app[web.1]: hello",
        lambda line: _heroku(line, "hello", "web.1", source="app", time=T, kind="app", dyno="web.1"),
    ),
    (
        "83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - Completed 500 in 30ms",
        lambda line: _heroku(
            line,
            "Completed 500 in 30ms",
            "web.3",
            source="app",
            time=datetime(2012, 11, 30, 6, 45, 29, tzinfo=UTC),
            kind="app",
            dyno="web.3",
        ),
    ),
    (
        'heroku router - - at=error code=H12 desc="Request timeout" method=GET path="/" dyno=web.1 '
        "service=30000ms status=503",
        lambda line: _heroku(
            line,
            'at=error code=H12 desc="Request timeout" method=GET path="/" dyno=web.1 service=30000ms status=503',
            "router",
            source="heroku",
            kind="router",
            level="error",
            code="H12",
            desc="Request timeout",
            method="GET",
            path="/",
            status=503,
            service_ms=30000,
            dyno="web.1",
        ),
    ),
    (
        "x=1 ts=2024-05-14T09:11:03Z heroku[router]: at=info method=GET path=/ status=200",
        lambda line: _heroku(
            line,
            "at=info method=GET path=/ status=200",
            "router",
            source="heroku",
            time=T,
            kind="router",
            level="info",
            method="GET",
            path="/",
            status=200,
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 heroku[logplex]: Error L10 (output buffer overflow): 12 messages dropped",
        lambda line: _heroku(
            line,
            "Error L10 (output buffer overflow): 12 messages dropped",
            "logplex",
            source="heroku",
            time=T,
            kind="logging",
            level="error",
            code="L10",
            desc="output buffer overflow",
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 app[logplex]: Error L10 (output buffer overflow)",
        lambda line: _heroku(
            line,
            "Error L10 (output buffer overflow)",
            "logplex",
            source="app",
            time=T,
            kind="logging",
            level="error",
            code="L10",
            desc="output buffer overflow",
        ),
    ),
    # A router line of the years before logfmt carries status and service, not `at=`.
    (
        "2012-01-01T10:00:00+00:00 heroku[router]: GET myapp.herokuapp.com/ dyno=web.1 queue=0 wait=0ms "
        "service=10ms status=200 bytes=3",
        lambda line: _heroku(
            line,
            "GET myapp.herokuapp.com/ dyno=web.1 queue=0 wait=0ms service=10ms status=200 bytes=3",
            "router",
            source="heroku",
            time=datetime(2012, 1, 1, 10, tzinfo=UTC),
            kind="router",
            status=200,
            service_ms=10,
            dyno="web.1",
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 heroku[router]: at=info method=GET path=/ service=abc status=200",
        lambda line: _heroku(
            line,
            "at=info method=GET path=/ service=abc status=200",
            "router",
            source="heroku",
            time=T,
            kind="router",
            level="info",
            method="GET",
            path="/",
            status=200,
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 heroku[router]: Shutting down",
        lambda line: _heroku(line, "Shutting down", "router", source="heroku", time=T, kind="router"),
    ),
    (
        "Mar 14 02:11:09 shop-prod app/web.2:  Started GET /",
        lambda line: _heroku(line, " Started GET /", "web.2", source="app", kind="app", dyno="web.2"),
    ),
    (
        "2024-01-02T03:04:05Z 3a4b5c6d ams [info]Starting instance",
        lambda line: _fly(line, "Starting instance", "app", "3a4b5c6d", "ams", "info", kind="app"),
    ),
    (
        "2024-01-02T03:04:05Z proxy[3a4b5c6d] ams [error]could not find a good candidate within 21 attempts at "
        "load balancing",
        lambda line: _fly(
            line,
            "could not find a good candidate within 21 attempts at load balancing",
            "proxy",
            "3a4b5c6d",
            "ams",
            "error",
            kind="proxy",
            code="PR04",
        ),
    ),
    # The proxy's own line: any known tag is its code, whatever words follow.
    (
        "2024-01-02T03:04:05Z proxy[6e8245d1c17e87] iad [error][PC01] upstream went away",
        lambda line: _fly(
            line,
            "[PC01] upstream went away",
            "proxy",
            "6e8245d1c17e87",
            "iad",
            "error",
            kind="proxy",
            code="PC01",
        ),
    ),
    # The app's own output never names a proxy code, even in the proxy's words.
    (
        "2024-01-02T03:04:05Z app[6e8245d1c17e87] iad [info]retry: instance refused connection",
        lambda line: _fly(
            line, "retry: instance refused connection", "app", "6e8245d1c17e87", "iad", "info", kind="app"
        ),
    ),
    (
        "2024-01-02T03:04:05Z app[6e8245d1c17e87] iad [info]Main child exited normally with code: 1",
        lambda line: _fly(
            line,
            "Main child exited normally with code: 1",
            "app",
            "6e8245d1c17e87",
            "iad",
            "info",
            kind="exit",
            exit_status=1,
        ),
    ),
    (
        "2024-01-02T03:04:05Z app[6e8245d1c17e87] iad [info][  12.3] Out of memory: Killed process 513 (node)",
        lambda line: _fly(
            line,
            "[  12.3] Out of memory: Killed process 513 (node)",
            "app",
            "6e8245d1c17e87",
            "iad",
            "info",
            kind="memory",
            oom=True,
        ),
    ),
    (
        "2024-01-02T03:04:05Z runner[6e8245d1c17e87] iad [info]Pulling container image",
        lambda line: _fly(
            line, "Pulling container image", "runner", "6e8245d1c17e87", "iad", "info", kind="other"
        ),
    ),
    (
        "2024-01-02T03:04:05Z runner[6e8245d1c17e87] iad [info]instance refused connection",
        lambda line: _fly(
            line,
            "instance refused connection",
            "runner",
            "6e8245d1c17e87",
            "iad",
            "info",
            kind="proxy",
            code="PC01",
        ),
    ),
    (
        "2024-01-02T03:04:05Z app[6e8245d1c17e87] iad [info]machine has reached its max restart count of 10",
        lambda line: _fly(
            line,
            "machine has reached its max restart count of 10",
            "app",
            "6e8245d1c17e87",
            "iad",
            "info",
            kind="state",
            state_to="stopped",
        ),
    ),
    (
        '{"message": "listening", "fly": {"app": {"instance": "6e82", "name": "x"}, "region": "iad"}, '
        '"timestamp": "2024-01-02T03:04:05Z"}',
        lambda line: LogEvent(
            line=line,
            platform="fly",
            source="app",
            process="6e82",
            dyno="6e82",
            time=FLY_T,
            region="iad",
            kind="app",
            message="listening",
        ),
    ),
    (
        '{"message": "[PC01] instance refused connection", "event": {"provider": "proxy"}, "log": {"level": "error"}}',
        lambda line: LogEvent(
            line=line,
            platform="fly",
            source="proxy",
            level="error",
            kind="proxy",
            code="PC01",
            message="[PC01] instance refused connection",
        ),
    ),
    # Another app's JSON log line is plain text, not a Fly.io event.
    (
        '{"level": "error", "msg": "boom"}',
        lambda line: LogEvent(line=line, kind="other", message=line),
    ),
    # No envelope: the signal is read from anywhere in the line, the time from its head.
    (
        '2024-05-14T09:11:03Z at=error code=H12 desc="Request timeout" method=GET path="/slow" dyno=web.1 '
        "service=30000ms status=503",
        lambda line: _heroku(
            line,
            line,
            "router",
            source="heroku",
            time=T,
            kind="router",
            level="error",
            code="H12",
            desc="Request timeout",
            method="GET",
            path="/slow",
            status=503,
            service_ms=30000,
            dyno="web.1",
        ),
    ),
    (
        "2024-05-14T09:11:03Z Error H12 (Request timeout) -> GET myapp.herokuapp.com/api/v1/slow dyno=web.1 "
        "service=30000ms status=503",
        lambda line: _heroku(
            line,
            line,
            "router",
            source="heroku",
            time=T,
            kind="router",
            level="error",
            code="H12",
            desc="Request timeout",
            method="GET",
            host="myapp.herokuapp.com",
            path="/api/v1/slow",
            status=503,
            service_ms=30000,
            dyno="web.1",
        ),
    ),
    (
        "2024-05-14T09:11:03Z Error H14 (No web processes running)",
        lambda line: _heroku(
            line,
            line,
            None,
            source="heroku",
            time=T,
            kind="router",
            level="error",
            code="H14",
            desc="No web processes running",
        ),
    ),
    (
        "2024-05-14T09:11:03Z Error R14 (Memory quota exceeded) on web.2",
        lambda line: _heroku(
            line,
            line,
            None,
            source="heroku",
            time=T,
            kind="runtime",
            level="error",
            code="R14",
            desc="Memory quota exceeded",
        ),
    ),
    (
        "2024-05-14T09:11:03Z Process running mem=1.5GB(300.1%)",
        lambda line: _heroku(
            line, line, None, source="heroku", time=T, kind="memory", mem_mb=1536.0, mem_pct=300.1
        ),
    ),
    (
        "2024-05-14T09:11:03Z Process exited with status 1",
        lambda line: _heroku(line, line, None, source="heroku", time=T, kind="exit", exit_status=1),
    ),
    (
        "2024-05-14T09:11:03Z State changed from starting to crashed",
        lambda line: _heroku(
            line, line, None, source="heroku", time=T, kind="state", desc="starting", state_to="crashed"
        ),
    ),
    (
        "2024-05-14T09:11:03Z Stopping process with SIGKILL",
        lambda line: _heroku(line, line, None, source="heroku", time=T, kind="signal", signal="SIGKILL"),
    ),
    (
        "2024-05-14T09:11:03Z [PC01] instance refused connection. is your app listening on 0.0.0.0:8080?",
        lambda line: LogEvent(
            line=line, platform="fly", source="proxy", time=T, kind="proxy", code="PC01", message=line
        ),
    ),
    (
        "2024-05-14T09:11:03Z [  12.3] Out of memory: Killed process 513 (node)",
        lambda line: LogEvent(line=line, time=T, kind="memory", oom=True, message=line),
    ),
    (
        "2024-05-14T09:11:03Z machine has reached its max restart count of 10",
        lambda line: LogEvent(
            line=line, platform="fly", time=T, kind="state", state_to="stopped", message=line
        ),
    ),
    (
        "2024-05-14T09:11:03Z Web process failed to bind to $PORT within 60 seconds of launch",
        lambda line: LogEvent(
            line=line, platform="heroku", source="prose", time=T, kind="runtime", code="R10", message=line
        ),
    ),
    (
        "2024-05-14T09:11:03Z we keep getting H12 errors since the deploy",
        lambda line: LogEvent(
            line=line, platform="heroku", source="prose", time=T, kind="router", code="H12", message=line
        ),
    ),
    (
        "2024-05-14T09:11:03Z and L10 errors in the drain",
        lambda line: LogEvent(
            line=line, platform="heroku", source="prose", time=T, kind="logging", code="L10", message=line
        ),
    ),
    (
        "2024-05-14T09:11:03Z our fly app shows PT05 for the custom domain certificate",
        lambda line: LogEvent(
            line=line, platform="fly", source="prose", time=T, kind="proxy", code="PT05", message=line
        ),
    ),
    (
        "2024-05-14T09:11:03Z we keep seeing R14 errors on web.1",
        lambda line: LogEvent(
            line=line, platform="heroku", source="prose", time=T, kind="runtime", code="R14", message=line
        ),
    ),
    (
        "failed to bind to $PORT within 60 seconds of launch",
        lambda line: LogEvent(
            line=line, platform="heroku", source="prose", kind="runtime", code="R10", message=line
        ),
    ),
    # The time of a line is the one before its envelope, never one inside its message.
    (
        "app[web.1]: finished the job queued at 2024-05-14T09:11:03Z",
        lambda line: _heroku(
            line,
            "finished the job queued at 2024-05-14T09:11:03Z",
            "web.1",
            source="app",
            kind="app",
            dyno="web.1",
        ),
    ),
    (
        "2024-05-14T09:11:03+00:00 heroku[router]: at=info method=GET path=/ dyno=web.1",
        lambda line: _heroku(
            line,
            "at=info method=GET path=/ dyno=web.1",
            "router",
            source="heroku",
            time=T,
            kind="router",
            level="info",
            method="GET",
            path="/",
            dyno="web.1",
        ),
    ),
    # A code found outside the proxy's error field stands, whatever that field says.
    (
        '2024-05-14T09:11:03Z [PC01] instance refused connection error.message="dial tcp: connection refused"',
        lambda line: LogEvent(
            line=line, platform="fly", source="proxy", time=T, kind="proxy", code="PC01", message=line
        ),
    ),
    (
        '2024-01-02T03:04:05Z proxy[6e82] iad [error][PC01] refused error.message="dial tcp: i/o timeout"',
        lambda line: _fly(
            line,
            '[PC01] refused error.message="dial tcp: i/o timeout"',
            "proxy",
            "6e82",
            "iad",
            "error",
            kind="proxy",
            code="PC01",
        ),
    ),
    (
        "2024-05-14T09:11:03Z just an ordinary line",
        lambda line: LogEvent(line=line, time=T, kind="other", message=line),
    ),
]


@pytest.mark.parametrize("line, expected", SHAPES, ids=[s[0][:60] for s in SHAPES])
def test_each_line_shape_parses_to_the_whole_event(line, expected):
    assert parse_line(line) == expected(line)


def test_a_line_loses_its_line_break_and_nothing_else():
    e = parse_line("2024-05-14T09:11:03Z app[web.1]: hello\r\n")
    assert (e.line, e.message) == ("2024-05-14T09:11:03Z app[web.1]: hello", "hello")
    assert parse_line("app[web.1]: padded  \n").message == "padded  "
    assert parse_line("app[web.1]: MAX\n").message == "MAX"


def test_an_envelope_named_deep_inside_a_line_is_not_read_as_its_envelope():
    # Envelopes are looked for in the head of a line only; further in, `app[web.1]:` is just text.
    e = parse_line("x" * 450 + " app[web.1]: Error R14 (Memory quota exceeded)")
    assert (e.code, e.kind, e.source, e.process) == ("R14", "runtime", "heroku", None)


def test_a_proxy_error_field_past_the_first_2000_characters_is_still_read():
    tail = ' error.message="[PC01] instance refused connection"'
    proxy = parse_line(
        "2024-01-02T03:04:05Z proxy[6e82] iad [error]request.headers="
        + "h" * 2100
        + ' error.message="[PC01] upstream went away"'  # the proxy's own line: its tag is enough
    )
    bare = parse_line("2024-01-02T03:04:05Z request.headers=" + "h" * 2100 + tail)
    assert (proxy.code, proxy.kind) == ("PC01", "proxy")
    assert (bare.code, bare.kind, bare.platform) == ("PC01", "proxy", "fly")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2024-05-14T09:11:03Z", datetime(2024, 5, 14, 9, 11, 3, tzinfo=UTC)),
        ("2024-05-14 09:11:03", datetime(2024, 5, 14, 9, 11, 3, tzinfo=UTC)),  # no zone: UTC
        ("2024-05-14T09:11:03.5Z", datetime(2024, 5, 14, 9, 11, 3, 500000, tzinfo=UTC)),
        ("2024-05-14T09:11:03,25+00:00", datetime(2024, 5, 14, 9, 11, 3, 250000, tzinfo=UTC)),
        ("2024-05-14T11:11:03.000001+02:00", datetime(2024, 5, 14, 9, 11, 3, 1, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_parse_time(raw, expected):
    assert parse_time(raw) == expected


def test_line_time_reads_only_the_time_a_line_starts_with():
    assert line_time("  > 2024-05-14T09:11:03Z app[web.1]: hello") == datetime(
        2024, 5, 14, 9, 11, 3, tzinfo=UTC
    )
    assert line_time("app[web.1]: hello at 2024-05-14T09:11:03Z") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ('msg="say \\"hi\\"" at=info', {"msg": 'say "hi"', "at": "info"}),
        ('desc="" at=error', {"desc": "", "at": "error"}),
        ('desc="', {"desc": ""}),
        ("at=info at=error", {"at": "info"}),  # the first value of a key counts
    ],
)
def test_logfmt_values(text, expected):
    assert logfmt(text) == expected


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/users/123/orders/9f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f", "/users/{id}/orders/{id}"),
        ("/files/0123456789abcdef0123/raw?download=1", "/files/{id}/raw"),
        ("/search?q=a?b", "/search"),
        ("?utm=x", "/"),
        ("/x" * 200, "/x" * 150),  # at most 300 characters
    ],
)
def test_normalise_path(path, expected):
    assert normalise_path(path) == expected
