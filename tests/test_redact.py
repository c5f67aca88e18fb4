"""Secrets are masked wherever they appear."""

from __future__ import annotations

import pytest

from bot.redact import MASK, Redacted, redact

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


# One paste per rule, each holding one secret that only that rule knows (fake values in each vendor's
# documented shape). A rule switched off or renamed fails its own case by name.
RULES = [
    (
        "private key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMbRvI0MBZhpF\n"
        "-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn",
    ),
    ("Authorization header", "Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy"),
    ("cookie", "Cookie: _shop_session=9f8e7d6c5b4a", "9f8e7d6c5b4a"),
    ("bearer token", "sent Bearer abcdefghijklmnop1234 upstream", "abcdefghijklmnop1234"),
    ("Slack token", "bot xoxb-1234567890-abcdefghij left in a script", "xoxb-1234567890"),
    (
        "Slack webhook",
        "posting to https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "XXXXXXXXXXXXXXXXXXXXXXXX",
    ),
    (
        "Discord webhook",
        "https://discord.com/api/webhooks/123456789012/abcdefghijklmnopqrstuvwxyz0123456789",
        "abcdefghijklmnopqrstuvwxyz0123456789",
    ),
    ("Heroku inference key", "curl with inf-1a2b3c4d5e6f7a8b", "inf-1a2b3c4d5e6f7a8b"),
    ("Heroku API key", "HRKU-AAAAAAAAAAAAAAAAAAAAAAAAA in the shell history", "HRKU-AAAAAAAAAAAAAAAAAA"),
    ("API key", "client built with sk-abcdefghijklmnop1234", "sk-abcdefghijklmnop1234"),
    ("Stripe key", "charge failed for sk_live_abcdefghij1234", "sk_live_abcdefghij1234"),
    ("Fly.io token", "FlyV1 fm2_abcdefghijklmnop1234", "fm2_abcdefghijklmnop1234"),
    ("GitHub token", "git clone with ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d", "ghp_u8jzPde0IgxLd6G"),
    ("GitLab token", "glpat-abcdefghij0123456789 expired", "glpat-abcdefghij0123456789"),
    ("AWS access key", "signing with AKIAIOSFODNN7EXAMPLE failed", "AKIAIOSFODNN7EXAMPLE"),
    ("Google API key", "maps AIzaKLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnF", "AIzaKLzdocJ2isAjIhKt"),
    ("npm or PyPI token", "npm_RIBXuDL7DxtpYlSXpfKtHF4vUCsMehGAkWvj in .npmrc", "npm_RIBXuDL7DxtpYlSX"),
    (
        "SendGrid key",
        "mail via 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",
        "SG.7FAc9QeWJKY40uvSwMFLZD",
    ),
    ("Twilio or Mailgun key", "mailgun key-FfkCzJr4i0B3JrTAwR4y9ojfljoQoaF1", "key-FfkCzJr4i0B3JrTA"),
    ("Shopify token", "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", "shpat_58904dba41ecccc3"),
    (
        "DigitalOcean token",
        "dop_v1_026c48bbf33feff9243a8f506b40928b5b7a767c76fb008f86bebb2737f6a6f0",
        "dop_v1_026c48bbf33feff9243a",
    ),
    ("Hugging Face token", "hub login hf_E6PwZPf1Qh6yYTWmE4lBYOvfZ8UzDzV8fU", "hf_E6PwZPf1Qh6yYTWm"),
    ("Databricks token", "dapi55404e4fb440034d6608697a8d41bed4", "dapi55404e4fb440034d"),
    ("Mailchimp key", "list sync 40e50454f31af3176813e02ea68ef786-us14", "40e50454f31af3176813"),
    ("Square token", "sq0atp-1CiAhzCueQpBenQtYh5Xj8", "sq0atp-1CiAhzCueQpBen"),
    (
        "Atlassian token",
        "jira ATATT3xTPQxjq4i9DoV8gz4FkQ1okTBGzvAmwufUxbvJDCTbyvHNsG9eh",
        "ATATT3xTPQxjq4i9DoV8",
    ),
    ("Linear or Postman key", "lin_api_6Yo4gfqrc5XlrWi0B26R08qzjI6GKFSufrdZSlB5", "lin_api_6Yo4gfqrc5Xl"),
    ("Notion token", "notion secret_er8bOfZqfM2oeq3hDavJA76rNicHTp8hkqdlm7tOtHW", "er8bOfZqfM2oeq3hDavJ"),
    ("Vault or age key", "VAULT hvs.nsCGRlrwZbqcabUGJmGEp7CgQ0PBQF", "hvs.nsCGRlrwZbqcabUGJ"),
    (
        "Sentry DSN key",
        "dsn https://c967a64cb14028d512c9791e558e08ba@o4504.ingest.sentry.io/450",
        "c967a64cb14028d512c9791e558e08ba",
    ),
    (
        "Telegram bot token",
        "POST https://api.telegram.org/bot123456789:Jupc94tnwlavyfErGPmpGXafq0fjzLczbtt/sendMessage",
        "Jupc94tnwlavyfErGPmp",
    ),
    (
        "JSON web token",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
    ),
    ("password in a URL", "postgres://app:hunter22@db.example.com/app", "hunter22"),
    (
        "signed URL",
        "GET https://s3.amazonaws.com/b/f.zip?X-Amz-Signature=abcdef0123456789",
        "abcdef0123456789",
    ),
    ("key in a URL", "GET /search?q=boots&api_key=abcdef123456", "abcdef123456"),
    (
        "netrc password",
        "machine api.heroku.com login me@example.com password 0123456789abcdef",
        "0123456789abcdef",
    ),
    ("secret setting", "DB_PASSWORD=s3cr3tvalue", "s3cr3tvalue"),
]


def test_every_rule_has_its_own_case():
    # 37 rules, as the README says; a new rule gets a case here.
    assert len({name for name, _, _ in RULES}) == len(RULES) == 37


@pytest.mark.parametrize("name, text, secret", RULES, ids=[r[0] for r in RULES])
def test_each_rule_masks_its_own_secret_once_under_its_own_name(name, text, secret):
    result = redact(text)
    assert (result.kinds, result.count) == ((name,), 1)
    assert secret not in result.text
    assert result.text.count(MASK) == 1


def test_several_secrets_are_counted_one_by_one_and_named_once_each_in_rule_order():
    text = (
        "AKIAIOSFODNN7EXAMPLE and AKIAIOSFODNN7EXAMPL2 pushed with ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d "
        "and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    )
    result = redact(text)
    assert result.count == 4
    assert result.kinds == ("GitHub token", "AWS access key", "JSON web token")
    assert result.text == f"{MASK} and {MASK} pushed with {MASK} and {MASK}"


def test_text_with_no_trigger_word_is_returned_as_it_is():
    assert redact("GET / 200 in 12ms") == Redacted("GET / 200 in 12ms", 0, ())


def test_a_value_only_partly_shaped_like_a_key_is_counted_once():
    # The API key rule masks the key's shape; the setting rule then sees its own value already masked.
    result = redact("password=sk-abcdefghijklmnopqrst.more")
    assert (result.text, result.count, result.kinds) == ("password=[REDACTED].more", 1, ("API key",))
