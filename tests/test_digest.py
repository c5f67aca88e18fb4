"""Digests: from tallies with known counts, and straight from log files (checked against independent counts)."""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from clirun import dynodoc

from bot import logs
from bot.digest import (
    CHUNK,
    HOUR,
    Tally,
    build_digest,
    hour_of,
    percentile,
    sparkline,
    tally_log_file,
    tally_log_path,
)
from bot.render.text import render_digest

END = datetime(2024, 5, 15, 9, tzinfo=UTC)


def router(
    t: datetime,
    code: str | None = None,
    path: str = "/x",
    dyno: str = "web.1",
    service: int = 120,
    status: int = 200,
) -> str:
    ts = t.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    if code is None:
        return (
            f'{ts} heroku[router]: at=info method=GET path="{path}" host=a.herokuapp.com request_id=r1 '
            f'fwd="203.0.113.1" dyno={dyno} connect=1ms service={service}ms status={status} bytes=10 '
            f"protocol=https"
        )
    return (
        f'{ts} heroku[router]: at=error code={code} desc="Some error" method=GET path="{path}" '
        f'host=a.herokuapp.com request_id=r2 fwd="203.0.113.1" dyno={dyno} connect=1ms service={service}ms '
        f"status=503 bytes=0 protocol=https"
    )


def generated_log(n: int, seed: int = 11) -> list[str]:
    """Four days of mixed lines, with some codes only in the last day."""
    rnd = random.Random(seed)
    start = END - timedelta(days=4)
    out = []
    for i in range(n):
        t = start + timedelta(days=4) * i / n
        r = rnd.random()
        dyno = f"web.{rnd.randint(1, 3)}"
        path = f"/orders/{rnd.randint(1, 500)}" if rnd.random() < 0.5 else "/search"
        if r < 0.9:
            out.append(
                router(
                    t,
                    service=rnd.randint(5, 3000),
                    dyno=dyno,
                    path=path,
                    status=rnd.choice([200, 200, 200, 500]),
                )
            )
        elif r < 0.95:
            out.append(router(t, "H12", path, dyno, 30000))
        elif r < 0.97:
            out.append(
                f"{t.strftime('%Y-%m-%dT%H:%M:%S.%f+00:00')} heroku[{dyno}]: Error R14 (Memory quota exceeded)"
            )
        elif r < 0.98 and t > END - timedelta(days=1):
            out.append(router(t, "H18", path, dyno, 88))
        elif r < 0.99:
            out.append(
                f"{t.strftime('%Y-%m-%dT%H:%M:%S.%f+00:00')} app[{dyno}]: Completed 200 OK code=H12 in app text"
            )
        elif r < 0.997:
            out.append(
                f"{t.strftime('%Y-%m-%dT%H:%M:%S.%f+00:00')} heroku[{dyno}]: Process running mem=530M(103.5%)"
            )
        else:  # the hour pool used up: a code the line does not print
            out.append(
                f"{t.strftime('%Y-%m-%dT%H:%M:%S.%f+00:00')} heroku[{dyno}]: Idling because quota is exhausted"
            )
    return out


def reference_counts(lines: list[str]) -> tuple[Counter, int]:
    """Independent count: every line through the reference parser, the way diagnosis reads them."""
    codes: Counter = Counter()
    requests = 0
    for line in lines:
        event = logs.parse_line(line)
        requests += event.kind == "router"
        if event.code:
            codes[event.code] += 1
    return codes, requests


def test_file_tally_matches_the_reference_parser(tmp_path):
    lines = generated_log(30_000)
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines) + "\n")
    codes, requests = reference_counts(lines)
    with path.open("rb") as fh:
        tally = tally_log_file(fh, "app")
    got: Counter = Counter()
    for (_, code), n in tally.codes.items():
        got[code] += n
    assert got == codes
    assert sum(tally.requests.values()) == requests
    assert "H12" in got and got["H12"] > 1000  # the app line mentioning code=H12 was not counted
    assert got["H82"] == sum("Idling because quota is exhausted" in line for line in lines) > 0
    assert got["H12"] == sum(1 for line in lines if "heroku[router]: at=error code=H12" in line)


