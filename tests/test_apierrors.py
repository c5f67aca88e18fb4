"""JSON error bodies and `curl -i` output."""

from __future__ import annotations

import pytest

from bot.apierrors import find_api_errors, find_json_objects


@pytest.mark.parametrize(
    "text, api, status, type_, code",
    [
        (
            '{"error": {"code": 429, "message": "Too many requests", "type": "rate_limit_error"}}',
            "heroku-ai",
            429,
            "rate_limit_error",
            None,
        ),
        (
            '{"code": 401, "message": "Invalid API key", "type": "authentication_error"}',
            "heroku-ai",
            401,
            "authentication_error",
            None,
        ),
        (
            '{"id": "rate_limit", "message": "Your account reached the API rate limit"}',
            "heroku-platform",
            None,
            None,
            "rate_limit",
        ),
        (
            '{"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "param": null, '
            '"code": "insufficient_quota"}}',
            "openai",
            None,
            "insufficient_quota",
            "insufficient_quota",
        ),
        (
            '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            "anthropic",
            None,
            "overloaded_error",
            None,
        ),
        (
            '{"status": 404, "type": "not_found", "detail": "no such thing"}',
            "heroku-ai",
            404,
            "not_found",
            None,
        ),
    ],
)
def test_bodies(text, api, status, type_, code):
    [error] = find_api_errors(text)
    assert (error.api, error.status, error.type, error.code) == (api, status, type_, code)
    assert error.message


def test_curl_output_with_status_line_and_rate_limit_headers():
    text = (
        "HTTP/2 429\r\ncontent-type: application/json\r\nretry-after: 12\r\n"
        "x-ratelimit-remaining-requests: 0\r\nx-ratelimit-limit-requests: 150\r\n\r\n"
        '{"error": {"code": 429, "message": "slow down", "type": "rate_limit_error"}}'
    )
    [error] = find_api_errors(text)
    assert error.status == 429 and error.line_status == 429
    assert error.retry_after == "12"
    assert error.headers["x-ratelimit-remaining-requests"] == "0"
    assert error.disagreement is None


def test_type_and_status_disagree_and_we_say_which_to_believe():
    [error] = find_api_errors('{"code": 500, "message": "limit", "type": "rate_limit_error"}')
    assert "believe the type" in error.disagreement
    text = 'HTTP/1.1 503 Service Unavailable\n\n{"code": 429, "message": "x", "type": "rate_limit_error"}'
    [error] = find_api_errors(text)
    assert (
        "status line says 503 but the body says 429 (rate_limit_error); believe the body"
        in error.disagreement
    )


def test_status_line_alone_is_an_error():
    [error] = find_api_errors("< HTTP/1.1 502 Bad Gateway\n< server: nginx\n")
    assert error.status == 502 and error.type is None


@pytest.mark.parametrize(
    "text",
    [
        '{"ok": true}',
        '{"code": 200, "type": "success"}',
        "{not json",
        "{" * 5000,
        '{"error": null}',
        "[1, 2, 3]",
        '{"type": "has spaces in it"}',
    ],
)
def test_non_errors_and_malformed_json_are_not_errors(text):
    assert find_api_errors(text) == []


def test_several_bodies_between_other_lines():
    text = (
        'log line\n{"error": {"code": 400, "type": "invalid_request_error", "message": "a"}}\nmore\n'
        '{"error": {"code": 503, "type": "server_error", "message": "b"}}'
    )
    assert [o["error"]["code"] for o in find_json_objects(text)] == [400, 503]


def test_absurdly_deep_nesting_is_not_an_error_and_not_a_crash():
    assert find_api_errors('{"error": ' * 5000) == []


def test_platform_api_ids_have_knowledge_entries(kb):
    for code in ("rate_limit", "unauthorized", "forbidden", "not_found", "delinquent", "invalid_params"):
        assert kb.get(code).platform == "heroku" and kb.get(code).kind == "api"
