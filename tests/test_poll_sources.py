"""The platform clients' small parts: stream readers, error mapping, backoff (httpx.MockTransport, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bot.sources._http import RetryPolicy, error_detail, retry_after
from bot.sources.errors import AppNotFound, RateLimited, SourceError, SourceUnavailable, TokenRejected
from bot.sources.heroku import HerokuLogs, sse_lines, text_lines

KEY = "HRKU-unit0test0key0000000000000000000"


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 3, 17, 4096])
def test_sse_lines_reads_every_data_field_whatever_the_chunking(size):
    stream = (
        b": connected\r\n\r\nid: 1\nevent: message\ndata: 2026-11-24T10:00:00.000001+00:00 app[web.1]: one\n"
        b"data: 2026-11-24T10:00:00.000002+00:00 app[web.1]: two\n\n"
        b"retry: 1000\ndata:2026-11-24T10:00:01+00:00 heroku[router]: at=info status=200\r\n\r\n"
    )
    assert list(sse_lines(pieces(stream, size))) == [
        "2026-11-24T10:00:00.000001+00:00 app[web.1]: one",
        "2026-11-24T10:00:00.000002+00:00 app[web.1]: two",
        "2026-11-24T10:00:01+00:00 heroku[router]: at=info status=200",
    ]


def test_text_lines_keeps_a_last_line_without_newline_only_when_the_stream_ends_cleanly():
    assert list(text_lines([b"a\nb", b"\nc"])) == ["a", "b", "c"]

    def broken():
        yield b"first\nsecond\nthi"
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    got: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        for line in text_lines(broken()):
            got.append(line)
    assert got == ["first", "second"]


def test_text_lines_survives_bytes_that_are_not_utf8():
    assert list(text_lines([b"caf\xe9\n"])) == ["caf\ufffd"]


def heroku_with(handler) -> HerokuLogs:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return HerokuLogs(
        KEY,
        base_url="https://api.example.test",
        client=client,
        policy=RetryPolicy(base=0.001, sleep=lambda s: None),
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, TokenRejected),
        (403, TokenRejected),
        (404, AppNotFound),
        (422, SourceError),
        (429, RateLimited),
        (500, SourceUnavailable),
    ],
)
def test_api_statuses_become_named_errors(status, error):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, json={"id": "x", "message": f"status {status}"})

    with pytest.raises(error) as caught:
        heroku_with(handler).fetch("shop-api")
    assert type(caught.value) is error
    assert KEY not in str(caught.value)
    assert len(calls) == (4 if status in (429, 500) else 1)


def test_the_stream_url_gets_no_api_key_and_the_format_follows_content_type():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.example.test":
            return httpx.Response(201, json={"id": "1", "logplex_url": "https://logs.example.test/s/1?srv=9"})
        seen["auth"] = request.headers.get("authorization")
        return httpx.Response(
            200, headers={"content-type": "text/plain"}, content=b"data: not sse\nline two\n"
        )

    fetched = heroku_with(handler).fetch("shop-api")
    assert seen == {"auth": None}
    assert fetched.lines == ("data: not sse", "line two") and fetched.complete


def test_error_detail_is_bounded_and_redacted():
    body = {"id": "unauthorized", "message": "bad token Bearer abcdefghijklmnopqrstuvwxyz0123 " + "x" * 500}
    text = error_detail(httpx.Response(401, json=body))
    assert text.startswith("401 unauthorized: bad token Bearer [REDACTED]")
    assert "abcdefghijklmnop" not in text and len(text) <= 240
    assert error_detail(httpx.Response(502, content=b"<html>Bad gateway</html>")) == "HTTP 502"


def test_retry_after_reads_seconds_and_dates():
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after(httpx.Response(429, headers={"Retry-After": when})) <= 31
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None


def test_backoff_grows_with_jitter_and_stays_under_the_cap():
    policy = RetryPolicy(base=1.0, cap=8.0)
    for attempt, (low, high) in enumerate([(0.5, 1), (1, 2), (2, 4), (4, 8), (4, 8)]):
        waits = {policy.backoff(attempt) for _ in range(50)}
        assert all(low <= w <= high for w in waits) and len(waits) > 1