def test_parallel_read_equals_single_read(tmp_path):
    lines = generated_log(20_000, seed=5)
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines) + "\n")
    one = tally_log_path(str(path), "app", workers=1)
    two = tally_log_path(str(path), "app", workers=2, parallel_min_bytes=0)
    three = tally_log_path(str(path), "app", workers=3, parallel_min_bytes=0)
    for other in (two, three):
        assert other.app == "app" and other.platform == one.platform
        assert other.first_seen == one.first_seen and other.server_errors == one.server_errors
        assert other.raw_service == one.raw_service
        assert other.codes == one.codes
        assert other.requests == one.requests
        assert other.paths == one.paths
        assert other.places == one.places


def _tally_with(counts: dict[datetime, dict[str, int]], requests: int = 0) -> Tally:
    tally = Tally("acme-api")
    for hour, codes in counts.items():
        for code, n in codes.items():
            for _ in range(n):
                tally.add_event(hour, code, "/orders/42", "web.1")
        if requests:
            tally.requests[hour] += requests
    return tally


def test_digest_compares_with_the_previous_day_and_the_week(kb):
    day = timedelta(days=1)
    tally = _tally_with(
        {
            END - timedelta(hours=2): {"H12": 30, "R14": 4},  # last 24 h
            END - day - timedelta(hours=3): {"H12": 10},  # the day before
            END - 3 * day: {"H12": 20},  # earlier in the week
            END - 10 * day: {"R14": 1},  # long ago: R14 is not new
        },
        requests=1000,
    )
    digest = build_digest([tally], END, kb)
    app = digest.apps[0]
    stats = {s.code: s for s in app.codes}
    assert (stats["H12"].count, stats["H12"].previous) == (30, 10)
    assert stats["H12"].change == "▲200%"
    assert stats["R14"].new is False and stats["H12"].new is False
    assert app.errors == 34 and app.previous_errors == 10
    assert app.requests == 1000  # only the one hour inside the window had requests
    assert stats["H12"].paths == (("/orders/{id}", 30),)
    assert len(app.sparkline) == 24 and app.sparkline[-2] == "█"  # 07:00, two hours before the end
    assert stats["H12"].daily_average > 0
    assert stats["H12"].first_fix == kb.get("H12").fixes[0]


def test_codes_never_seen_before_are_new(kb):
    tally = _tally_with({END - timedelta(hours=1): {"H10": 2}, END - timedelta(days=3): {"H12": 1}})
    stats = {s.code: s for s in build_digest([tally], END, kb).apps[0].codes}
    assert stats["H10"].new and "NEW" in render_digest(build_digest([tally], END, kb))


def test_apps_are_ordered_by_trouble_and_quiet_apps_get_one_line(kb):
    calm = Tally("calm-app", platform="fly")
    noisy = _tally_with({END - timedelta(hours=1): {"H10": 40}})
    broken = Tally("broken-app", poll_error="HEROKU_API_KEY was rejected (401 unauthorized)")
    digest = build_digest([calm, noisy, broken], END, kb)
    assert [a.app for a in digest.apps] == ["broken-app", "acme-api", "calm-app"]
    text = render_digest(digest)
    assert "✅ calm-app (fly) — no errors in the last 24 h" in text
    assert "polling failed: HEROKU_API_KEY was rejected (401 unauthorized)" in text


def test_p95_and_sparkline_helpers():
    assert percentile(Counter(), 0.95) is None
    hist = Counter({0: 90, 11: 5, 21: 5})  # 90 under 10 ms, 5 at ~1 s, 5 at 30 s
    assert percentile(hist, 0.95) == 1000 and percentile(hist, 0.5) == 10
    assert sparkline([0, 1, 2, 4, 8]) == "▁▂▃▅█" and sparkline([0, 0]) == "▁▁"


