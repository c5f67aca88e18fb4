"""Diagnosis rules one at a time, on short pastes written for each rule (the real pastes are in tests/data)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.diagnose import Correlation, diagnose

TS = "2024-05-14T09:11:0{}+00:00"


def T(second: int) -> datetime:
    return datetime(2024, 5, 14, 9, 11, second, tzinfo=UTC)


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


ROUTER = (
    'heroku[router]: at=error code={code} desc="x" method=GET path="{path}" host=a.io dyno={dyno} connect=1ms '
    "service={service}ms status=503 bytes=0{extra}"
)


def r(code: str, dyno: str = "web.1", service: int = 30000, path: str = "/reports/7", extra: str = "") -> str:
    return ROUTER.format(code=code, dyno=dyno, service=service, path=path, extra=extra)


def C(cause, codes, text, quote=(), root=True, blame=None) -> Correlation:  # noqa: N802 (reads like the value it builds)
    return Correlation(cause, codes, text, quote, blame, root)


def fly(*lines: str) -> str:
    return "\n".join(f"2024-01-02T03:04:0{i}Z {line}" for i, line in enumerate(lines))


PC01 = (
    "proxy[6e82] iad [error][PC01] instance refused connection. is your app listening on 0.0.0.0:8080? make sure "
    "it is not only listening on 127.0.0.1"
)


# One paste per correlation rule (and its edges): every correlation the paste yields, word for word, and
# the root cause and blame it leads to. A rule that fires wrongly, says the wrong thing or quotes the wrong
# lines fails here.
CORRELATIONS = [
    (
        "bind-localhost",
        fly("app[6e82] iad [info]Server listening on http://localhost:8080", PC01),
        "PC01",
        "app",
        (
            C(
                "bind",
                ("PC01",),
                "The app listens on 127.0.0.1 only, so the proxy's connections are refused: bind to 0.0.0.0 (or [::]) on the port fly.toml's internal_port names.",
                quote=("2024-01-02T03:04:00Z app[6e82] iad [info]Server listening on http://localhost:8080",),
                blame="app",
            ),
        ),
    ),
    (
        "bind-another-port",
        fly("app[6e82] iad [info]Listening on 0.0.0.0:3000", PC01),
        "PC01",
        "config",
        (
            C(
                "bind",
                ("PC01",),
                "Port mismatch: the app listens on 0.0.0.0:3000 but the proxy connects to 8080 (fly.toml internal_port). Set internal_port = 3000 in [http_service] or make the app listen on 8080, then `fly deploy`.",
                quote=("2024-01-02T03:04:00Z app[6e82] iad [info]Listening on 0.0.0.0:3000",),
                blame="config",
            ),
        ),
    ),
    # Seen listening where the proxy connects: the refusals came while it restarted, binding is fine.
    ("bind-right", fly("app[6e82] iad [info]Listening on [::]:8080", PC01), "PC01", "config", ()),
    (
        "bind-any-port-asked",
        fly(
            "app[6e82] iad [info]listening on 0.0.0.0:3000",
            "proxy[6e82] iad [error][PC02] connection refused",
        ),
        "PC02",
        "config",
        (),
    ),
    (
        "bind-nothing-seen",
        fly("app[6e82] iad [info]Booting", PC01),
        "PC01",
        "app",
        (
            C(
                "bind",
                ("PC01",),
                "Nothing accepted the proxy's connection on the machine: check that the app listens on 0.0.0.0 (not 127.0.0.1) on the port fly.toml's internal_port names, and that it had finished booting.",
            ),
        ),
    ),
    # As many platform errors as app errors: the platform's side leads.
    (
        "platform-as-many-as-app",
        paste(r("H99", service=0), r("H99", service=0), r("H12", service=0), r("H12", service=0)),
        "H99",
        "platform",
        (
            C(
                "platform",
                ("H99",),
                "These codes come from the platform's side: check https://status.heroku.com or https://status.flyio.net and open a ticket if it persists.",
            ),
        ),
    ),
    (
        "memory-victims",
        paste(
            "heroku[web.1]: Process running mem=1029M(200.9%)",
            "heroku[web.1]: Error R14 (Memory quota exceeded)",
            r("H12"),
            "heroku[web.1]: Process exited with status 137",
        ),
        "R14",
        "app",
        (
            C(
                "memory",
                ("R14", "H12"),
                "Memory pressure on web.1 (peak 200.9% of the dyno's quota), with H12, exit 137 on the same dyno — a dyno or machine that swaps or is killed for memory answers slowly or not at all. Memory is the root cause; the others are symptoms.",
            ),
            C(
                "slow-endpoints",
                ("H12",),
                "Requests ran into the router's 30-second limit; slowest endpoints: /reports/{id} (1). Profile them, add indexes or move the work to a background job.",
            ),
        ),
    ),
    (
        "memory-alone",
        paste("heroku[web.1]: Error R14 (Memory quota exceeded)"),
        "R14",
        "app",
        (
            C(
                "memory",
                ("R14",),
                "Memory pressure on web.1: the process is using more memory than its size allows.",
            ),
        ),
    ),
    (
        "memory-elsewhere",
        paste("heroku[web.1]: Error R15 (Memory quota vastly exceeded)", r("H12", dyno="web.2")),
        "H12",
        "app",
        (
            C(
                "memory",
                ("R15",),
                "Memory pressure on web.1: the process is using more memory than its size allows — a separate problem from the H12 elsewhere.",
                root=False,
            ),
            C(
                "slow-endpoints",
                ("H12",),
                "Requests ran into the router's 30-second limit; slowest endpoints: /reports/{id} (1). Profile them, add indexes or move the work to a background job.",
            ),
        ),
    ),
    (
        "memory-at-100-percent",
        paste("heroku[web.1]: Process running mem=512M(100.0%)", r("H12", service=1000)),
        "H12",
        "app",
        (),
    ),
    (
        "memory-over-100-percent",
        paste("heroku[web.1]: Process running mem=513M(100.1%)", r("H12", service=1000)),
        "H12",
        "app",
        (
            C(
                "memory",
                ("OOM", "H12"),
                "Memory pressure on web.1 (peak 100.1% of the dyno's quota), with H12 on the same dyno — a dyno or machine that swaps or is killed for memory answers slowly or not at all. Memory is the root cause; the others are symptoms.",
            ),
        ),
    ),
    (
        "oom-anywhere",
        paste("Out of memory: Killed process 513 (node)", r("H13", service=1000)),
        "H13",
        "app",
        (
            C(
                "memory",
                ("OOM", "H13"),
                "Memory pressure, with H13 on the same app — a dyno or machine that swaps or is killed for memory answers slowly or not at all. Memory is the root cause; the others are symptoms.",
            ),
        ),
    ),
    (
        "boot-localhost",
        paste(
            "app[web.1]: Listening on http://127.0.0.1:5000",
            "app[web.1]: server started on localhost",
            "app[web.1]: running at localhost:5000",
            "heroku[web.1]: Error R10 (Boot timeout) -> Web process failed to bind to $PORT within 60 seconds of launch",
            r("H10", dyno="", service=0),
        ),
        "R10",
        "app",
        (
            C(
                "boot",
                ("R10", "H10"),
                "The web process did not bind to $PORT within the boot window, so Heroku killed it and the router has nothing to send requests to (H10/H20 follow). The app says it listens on 127.0.0.1/localhost: bind to 0.0.0.0:$PORT instead.",
                quote=(
                    "2024-05-14T09:11:00+00:00 app[web.1]: Listening on http://127.0.0.1:5000",
                    "2024-05-14T09:11:01+00:00 app[web.1]: server started on localhost",
                ),
            ),
        ),
    ),
    (
        "boot-h20",
        paste(r("H20", service=0)),
        "H20",
        "app",
        (
            C(
                "boot",
                ("H20",),
                "The web process did not bind to $PORT within the boot window, so Heroku killed it and the router has nothing to send requests to (H10/H20 follow). Make it listen on 0.0.0.0:$PORT, and move slow start-up work out of boot.",
            ),
        ),
    ),
    (
        "crash-h13",
        paste(
            "app[web.1]: RuntimeError: boom",
            "heroku[web.1]: Process exited with status 1",
            r("H13", service=100),
        ),
        "H13",
        "app",
        (
            C(
                "crash",
                ("H13",),
                "The process crashed (exit status 1 on web.1); the lines just before it show why.",
                quote=("RuntimeError: boom",),
            ),
        ),
    ),
    (
        "fly-machine-not-starting",
        "2024-01-02T03:04:05Z app[6e82] iad [info]Main child exited normally with code: 1\n2024-01-02T03:04:06Z proxy[6e82] iad [error][PR03] could not find a machine to route to",
        "crash",
        "app",
        (
            C(
                "machine-not-starting",
                ("PR03",),
                "The proxy cannot reach a machine because the machine itself keeps exiting: look at its own exit (fly logs -i <machine>) rather than at the proxy.",
            ),
        ),
    ),
    (
        "server-timeout",
        paste(
            "app[web.1]: [3] ! Terminating timed out worker 12",
            "app[web.1]: WORKER TIMEOUT (pid:14)",
            "app[web.1]: [CRITICAL] WORKER TIMEOUT (pid:15)",
            r("H13", service=100),
            r("H18", service=100, extra=" sock=backend"),
        ),
        "H13",
        "app",
        (
            C(
                "server-timeout",
                ("H13", "H18"),
                "The web server kills workers that run too long, and the router then sees the connection closed without a response (H13) — the server's timeout is below the router's 30 s. Fix the slow requests; keep the app's own timeout (e.g. rack-timeout, gunicorn --timeout) just under 30 s so it fails cleanly.",
                quote=(
                    "2024-05-14T09:11:00+00:00 app[web.1]: [3] ! Terminating timed out worker 12",
                    "2024-05-14T09:11:01+00:00 app[web.1]: WORKER TIMEOUT (pid:14)",
                ),
            ),
            C(
                "backend-closed",
                ("H18",),
                "1 H18 with sock=backend: your dyno closed the socket mid-request — look for crashes or killed workers.",
            ),
        ),
    ),
    (
        "slow-at-29000",
        paste(r("H12", service=29000, path="/a/1"), r("H12", service=500, path="/b")),
        "H12",
        "app",
        (
            C(
                "slow-endpoints",
                ("H12",),
                "Requests ran into the router's 30-second limit; slowest endpoints: /a/{id} (1), /b (1). Profile them, add indexes or move the work to a background job.",
            ),
        ),
    ),
    ("slow-under-29000", paste(r("H12", service=28999)), "H12", "app", ()),
    (
        "h18-sockets",
        paste(
            r("H18", service=88, extra=" sock=client"),
            r("H18", service=88, extra=" sock=client"),
            r("H18", service=88, extra=" sock=backend"),
        ),
        "H18",
        "app",
        (
            C(
                "client-disconnect",
                ("H18",),
                "2 H18 with sock=client: the client hung up mid-request (often harmless: closed tabs, mobile networks).",
            ),
            C(
                "backend-closed",
                ("H18",),
                "1 H18 with sock=backend: your dyno closed the socket mid-request — look for crashes or killed workers.",
            ),
        ),
    ),
    (
        "capacity",
        paste(r("H11", service=0), r("H22", service=0)),
        "H11",
        "app",
        (
            C(
                "capacity",
                ("H11", "H22"),
                "More traffic than the running dynos or machines can take: scale out (heroku ps:scale web=N / fly scale count N), raise concurrency limits, and make the slow requests faster.",
            ),
        ),
    ),
    (
        "no-web-dynos",
        paste(r("H14", dyno="", service=0)),
        "H14",
        "config",
        (
            C(
                "no-web-dynos",
                ("H14",),
                "No web dynos are running: scale them up with `heroku ps:scale web=1`.",
            ),
        ),
    ),
    (
        "maintenance",
        paste(r("H80", service=0)),
        "H80",
        "config",
        (
            C(
                "maintenance",
                ("H80",),
                "The app is in maintenance mode: `heroku maintenance:off` when the work is done.",
            ),
        ),
    ),
    (
        "platform",
        paste(r("H99", service=0)),
        "H99",
        "platform",
        (
            C(
                "platform",
                ("H99",),
                "These codes come from the platform's side: check https://status.heroku.com or https://status.flyio.net and open a ticket if it persists.",
            ),
        ),
    ),
    (
        "platform-with-worse-app-errors",
        paste(r("H99", service=0), r("H12"), r("H12")),
        "H12",
        "app",
        (
            C(
                "slow-endpoints",
                ("H12",),
                "Requests ran into the router's 30-second limit; slowest endpoints: /reports/{id} (2). Profile them, add indexes or move the work to a background job.",
            ),
            C(
                "platform",
                ("H99",),
                "These codes come from the platform's side: check https://status.heroku.com or https://status.flyio.net and open a ticket if it persists.",
                root=False,  # the app's own H12s outnumber it: the platform code does not lead
            ),
        ),
    ),
]


@pytest.mark.parametrize(
    "name, text, root, blame, correlations", CORRELATIONS, ids=[c[0] for c in CORRELATIONS]
)
def test_each_correlation_rule(kb, name, text, root, blame, correlations):
    d = diagnose(text, kb)
    assert d.correlations == correlations
    assert (d.root, d.blame) == (root, blame)


def test_a_finding_sums_up_every_occurrence_of_its_code(kb):
    d = diagnose(
        paste(
            r("H12", dyno="web.2", path="/a/1"),
            r("H12", dyno="web.1", path="/a/2", service=29500),
            r("H12", dyno="web.2", path="/b").replace("status=503", "status=504"),
            "heroku[web.3]: Error R14 (Memory quota exceeded)",
            r("H27", service=10, extra=" sock=client"),
        ),
        kb,
    )
    h12, r14, h27 = d.findings  # the root cause first, then by severity, count and code
    assert (h12.code, h12.count, h12.first, h12.last) == ("H12", 3, T(0), T(2))
    assert h12.where == (("web.2", 2), ("web.1", 1))
    assert h12.paths == (("/a/{id}", 2), ("/b", 1))
    assert h12.statuses == ((503, 2), (504, 1))
    assert h12.service_ms == (29500, 30000) and h12.socks == () and h12.regions == ()
    assert h12.example == TS.format(0) + " " + r("H12", dyno="web.2", path="/a/1")
    assert (r14.code, r14.where, r14.paths, r14.statuses, r14.service_ms) == (
        "R14",
        (("web.3", 1),),
        (),
        (),
        None,
    )
    assert (h27.code, h27.socks, h27.first) == ("H27", (("client", 1),), T(4))
    assert (
        d.summary == "5 error event(s) in 5 line(s): H12×3, R14×1, H27×1. Start with H12 (your app's side)."
    )


def test_the_summary_names_at_most_six_codes(kb):
    codes = ("H13", "H15", "H16", "H17", "H19", "H21", "H24", "H25")
    d = diagnose(paste(*[r(c, service=10) for c in codes]), kb)
    assert len(d.findings) == 8
    assert d.summary.startswith("8 error event(s) in 8 line(s): ")
    assert d.summary.count("×1") == 6


def test_without_a_correlation_the_top_finding_leads_with_its_first_fix(kb):
    d = diagnose(paste(r("H27", service=10)), kb)
    entry = kb.get("H27")
    assert d.primary.why == f"{entry.summary} First fix: {entry.fixes[0]}"
    assert (d.root, d.blame) == ("H27", "client")
    assert d.summary == "1 error event(s) in 1 line(s): H27×1. Start with H27 (the client's side)."


def test_exits_are_counted_by_status_and_the_three_commonest_said(kb):
    d = diagnose(
        paste(
            "heroku[web.1]: Process exited with status 1",
            "heroku[web.2]: Process exited with status 1",
            "heroku[web.3]: Process exited with status 139",
            "heroku[web.4]: Process exited with status 0",
            "heroku[web.5]: Process exited with status 2",
            "app[web.1]: Traceback (most recent call last):",
            "app[web.1]: ValueError: bad",
            "Process running mem=600M(117.2%)",
            "Process running mem=550M(107.4%)",
        ),
        kb,
    )
    assert d.observations == (
        "A process exited with status 1: the app failed (an unhandled error at start-up or run time) (2 times).",
        "A process crashed with a segmentation fault (status 139): usually a native extension.",
        "A process exited cleanly (status 0).",
        "The app logged 2 error line(s), e.g.: ValueError: bad",  # the exception, not the Traceback header
        "Memory peaked at 117.2% of quota (600 MB) on a dyno.",
    )
    assert d.root == "crash" and d.findings == ()
    assert d.summary == (
        "No platform error code in 9 line(s), but the paste shows the crash: "
        "“2024-05-14T09:11:00+00:00 heroku[web.1]: Process exited with status 1”."
    )


def test_an_exit_status_without_a_meaning_is_said_as_it_is(kb):
    d = diagnose(paste("heroku[web.1]: Process exited with status 2"), kb)
    assert d.observations == ("A process exited with status 2.",)


def test_nothing_found(kb):
    assert diagnose("", kb).summary == "No platform error codes found (the paste was empty)."
    d = diagnose(paste("app[web.1]: GET / 200", "heroku[web.1]: Process exited with status 0"), kb)
    assert d.summary == "No platform error codes found in 2 line(s). A process exited cleanly (status 0)."


def test_a_sentence_naming_several_codes_counts_each(kb):
    d = diagnose("we get H18 errors, plus occasional H13 and H27 on the checkout", kb)
    assert [(f.code, f.count) for f in d.findings] == [("H13", 1), ("H18", 1), ("H27", 1)]
    assert (
        d.summary == "3 error event(s) in 1 line(s): H13×1, H18×1, H27×1. Start with H13 (your app's side)."
    )


def test_binary_and_secret_notes(kb):
    d = diagnose("abc\x00\x01\x02\x03" * 50 + "\nError R14 (Memory quota exceeded)", kb)
    assert d.notes == ("This looks like binary data rather than log text; only readable lines were used.",)
    d = diagnose("AKIAIOSFODNN7EXAMPLE and ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d in " + r("H12"), kb)
    assert d.notes == (
        "2 secret(s) were pasted (GitHub token, AWS access key) and are masked here. Treat them as leaked: "
        "rotate them now.",
    )
    assert d.redacted == 2


def test_a_secret_cut_by_a_terminal_wrap_is_masked_once_rejoined_and_counted_with_the_others(kb):
    ts = "2024-05-14T09:11:03.402117+00:00"
    text = (
        f"{ts} app[web.1]: signing with AKIAIOSFODNN7EXAMPLE\n"
        f"{ts} app[web.1]: request " + "y" * 200 + "\n"
        f"{ts} app[web.1]: with DATABASE_URL=postgres://u:hunter2hunter2@db.example.com:5432/d " + "x" * 40
    )
    wrapped = "\n".join(part[i : i + 80] for part in text.split("\n") for i in range(0, len(part), 80))
    assert "hunter2hunter2" not in wrapped  # the wrap cut the password in two
    d = diagnose(wrapped, kb)
    assert d.redacted == 2 and "(AWS access key, password in a URL)" in " ".join(d.notes)
    assert d.lines == 3


API_BODIES = [
    # (paste, code, statuses, example, api, entry)
    (
        'HTTP/1.1 502 Bad Gateway\nContent-Type: application/json\n\n{"message": "upstream connect error"}',
        "HTTP 502",
        ((502, 1),),
        "Bad Gateway",
        "unknown",
        None,
    ),
    (
        'POST https://us.inference.heroku.com/v1/chat/completions\nHTTP/1.1 429 Too Many Requests\n\n{"error": {"message": "slow down"}}',
        "AI-429",
        ((429, 1),),
        "slow down",
        "heroku-ai",
        "AI-429",
    ),
    # The body's shape alone does not name Heroku AI; the paste's evidence does.
    (
        'INFERENCE_URL=https://us.inference.heroku.com\nHTTP/1.1 500 Internal Server Error\n\n{"error": {"message": "boom"}}',
        "AI-500",
        ((500, 1),),
        "boom",
        "heroku-ai",
        "AI-500",
    ),
    (
        'HTTP/1.1 529\n\n{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
        "overloaded_error",
        ((529, 1),),
        "Overloaded",
        "anthropic",
        "overloaded_error",
    ),
    ('{"error": {"message": "weird thing"}}', "API error", (), "weird thing", "unknown", None),
    # A status alone is read as Heroku AI's only for Heroku AI or an API the paste does not name.
    (
        'POST https://api.openai.com/v1/chat/completions\nHTTP/1.1 500 Internal Server Error\n\n{"error": {"message": "boom"}}',
        "HTTP 500",
        ((500, 1),),
        "boom",
        "openai",
        None,
    ),
    (
        'HTTP/1.1 500 Internal Server Error\n\n{"error": {"message": "boom"}}',
        "AI-500",
        ((500, 1),),
        "boom",
        "unknown",
        "AI-500",
    ),
]


@pytest.mark.parametrize(
    "text, code, statuses, example, api, entry", API_BODIES, ids=[b[1] for b in API_BODIES]
)
def test_an_api_error_body_is_one_finding_named_by_its_code_type_or_status(
    kb, text, code, statuses, example, api, entry
):
    d = diagnose(text, kb)
    [finding] = d.findings
    assert (finding.code, finding.count, finding.statuses, finding.example) == (code, 1, statuses, example)
    assert finding.api.api == api
    assert (finding.entry.code if finding.entry else None) == entry
    assert d.root == code


def test_the_same_api_error_body_twice_is_one_finding_counted_twice(kb):
    body = (
        'HTTP/1.1 429 Too Many Requests\n\n{"error": {"message": "Rate limit reached", "type": "requests", '
        '"code": "rate_limit_exceeded"}}'
    )
    d = diagnose(body + "\n" + body, kb)
    assert [(f.code, f.count, f.statuses) for f in d.findings] == [("rate_limit_exceeded", 2, ((429, 1),))]


def test_a_finding_lists_its_three_busiest_places_and_regions(kb):
    lines = [
        f"proxy[m{i}] {region} [error][PC01] instance refused connection"
        for i, region in enumerate(["iad", "iad", "iad", "ams", "ams", "sin", "syd"])
    ]
    lines += [
        "proxy[m0] iad [error][PC01] instance refused connection",
        "proxy[m1] iad [error][PC01] instance refused connection",
        "proxy[m0] iad [error][PC01] instance refused connection",
    ]
    [f] = diagnose(fly(*lines), kb).findings
    assert f.regions == (("iad", 6), ("ams", 2), ("sin", 1))
    assert f.where == (("m0", 3), ("m1", 2), ("m2", 1))


def test_a_long_line_is_quoted_up_to_500_characters(kb):
    line = r("H12") + " " + "x" * 800
    [f] = diagnose(paste(line), kb).findings
    assert f.example == (TS.format(0) + " " + line)[:500]


def test_findings_are_ordered_by_severity_then_count_then_code(kb):
    # H16 and H24 are both low, without a correlation: the commoner leads; then H13 (high) would lead it.
    d = diagnose(paste(r("H16", service=10), r("H24", service=10), r("H24", service=10)), kb)
    assert [f.code for f in d.findings] == ["H24", "H16"] and d.root == "H24"
    d = diagnose(paste(r("H16", service=10), r("H16", service=10), r("H27", service=10)), kb)
    assert [f.code for f in d.findings] == ["H16", "H27"]


def test_a_platform_kill_explains_only_an_exit_within_six_lines_of_it(kb):
    filler = [f"app[web.1]: GET /health {i}" for i in range(6)]
    near = diagnose(
        paste(
            "heroku[web.1]: Error R15 (Memory quota vastly exceeded)",
            *filler[:4],
            "app[web.1]: ValueError: x",
            "heroku[web.1]: Process exited with status 137",
        ),
        kb,
    )
    assert "crash" not in {c.cause for c in near.correlations}
    far = diagnose(
        paste(
            "heroku[web.1]: Error R15 (Memory quota vastly exceeded)",
            *filler[:5],
            "app[web.1]: ValueError: x",
            "heroku[web.1]: Process exited with status 137",
        ),
        kb,
    )
    assert "crash" in {c.cause for c in far.correlations}
    assert near.observations[0] == "A process was killed with SIGKILL (status 137) by the platform after R15."
    assert far.observations[0].startswith("A process was killed with SIGKILL (status 137): out of memory")


def test_a_node_app_listening_on_all_addresses_is_bound_right(kb):
    d = diagnose(fly("app[6e82] iad [info]Server listening on :::8080", PC01), kb)
    assert "bind" not in {c.cause for c in d.correlations}
    d = diagnose(fly("app[6e82] iad [info]Listening at http://127.0.0.1:8080", PC01), kb)
    [bind] = [c for c in d.correlations if c.cause == "bind"]
    assert bind.blame == "app" and bind.text.startswith("The app listens on 127.0.0.1 only")


def test_a_codeless_failure_leads_with_its_own_why_and_a_paste_is_not_truncated(kb):
    d = diagnose("[  412.338210] Out of memory: Killed process 513 (node)", kb)
    assert d.primary.why == d.failures[0].why and d.primary.title == "the out-of-memory kill"
    assert d.truncated is False and d.notes == ()


def test_a_paste_over_the_limit_is_read_from_its_start_and_says_so(kb):
    from bot.paste import MAX_PASTE_CHARS

    d = diagnose(paste(r("H12")) + "\n" + "x" * MAX_PASTE_CHARS, kb)
    assert d.truncated is True and [f.code for f in d.findings] == ["H12"]
    assert d.notes == (f"The paste was longer than {MAX_PASTE_CHARS:,} characters; only the start was read.",)


# More rules and edges: several dynos or codes, Fly.io machines that exit, crash quotes, and which rule leads.
CORRELATIONS_2 = [
    (
        "memory-on-two-dynos",
        paste(
            "heroku[web.1]: Error R14 (Memory quota exceeded)",
            "heroku[web.2]: Error R14 (Memory quota exceeded)",
            r("H12", service=1000),
        ),
        "R14",
        "app",
        "Memory pressure on web.1, web.2, with H12 on the same dyno — a dyno or machine that swaps or is killed for memory answers slowly or not at all. Memory is the root cause; the others are symptoms.",
        (
            C(
                "memory",
                ("R14", "H12"),
                "Memory pressure on web.1, web.2, with H12 on the same dyno — a dyno or machine that swaps or is killed for memory answers slowly or not at all. Memory is the root cause; the others are symptoms.",
            ),
        ),
    ),
    (
        "memory-apart-from-two-codes",
        paste(
            "heroku[web.1]: Error R14 (Memory quota exceeded)",
            r("H12", dyno="web.2", service=1000),
            r("H13", dyno="web.3", service=1000),
        ),
        "H12",
        "app",
        "The dyno did not start answering within 30 seconds, so the router gave up and sent the client a 503. Your code usually keeps running to the end anyway, so the work may still finish after the user got an error. First fix: Find the slow paths with `heroku logs --tail --dyno web.1` and the `service=` values near 30000ms.",
        (
            C(
                "memory",
                ("R14",),
                "Memory pressure on web.1: the process is using more memory than its size allows — a separate problem from the H12, H13 elsewhere.",
                root=False,
            ),
        ),
    ),
    (
        "bind-pc02-nothing-seen",
        fly("app[6e82] iad [info]Booting", "proxy[6e82] iad [error][PC02] connection refused"),
        "PC02",
        "app",
        "Nothing accepted the proxy's connection on the machine: check that the app listens on 0.0.0.0 (not 127.0.0.1) on the port fly.toml's internal_port names, and that it had finished booting.",
        (
            C(
                "bind",
                ("PC02",),
                "Nothing accepted the proxy's connection on the machine: check that the app listens on 0.0.0.0 (not 127.0.0.1) on the port fly.toml's internal_port names, and that it had finished booting.",
            ),
        ),
    ),
    (
        "fly-crash-behind-pm05",
        fly(
            "app[6e82] iad [info]Error: Cannot find module 'express'",
            "app[6e82] iad [info]Main child exited normally with code: 1",
            "proxy[6e82] iad [error][PM05] failed to connect to machine: gave up after 15 attempts",
        ),
        "crash",
        "app",
        "The process exits on its own, usually at start-up: the lines just before the exit say why (a missing module, a bad command, a missing environment variable). Fix that error; the platform will keep restarting it until then.",
        (
            C(
                "crash",
                ("PM05",),
                "The process crashed (exit status 1 on 6e82); the lines just before it show why.",
                quote=("Error: Cannot find module 'express'",),
            ),
            C(
                "machine-not-starting",
                ("PM05",),
                "The proxy cannot reach a machine because the machine itself keeps exiting: look at its own exit (fly logs -i <machine>) rather than at the proxy.",
            ),
        ),
    ),
    (
        "fly-pr04-after-a-clean-exit",
        fly(
            "app[6e82] iad [info]Main child exited normally with code: 0",
            "proxy[6e82] iad [error][PR04] could not find a good candidate within 21 attempts at load balancing",
        ),
        "PR04",
        "app",
        "The proxy cannot reach a machine because the machine itself keeps exiting: look at its own exit (fly logs -i <machine>) rather than at the proxy.",
        (
            C(
                "machine-not-starting",
                ("PR04",),
                "The proxy cannot reach a machine because the machine itself keeps exiting: look at its own exit (fly logs -i <machine>) rather than at the proxy.",
            ),
        ),
    ),
    (
        "fly-pr04-after-restarts-ran-out",
        fly(
            "runner[6e82] iad [info]machine has reached its max restart count of 10",
            "proxy[6e82] iad [error][PR04] could not find a good candidate within 21 attempts at load balancing",
        ),
        "crash",
        "app",
        "The process exits on its own, usually at start-up: the lines just before the exit say why (a missing module, a bad command, a missing environment variable). Fix that error; the platform will keep restarting it until then.",
        (
            C(
                "machine-not-starting",
                ("PR04",),
                "The proxy cannot reach a machine because the machine itself keeps exiting: look at its own exit (fly logs -i <machine>) rather than at the proxy.",
            ),
        ),
    ),
    (
        "fly-pr04-machine-fine",
        fly(
            "app[6e82] iad [info]Listening on [::]:8080",
            "proxy[6e82] iad [error][PR04] could not find a good candidate within 21 attempts at load balancing",
        ),
        "PR04",
        "app",
        "Same situation as PR03: the proxy ran out of load-balancing attempts without finding a machine for the request, but this variant does not say what failed last. First fix: Check `fly status` and `fly checks list` for unhealthy or stopped machines.",
        (),
    ),
    (
        "server-timeout-h18",
        paste(
            "app[web.1]: [3] ! Terminating timed out worker 12", r("H18", service=100, extra=" sock=backend")
        ),
        "H18",
        "app",
        "The web server kills workers that run too long, and the router then sees the connection closed without a response (H13) — the server's timeout is below the router's 30 s. Fix the slow requests; keep the app's own timeout (e.g. rack-timeout, gunicorn --timeout) just under 30 s so it fails cleanly.",
        (
            C(
                "server-timeout",
                ("H18",),
                "The web server kills workers that run too long, and the router then sees the connection closed without a response (H13) — the server's timeout is below the router's 30 s. Fix the slow requests; keep the app's own timeout (e.g. rack-timeout, gunicorn --timeout) just under 30 s so it fails cleanly.",
                quote=("2024-05-14T09:11:00+00:00 app[web.1]: [3] ! Terminating timed out worker 12",),
            ),
            C(
                "backend-closed",
                ("H18",),
                "1 H18 with sock=backend: your dyno closed the socket mid-request — look for crashes or killed workers.",
            ),
        ),
    ),
    (
        "server-timeout-h12",
        paste("app[web.1]: [3] ! Terminating timed out worker 12", r("H12", service=1000)),
        "H12",
        "app",
        "The web server kills workers that run too long, and the router then sees the connection closed without a response (H13) — the server's timeout is below the router's 30 s. Fix the slow requests; keep the app's own timeout (e.g. rack-timeout, gunicorn --timeout) just under 30 s so it fails cleanly.",
        (
            C(
                "server-timeout",
                ("H12",),
                "The web server kills workers that run too long, and the router then sees the connection closed without a response (H13) — the server's timeout is below the router's 30 s. Fix the slow requests; keep the app's own timeout (e.g. rack-timeout, gunicorn --timeout) just under 30 s so it fails cleanly.",
                quote=("2024-05-14T09:11:00+00:00 app[web.1]: [3] ! Terminating timed out worker 12",),
            ),
        ),
    ),
    (
        "slow-without-paths",
        paste(
            'heroku[router]: at=error code=H12 desc="Request timeout" method=GET host=a.io dyno=web.1 service=30000ms status=503'
        ),
        "H12",
        "app",
        "Requests ran into the router's 30-second limit; slowest endpoints: (no paths logged). Profile them, add indexes or move the work to a background job.",
        (
            C(
                "slow-endpoints",
                ("H12",),
                "Requests ran into the router's 30-second limit; slowest endpoints: (no paths logged). Profile them, add indexes or move the work to a background job.",
            ),
        ),
    ),
    (
        "crash-by-state-only",
        paste(
            "app[web.1]: LoadError: cannot load such file",
            "heroku[web.1]: State changed from starting to crashed",
        ),
        "crash",
        "app",
        "The process exits on its own, usually at start-up: the lines just before the exit say why (a missing module, a bad command, a missing environment variable). Fix that error; the platform will keep restarting it until then.",
        (
            C(
                "crash",
                ("crash",),
                "The process crashed (state changed to crashed on web.1); the lines just before it show why.",
                quote=("LoadError: cannot load such file",),
            ),
        ),
    ),
    (
        "crash-after-an-explained-kill",
        paste(
            "heroku[web.2]: Error R15 (Memory quota vastly exceeded)",
            "heroku[web.2]: Process exited with status 137",
            "app[web.1]: KeyError: x",
            "heroku[web.1]: Process exited with status 1",
        ),
        "R15",
        "app",
        "Memory pressure on web.2, with exit 137 on the same dyno — a dyno or machine that swaps or is killed for memory answers slowly or not at all. Memory is the root cause; the others are symptoms.",
        (
            C(
                "memory",
                ("R15",),
                "Memory pressure on web.2, with exit 137 on the same dyno — a dyno or machine that swaps or is killed for memory answers slowly or not at all. Memory is the root cause; the others are symptoms.",
            ),
            C(
                "crash",
                ("crash",),
                "The process crashed (exit status 1 on web.1); the lines just before it show why.",
                quote=("KeyError: x",),
            ),
        ),
    ),
    (
        "crash-after-one-with-nothing-to-quote",
        paste(
            "heroku[web.1]: Process exited with status 1",
            "app[web.1]: Boom",
            "heroku[web.1]: Process exited with status 1",
        ),
        "crash",
        "app",
        "The process exits on its own, usually at start-up: the lines just before the exit say why (a missing module, a bad command, a missing environment variable). Fix that error; the platform will keep restarting it until then.",
        (
            C(
                "crash",
                ("crash",),
                "The process crashed (exit status 1 on web.1); the lines just before it show why.",
                quote=("Boom",),
            ),
        ),
    ),
    (
        "crash-without-a-dyno",
        paste("app[web.1]: KeyError: x", "Process exited with status 1"),
        "crash",
        "app",
        "The process exits on its own, usually at start-up: the lines just before the exit say why (a missing module, a bad command, a missing environment variable). Fix that error; the platform will keep restarting it until then.",
        (
            C(
                "crash",
                ("crash",),
                "The process crashed (exit status 1); the lines just before it show why.",
                quote=("KeyError: x",),
            ),
        ),
    ),
    (
        "crash-quotes-the-last-three-errors",
        paste(
            "app[web.1]: ValueError: a",
            "app[web.1]: ValueError: b",
            "app[web.1]: GET /",
            "app[web.1]: ValueError: c",
            "app[web.1]: ValueError: d",
            "heroku[web.1]: Process exited with status 1",
        ),
        "crash",
        "app",
        "The process exits on its own, usually at start-up: the lines just before the exit say why (a missing module, a bad command, a missing environment variable). Fix that error; the platform will keep restarting it until then.",
        (
            C(
                "crash",
                ("crash",),
                "The process crashed (exit status 1 on web.1); the lines just before it show why.",
                quote=("ValueError: b", "ValueError: c", "ValueError: d"),
            ),
        ),
    ),
    (
        "crash-quotes-the-last-three-lines",
        paste(
            "app[web.1]: one",
            "app[web.1]: two",
            "app[web.1]: three",
            "app[web.1]: four",
            "heroku[web.1]: Process exited with status 1",
        ),
        "crash",
        "app",
        "The process exits on its own, usually at start-up: the lines just before the exit say why (a missing module, a bad command, a missing environment variable). Fix that error; the platform will keep restarting it until then.",
        (
            C(
                "crash",
                ("crash",),
                "The process crashed (exit status 1 on web.1); the lines just before it show why.",
                quote=("two", "three", "four"),
            ),
        ),
    ),
    (
        "crash-quote-cut-at-300",
        paste("app[web.1]: ValueError: " + "v" * 400, "heroku[web.1]: Process exited with status 1"),
        "crash",
        "app",
        "The process exits on its own, usually at start-up: the lines just before the exit say why (a missing module, a bad command, a missing environment variable). Fix that error; the platform will keep restarting it until then.",
        (
            C(
                "crash",
                ("crash",),
                "The process crashed (exit status 1 on web.1); the lines just before it show why.",
                quote=(
                    "ValueError: vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",
                ),
            ),
        ),
    ),
    (
        "crash-then-capacity",
        paste(
            "app[web.1]: ValueError: a", "heroku[web.1]: Process exited with status 1", r("H11", service=0)
        ),
        "H11",
        "app",
        "More traffic than the running dynos or machines can take: scale out (heroku ps:scale web=N / fly scale count N), raise concurrency limits, and make the slow requests faster.",
        (
            C(
                "crash",
                ("crash",),
                "The process crashed (exit status 1 on web.1); the lines just before it show why.",
                quote=("ValueError: a",),
            ),
            C(
                "capacity",
                ("H11",),
                "More traffic than the running dynos or machines can take: scale out (heroku ps:scale web=N / fly scale count N), raise concurrency limits, and make the slow requests faster.",
            ),
        ),
    ),
]


@pytest.mark.parametrize(
    "name, text, root, blame, why, correlations", CORRELATIONS_2, ids=[c[0] for c in CORRELATIONS_2]
)
def test_more_correlation_rules_and_what_leads(kb, name, text, root, blame, why, correlations):
    d = diagnose(text, kb)
    assert d.correlations == correlations
    assert (d.root, d.blame, d.primary.why) == (root, blame, why)


def test_the_primary_says_why_from_its_rule_or_its_entry(kb):
    d = diagnose(
        paste(r("H99", service=0), r("H12"), r("H12")), kb
    )  # the platform's code yields to the app's
    assert d.primary.why.startswith("Requests ran into the router's 30-second limit")
    d = diagnose('{"error": {"message": "weird thing"}}', kb)
    assert (d.root, d.primary.why) == ("API error", "weird thing")


def test_observations_edges(kb):
    assert (
        diagnose(paste("heroku[web.1]: Process exited"), kb).observations == ()
    )  # no status, nothing to say
    d = diagnose("ValueError: " + "v" * 300, kb)  # an exception pasted on its own line
    assert d.observations == ("The app logged 1 error line(s), e.g.: ValueError: " + "v" * 188,)
    d = diagnose(
        paste(
            "heroku[web.1]: Process running mem=550M(107.4%)",
            "heroku[web.2]: Process running mem=600M(117.2%)",
        ),
        kb,
    )
    assert d.observations == ("Memory peaked at 117.2% of quota (600 MB) on web.2.",)


def test_a_long_failure_line_is_quoted_to_160_characters_in_the_summary(kb):
    line = "[  412.338210] Out of memory: Killed process 513 (node) " + "n" * 300
    d = diagnose(line, kb)
    assert (
        d.summary
        == f"No platform error code in 1 line(s), but the paste shows the out-of-memory kill: “{line[:160]}”."
    )


def test_memory_pressure_is_apart_only_from_slow_or_failed_requests_elsewhere(kb):
    d = diagnose(paste("heroku[web.1]: Error R14 (Memory quota exceeded)", r("H80", service=0)), kb)
    [memory] = [c for c in d.correlations if c.cause == "memory"]
    assert memory.text == "Memory pressure on web.1: the process is using more memory than its size allows."
    assert memory.root is True
