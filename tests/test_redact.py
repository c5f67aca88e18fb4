"""Secrets are masked wherever they appear."""

from __future__ import annotations

import pytest

from bot.redact import MASK, redact

SECRETS = [
    ("Authorization: Bearer abcdefghijklmnopqrstuvwx0123", "abcdefghijklmnopqrstuvwx0123"),
    (
        "curl -H 'Authorization: Bearer inf-1a2b3c4d5e6f7a8b9c0d' https://us.inference.heroku.com",
        "inf-1a2b3c4d5e6f",
    ),
    ("DATABASE_URL=postgres://u1abc:s3cretpass@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8f", "s3cretpass"),
    ("token xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp", "xoxb-1234567890"),
    ("SLACK_APP_TOKEN=xapp-1-A0123-456-abcdef0123456789", "xapp-1-A0123"),
    ("INFERENCE_KEY=inf-0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f", "inf-0f9e8d7c"),
    ("OPENAI_API_KEY=sk-proj-AbCdEfGhIjKlMnOpQrStUv", "sk-proj-AbCdEf"),
    ("HEROKU_API_KEY=01234567-89ab-cdef-0123-456789abcdef", "01234567-89ab"),
    ("fly token: FlyV1 fm2_lJPECAAAAAAAA1234567890abcdefghij", "fm2_lJPECAAAAAAAA"),
    ('{"password": "hunter2hunter2"}', "hunter2hunter2"),
    ("redis://:p4ssw0rdz@redis.example.com:6379", "p4ssw0rdz"),
]


@pytest.mark.parametrize("text, secret", SECRETS)
def test_secret_is_masked(text, secret):
    result = redact(text)
    assert secret not in result.text
    assert MASK in result.text
    assert result.count >= 1


def test_plain_log_lines_are_untouched():
    line = (
        '2024-05-14T09:11:03+00:00 heroku[router]: at=error code=H12 desc="Request timeout" method=GET '
        'path="/tokens/list" host=a.herokuapp.com request_id=0d5c9f0e-3a7b-4c1d-9a52-6f1e2b7d8c90 status=503'
    )
    assert redact(line).text == line and redact(line).count == 0


def test_redacting_twice_changes_nothing():
    once = redact("Authorization: Bearer abcdefghijklmnopqrstuvwx0123").text
    assert redact(once).text == once and redact(once).count == 0


def test_kinds_are_named_without_the_value():
    result = redact("xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp and postgres://a:bbbbbb@h/d")
    assert result.kinds == ("Slack token", "password in a URL")