@pytest.mark.parametrize("compress", [False, True])
def test_cli_digest_from_file_json_counts_match_an_independent_count(tmp_path, compress):
    lines = generated_log(12_000, seed=9)
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / ("acme.log.gz" if compress else "acme.log")
    path.write_bytes(gzip.compress(data) if compress else data)
    result = dynodoc("digest", "--from", str(path), "--json")
    assert result.returncode == 0, result.stderr
    app = json.loads(result.stdout)["apps"][0]
    assert app["app"] == "acme"
    independent = Counter(
        re.findall(r"heroku\[router\]: at=error code=(H\d\d)|heroku\[web\.\d\]: Error (R\d\d)", data.decode())
    )
    expected = Counter({a or b: n for (a, b), n in independent.items()})
    expected["H82"] = data.decode().count("]: Idling because quota is exhausted")  # the hour pool used up
    assert app["file"]["codes"] == dict(sorted(expected.items()))
    # The window is the last 24 h before the newest line: H18 only occurs there.
    assert app["codes"]["H18"] == app["file"]["codes"]["H18"]
    assert app["codes"]["H12"] < app["file"]["codes"]["H12"]


def test_cli_digest_from_stdin_prints_the_report():
    lines = generated_log(3000, seed=2)
    result = dynodoc("digest", "--from", "-", "--app", "acme-api", stdin=("\n".join(lines) + "\n").encode())
    assert result.returncode == 0, result.stderr
    assert "acme-api (heroku) —" in result.stdout and "errors per hour:" in result.stdout
    assert "H12 ×" in result.stdout and "first fix:" in result.stdout


@pytest.mark.parametrize("data", [b"", b"no timestamps here\n", b"\x00\xff" * 1000])
def test_cli_digest_from_a_file_with_no_log_lines_says_so(tmp_path, data):
    path = tmp_path / "empty.log"
    path.write_bytes(data)
    result = dynodoc("digest", "--from", str(path))
    assert result.returncode == 2
    assert "no timestamped Heroku or Fly.io log lines" in result.stderr and "Traceback" not in result.stderr


def test_the_daily_average_divides_by_the_days_of_history_there_are(kb):
    day = timedelta(days=1)
    start = END - day
    # Two days of history before the window: 6 + 8 H12 in them is 7 a day, not 2 (14 / 7).
    young = _tally_with(
        {
            start - timedelta(hours=30): {"H12": 6},
            start - timedelta(hours=3): {"H12": 8},
            END - timedelta(hours=1): {"H12": 1},
        }
    )
    [stat] = build_digest([young], END, kb).apps[0].codes
    assert stat.daily_average == 7.0
    # With more than a week of history the average is over the 7 days before the window.
    old = _tally_with(
        {
            start - 9 * day: {"R14": 1},
            start - timedelta(hours=3): {"H12": 14},
            END - timedelta(hours=1): {"H12": 1},
        }
    )
    stats = {s.code: s for s in build_digest([old], END, kb).apps[0].codes}
    assert stats["H12"].daily_average == 2.0
    # A code first seen inside the window has no history: its average is 0, whatever came before it.
    fresh = _tally_with({END - timedelta(hours=1): {"H10": 3}})
    [stat] = build_digest([fresh], END, kb).apps[0].codes
    assert (stat.daily_average, stat.previous, stat.new) == (0.0, 0, True)


def h10(t: datetime) -> str:
    """A real H10: the router had no dyno to send the request to, so `dyno=` and the timings are empty."""
    return (
        f'{t.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")} heroku[router]: at=error code=H10 desc="App crashed" '
        f'method=GET path="/" host=myapp.herokuapp.com request_id=a1b2 fwd="203.0.113.9" dyno= connect= '
        f"service= status=503 bytes= protocol=https"
    )


def _file_tally(lines: list[str]) -> Tally:
    import io

    return tally_log_file(io.BytesIO(("\n".join(lines) + "\n").encode()), "app")


def test_h10_lines_with_an_empty_dyno_are_counted_from_a_file():
    t = END - timedelta(hours=2)
    lines = [
        router(t),
        h10(t + timedelta(seconds=1)),
        h10(t + timedelta(seconds=2)),
        router(t + timedelta(seconds=3)),
    ]
    tally = _file_tally(lines)
    assert tally.codes == Counter({(hour_of(t), "H10"): 2})
    assert tally.paths == Counter({(hour_of(t), "H10", "/"): 2})
    assert tally.places == Counter()  # no dyno served them
    assert tally.requests == Counter({hour_of(t): 4})
    assert tally.server_errors == Counter({hour_of(t): 2})


def test_every_5xx_status_counts_as_a_server_error_500_included():
    t = END - timedelta(hours=3)
    statuses = [200, 404, 499, 500, 502, 503, 301]
    lines = [router(t + timedelta(seconds=i), status=s) for i, s in enumerate(statuses)]
    tally = _file_tally(lines)
    assert tally.server_errors == Counter({hour_of(t): 3})
    assert tally.requests == Counter({hour_of(t): 7})


def test_a_digest_that_ends_inside_an_hour_takes_in_the_hour_under_way(kb):
    late = END + timedelta(minutes=40)  # 09:40: the hour 09:00-10:00 is under way
    # Two H12 in the hour under way, one at 09:30 the day before (in the previous 24 h of this window).
    tally = _tally_with(
        {END + timedelta(minutes=20): {"H12": 2}, END - timedelta(hours=23, minutes=30): {"H12": 1}}
    )
    digest = build_digest([tally], late, kb)
    assert (digest.start, digest.end) == (
        END + timedelta(hours=1) - timedelta(days=1),
        END + timedelta(hours=1),
    )
    [stat] = digest.apps[0].codes
    assert (stat.count, stat.previous) == (2, 1)
    assert digest.apps[0].sparkline[-1] == "█"
    # On the hour, the window ends there.
    assert build_digest([tally], END, kb).end == END


FLY_LOG = """2024-05-15T07:10:00Z proxy[6e82] iad [error][PC01] instance refused connection. is your app listening on 0.0.0.0:8080?
2024-05-15T07:20:00Z proxy[6e82] iad [error][PC01] instance refused connection
2024-05-15T07:30:00Z proxy[9a1b] ams [error][PR04] could not find a good candidate within 21 attempts at load balancing
2024-05-15T07:40:00Z app[6e82] iad [info]listening on 0.0.0.0:8080
[PC01] instance refused connection, pasted without its time
2024-05-15T08:05:00Z proxy[6e82] iad [error][PC01] instance refused connection"""


def test_a_fly_log_file_is_read_line_by_line_through_the_parser():
    tally = _file_tally(FLY_LOG.splitlines())
    seven, eight = datetime(2024, 5, 15, 7, tzinfo=UTC), datetime(2024, 5, 15, 8, tzinfo=UTC)
    assert tally.platform == "fly"
    assert tally.codes == Counter(
        {(seven, "PC01"): 2, (seven, "PR04"): 1, (eight, "PC01"): 1}
    )  # no time: left out
    assert tally.places == Counter(
        {(seven, "PC01", "6e82"): 2, (seven, "PR04", "9a1b"): 1, (eight, "PC01", "6e82"): 1}
    )
    assert tally.first_seen == {"PC01": seven.replace(minute=10), "PR04": seven.replace(minute=30)}
    assert tally.requests == Counter()  # proxy errors are not router requests
    # The last line has no newline after it and still counts.
    assert _file_tally_bytes(FLY_LOG.encode()).codes == tally.codes


def _file_tally_bytes(data: bytes) -> Tally:
    import io

    return tally_log_file(io.BytesIO(data), "app")


def test_a_line_with_two_marks_is_counted_once():
    t = END - timedelta(hours=1)
    line = f"{t.strftime('%Y-%m-%dT%H:%M:%S.%f+00:00')} heroku[web.1]: Error R14 (Memory quota exceeded) after Error R14"
    tally = _file_tally([router(t), line])
    assert tally.codes == Counter({(hour_of(t), "R14"): 1})
    assert tally.places == Counter({(hour_of(t), "R14", "web.1"): 1})


def test_a_digest_from_a_file_has_requests_error_rate_and_p95(kb):
    t = END - timedelta(hours=2)
    lines = [router(t + timedelta(seconds=i), service=40) for i in range(18)]
    lines += [router(t + timedelta(seconds=30), "H12", "/reports/1", "web.2", 30000)]
    lines += [router(t + timedelta(seconds=31), "H12", "/reports/2", "web.2", 30001)]
    tally = _file_tally(lines)
    assert tally.places == Counter({(hour_of(t), "H12", "web.2"): 2})
    app = build_digest([tally], END, kb).apps[0]
    assert (app.requests, app.errors, app.error_rate) == (20, 2, 0.1)
    assert app.p95_ms == 30000  # 2 of 20 at 30 s: the 95th percentile is in the last bucket
    assert app.platform == "heroku"


def test_every_code_stat_of_a_digest(kb):
    t = END - timedelta(hours=1)
    tally = Tally("acme-api")
    for i, (path, dyno) in enumerate(
        [("/a", "web.1")] * 4 + [("/b", "web.2")] * 3 + [("/c", "web.3")] * 2 + [("/d", "web.4")]
    ):
        tally.add_event(t + timedelta(seconds=i), "H12", path, dyno)
    tally.add_event(t, "X99")  # a code the knowledge base does not know
    tally.add_event(END - timedelta(days=1), "H13")  # exactly at the window's start: inside, and new
    digest = build_digest([tally], END, kb)
    h12, h13, x99 = sorted(digest.apps[0].codes, key=lambda s: s.code)
    assert [s.code for s in digest.apps[0].codes] == ["H12", "H13", "X99"]  # most first, then by code
    entry = kb.get("H12")
    assert (h12.count, h12.title, h12.severity, h12.first_fix) == (
        10,
        entry.title,
        entry.severity,
        entry.fixes[0],
    )
    assert h12.meaning == entry.summary.split(". ")[0].rstrip(".") + "."
    assert h12.paths == (("/a", 4), ("/b", 3), ("/c", 2))  # the top three
    assert h12.places == (("web.1", 4), ("web.2", 3), ("web.3", 2))
    assert (x99.title, x99.meaning, x99.first_fix, x99.severity) == ("unknown code", "", "", "medium")
    assert (h13.count, h13.new) == (1, True)


def test_a_window_takes_its_start_hour_and_not_its_end_hour(kb):
    tally = _tally_with(
        {END - timedelta(days=1): {"H12": 1}, END: {"H12": 5}, END - timedelta(days=2): {"H12": 2}}
    )
    [stat] = build_digest([tally], END, kb).apps[0].codes
    assert (stat.count, stat.previous) == (1, 2)


def test_percentile_edges():
    assert percentile(Counter({0: 1, 22: 1}), 1.0) == 30000  # the bucket above 30 s reports 30 s
    assert percentile(Counter({0: 1, 5: 1}), 1.0) == 150
    assert percentile(Counter({3: 1}), 0.5) == 75
    assert sparkline([0, 1]) == "▁█" and sparkline([]) == ""


def test_merging_tallies_of_one_file_keeps_the_earliest_sighting_and_the_commonest_platform():
    a, b = Tally("app"), Tally("app")
    a.add_event(END, "H12")
    b.add_event(END - timedelta(hours=5), "H12")
    b.add_event(END, "R14")
    a.service[END][3] += 2
    b.service[END][3] += 1
    b.platform_votes["fly"] += 3
    a.platform_votes["heroku"] += 1
    a.merge(b)
    assert a.first_seen == {"H12": END - timedelta(hours=5), "R14": END}
    assert a.codes == Counter({(END, "H12"): 1, (END - timedelta(hours=5), "H12"): 1, (END, "R14"): 1})
    assert a.service[END] == Counter({3: 3}) and a.platform == "fly"


def test_reading_a_file_reports_progress_to_the_end(tmp_path):
    path = tmp_path / "app.log"
    path.write_text("\n".join(generated_log(2000, seed=4)) + "\n")
    seen: list[float] = []
    tally = tally_log_path(str(path), "app", progress=seen.append, workers=1)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    assert tally.app == "app" and sum(tally.requests.values()) > 1000
    parallel: list[float] = []
    tally_log_path(str(path), "app", progress=parallel.append, workers=2, parallel_min_bytes=0)
    assert parallel == sorted(parallel) and all(0 <= p <= 1 for p in parallel)


@pytest.mark.parametrize(
    "head", ["=== acme-api logs (heroku logs -n 1500)", "", "Mar 14 02:11:09 shop-prod app/web.1: hi"]
)
def test_a_line_without_a_time_before_the_log_hides_none_of_its_requests(head):
    lines = generated_log(3000, seed=6)
    plain = _file_tally(lines)
    headed = _file_tally([head, *lines])
    assert sum(plain.requests.values()) > 2500
    assert headed.requests == plain.requests
    assert headed.server_errors == plain.server_errors
    assert headed.raw_service == plain.raw_service
    assert headed.codes == plain.codes


def test_router_lines_read_through_the_parser_count_500_as_a_5xx():
    # Lines that do not start with their time (quoted here) go through the parser, error lines only.
    t = END - timedelta(hours=3)
    lines = [
        "> " + router(t, "H13").replace("status=503", "status=500"),
        "> " + router(t + timedelta(seconds=1), "H12"),
        "> " + router(t + timedelta(seconds=2), "H27").replace("status=503", "status=499"),
    ]
    tally = _file_tally(lines)
    assert tally.requests == Counter({hour_of(t): 3})
    assert tally.server_errors == Counter({hour_of(t): 2})
    assert tally.paths == Counter({(hour_of(t), code, "/x"): 1 for code in ("H13", "H12", "H27")})
    assert tally.service[hour_of(t)] == Counter({5: 3})  # 120 ms each


def test_the_daily_average_window_and_its_shortest_history(kb):
    start = END - timedelta(days=1)
    # 3 hours of history before the window count as one day; a week and a half back is outside the week.
    tally = _tally_with(
        {
            start - timedelta(hours=3): {"H12": 4},
            start - timedelta(days=7, hours=12): {"R14": 9},
            END - timedelta(hours=1): {"H12": 1, "R14": 1},
        }
    )
    stats = {s.code: s for s in build_digest([tally], END, kb).apps[0].codes}
    assert stats["H12"].daily_average == 4 / 7  # 7.5 days of history in all: the 7-day average
    assert stats["R14"].daily_average == 0.0
    short = _tally_with({start - timedelta(hours=3): {"H12": 4}, END - timedelta(hours=1): {"H12": 1}})
    [stat] = build_digest([short], END, kb).apps[0].codes
    assert stat.daily_average == 4.0  # under a day of history is one day


def test_each_code_lists_only_its_own_places_and_a_one_sentence_meaning_keeps_one_full_stop(kb):
    t = END - timedelta(hours=1)
    tally = Tally("acme-api")
    tally.add_event(t, "H12", "/a", "web.1")
    tally.add_event(t, "L13", None, "web.2")
    stats = {s.code: s for s in build_digest([tally], END).apps[0].codes}  # the shipped knowledge base
    assert stats["H12"].places == (("web.1", 1),) and stats["L13"].places == (("web.2", 1),)
    assert stats["L13"].meaning == kb.get("L13").summary and stats["L13"].meaning.endswith(".")
    assert not stats["L13"].meaning.endswith("..")


def test_service_times_of_the_window_only_make_its_p95(kb):
    t = END - timedelta(hours=2)
    # 18 requests at 30 ms and 1 at 40 ms share a bucket; with one at 30 s the 95th percentile is 50 ms.
    lines = [router(t + timedelta(seconds=i), service=30) for i in range(18)]
    lines += [router(t + timedelta(seconds=20), service=40), router(t + timedelta(seconds=21), service=30000)]
    lines += [router(END + timedelta(minutes=5), service=30000)] * 5  # after the window
    lines += [router(END - timedelta(days=1, minutes=5), service=30000)] * 5  # before it
    app = build_digest([_file_tally(lines)], END, kb).apps[0]
    assert (app.requests, app.p95_ms) == (20, 50)


def test_a_digest_carries_the_polling_coverage_of_its_tally(kb):
    gap = (END - timedelta(hours=3), END - timedelta(hours=2))
    tally = Tally("acme-api", polls_expected=288, polls_done=280, gaps=[gap], poll_error=None)
    app = build_digest([tally], END, kb).apps[0]
    assert (app.polls_expected, app.polls_done, app.gaps, app.poll_error) == (288, 280, (gap,), None)
    assert app.healthy and app.error_rate is None and app.p95_ms is None


def test_an_untimed_line_in_the_middle_of_a_router_log_changes_no_count():
    lines = generated_log(3000, seed=8)
    with_trace = lines[:1500] + ["    at Object.<anonymous> (/app/server.js:12:3)"] + lines[1500:]
    plain, traced = _file_tally(lines), _file_tally(with_trace)
    assert traced.requests == plain.requests and traced.codes == plain.codes
    assert traced.raw_service == plain.raw_service


def test_bytes_that_are_not_utf8_are_replaced_and_the_line_still_counts():
    t = END - timedelta(hours=2)
    ts = t.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    data = (
        router(t, "H12", path="/caf\udcff", dyno="web.\udcfe").encode("utf-8", "surrogateescape")
        + b"\n"
        + f"{ts} heroku[web.1]: Error R14 (Memory quota exceeded) \xff".encode("latin-1")
        + b"\n"
    )
    tally = _file_tally_bytes(data)
    h = hour_of(t)
    assert tally.codes == Counter({(h, "H12"): 1, (h, "R14"): 1})
    assert tally.paths == Counter({(h, "H12", "/caf\ufffd"): 1})
    assert tally.places == Counter({(h, "H12", "web.\ufffd"): 1, (h, "R14", "web.1"): 1})
    fly = _file_tally_bytes(
        b"2024-05-15T07:10:00Z proxy[6e82] iad [error][PC01] instance refused connection \xfe\n"
    )
    assert fly.codes == Counter({(datetime(2024, 5, 15, 7, tzinfo=UTC), "PC01"): 1})


def test_a_file_of_both_platforms_is_named_after_the_one_with_more_lines():
    lines = [
        "2024-05-15T07:00:00Z heroku[web.1]: Error R14 (Memory quota exceeded)",
        *[
            f"2024-05-15T07:1{i}:00Z proxy[6e82] iad [error][PC01] instance refused connection"
            for i in range(3)
        ],
    ]
    assert _file_tally(["# mixed export", *lines]).platform == "fly"
    heroku = [router(END - timedelta(hours=h)) for h in range(3, 0, -1)]
    fly_line = (END - timedelta(hours=3)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    ) + " proxy[6e82] iad [error][PC01] instance refused connection"
    assert (
        _file_tally([fly_line, *heroku]).platform == "heroku"
    )  # three hours of router requests, one Fly line


def test_a_router_log_with_indented_and_router_free_hours_counts_every_marked_line():
    t = END - timedelta(hours=5)
    ts = lambda d: (t + d).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")  # noqa: E731
    lines = [
        router(t),
        router(t + timedelta(minutes=1), "H12", "/a/1", "web.2", 30000),
        f"    {ts(timedelta(minutes=2))} heroku[web.1]: Error R14 (Memory quota exceeded)",  # indented
        f"{ts(timedelta(hours=1))} heroku[web.3]: Error R15 (Memory quota vastly exceeded)",  # an hour with no router line
        router(t + timedelta(hours=2)),
        f"{ts(timedelta(hours=2, minutes=1))} heroku[web.1]: Error R14",  # the last line, no newline after it
    ]
    import io

    tally = tally_log_file(io.BytesIO("\n".join(lines).encode()), "app")
    h = hour_of(t)
    assert tally.codes == Counter(
        {(h, "H12"): 1, (h, "R14"): 1, (h + HOUR, "R15"): 1, (h + 2 * HOUR, "R14"): 1}
    )
    assert tally.places[h, "H12", "web.2"] == 1 and tally.places[h + HOUR, "R15", "web.3"] == 1
    assert tally.requests == Counter({h: 2, h + 2 * HOUR: 1})


def test_progress_runs_to_the_end_across_chunks(tmp_path):
    path = tmp_path / "big.log"
    path.write_text("\n".join(generated_log(12_000, seed=4)) + "\n")
    assert path.stat().st_size > CHUNK  # more than one chunk
    seen: list[float] = []
    tally_log_path(str(path), "app", progress=seen.append, workers=1)
    assert len(seen) > 1 and seen[-1] == 1.0 and seen == sorted(seen)


def test_an_event_inside_an_hour_shows_in_that_hours_sparkline(kb):
    tally = Tally("acme-api")
    tally.add_event(END - timedelta(minutes=30, microseconds=5), "H12")
    app = build_digest([tally], END, kb).apps[0]
    assert app.sparkline[-1] == "█" and app.sparkline[:-1] == "▁" * 23
