"""A generated corpus of fake secrets of every kind the bot knows, pasted raw, inside log lines, inside
JSON (plain and escaped) and hard-wrapped by a terminal at 60-160 columns: none may reach the diagnosis
text or its JSON, and the count of masked secrets must say so."""

from __future__ import annotations

import json
import random
import string

import pytest

from bot.diagnose import diagnose
from bot.render.text import diagnosis_json, render_diagnosis

R = random.Random(20261201)


def _s(alphabet: str, n: int) -> str:
    return "".join(R.choice(alphabet) for _ in range(n))


AN = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UUID = f"{_s(HEX, 8)}-{_s(HEX, 4)}-{_s(HEX, 4)}-{_s(HEX, 4)}-{_s(HEX, 12)}"

# (kind, how it appears, the secret value that must not survive)
SECRETS = [
    ("stripe live", "sk_live_" + _s(AN, 24)),
    ("stripe restricted", "rk_live_" + _s(AN, 24)),
    ("stripe webhook", "whsec_" + _s(AN, 32)),
    ("slack bot", "xoxb-" + _s(string.digits, 12) + "-" + _s(string.digits, 12) + "-" + _s(AN, 24)),
    ("slack webhook", "https://hooks.slack.com/services/T" + _s(AN, 8) + "/B" + _s(AN, 8) + "/" + _s(AN, 24)),
    ("github pat", "github_pat_" + _s(AN + "_", 60)),
    ("github classic", "ghp_" + _s(AN, 36)),
    ("gitlab", "glpat-" + _s(AN, 20)),
    ("aws key", "AKIA" + _s(string.ascii_uppercase + string.digits, 16)),
    ("google key", "AIza" + _s(AN + "_-", 35)),
    ("openai", "sk-proj-" + _s(AN, 40)),
    ("anthropic", "sk-ant-api03-" + _s(AN, 40)),
    ("heroku inference", "inf-" + UUID),
    ("heroku new api key", "HRKU-" + _s(AN, 40)),
    ("fly macaroon", "fm2_" + _s(AN, 60)),
    ("fly oauth", "fo1_" + _s(AN, 40)),
    ("npm", "npm_" + _s(AN, 36)),
    ("sendgrid", "SG." + _s(AN, 22) + "." + _s(AN, 43)),
    ("jwt", "eyJ" + _s(AN, 20) + ".eyJ" + _s(AN, 40) + "." + _s(AN, 30)),
    ("digitalocean", "dop_v1_" + _s(HEX, 64)),
    ("hugging face", "hf_" + _s(AN, 34)),
    ("mailchimp", _s(HEX, 32) + "-us14"),
    ("square", "sq0atp-" + _s(AN, 22)),
    ("atlassian", "ATATT3x" + _s(AN, 60)),
    ("linear", "lin_api_" + _s(AN, 40)),
    ("notion", "secret_" + _s(AN, 43)),
    ("vault", "hvs." + _s(AN, 90)),
    ("sentry dsn", f"https://{_s(HEX, 32)}@o4504.ingest.sentry.io/450"),
    ("slack client", "xoxc-" + _s(string.digits, 12) + "-" + _s(AN, 30)),
]
# Secrets that are only secret by their context: (text around it, secret).
FRAMED = [
    ("DATABASE_URL=postgres://u8f2k:{}@ec2-3-1-2-3.compute-1.amazonaws.com:5432/d9", _s(AN, 24)),
    ("Cookie: _session_id={}", _s(AN, 40)),
    ("Set-Cookie: remember_token={}; path=/; HttpOnly", _s(AN, 40)),
    ("GET /export?format=csv&pass={}", _s(AN, 16)),
    ("https://maps.googleapis.com/maps/api/geocode/json?address=x&key={}", "AIza" + _s(AN, 35)),
    ("https://b.s3.amazonaws.com/f.zip?X-Amz-Credential=AKIA/x&X-Amz-Signature={}", _s(HEX, 64)),
    ('{{"Authorization": "Basic {}"}}', _s(AN, 32)),
    ("Authorization: ApiKey {}", _s(AN, 32)),
    ("machine api.heroku.com login me@example.com password {}", UUID),
    ("HEROKU_API_KEY={}", UUID),
    ("STRIPE_SECRET_KEY={}", "sk_live_" + _s(AN, 24)),
    ("aws_secret_access_key = {}", _s(AN + "/+", 40)),
]
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    + "\n".join(_s(AN + "+/", 64) for _ in range(6))
    + "\n-----END RSA PRIVATE KEY-----"
)

CASES = [(k, v, v.split("//")[1].split("@")[0] if k == "sentry dsn" else v) for k, v in SECRETS] + [
    (f"framed {i}", frame.format(v), v) for i, (frame, v) in enumerate(FRAMED)
]


def _envelopes(text: str) -> dict[str, str]:
    ts = "2024-05-14T09:11:03.402117+00:00"
    return {
        "raw": text,
        "log line": f"{ts} app[web.1]: config loaded: {text}",
        "json": json.dumps({"level": "error", "msg": "boot failed", "env": text}),
        "escaped json": json.dumps({"body": json.dumps({"error": text})}),
    }


def _leaks(text: str, secret: str) -> bool:
    d = diagnose(text)
    out = render_diagnosis(d) + json.dumps(diagnosis_json(d))
    return secret in out or secret.replace("/", "\\/") in out


@pytest.mark.parametrize("kind, text, secret", CASES, ids=[c[0] for c in CASES])
def test_no_secret_survives_any_envelope(kind, text, secret):
    for name, pasted in _envelopes(text).items():
        assert not _leaks(pasted, secret), name
        assert diagnose(pasted).redacted >= 1, name


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160])
def test_no_secret_survives_a_terminal_wrap(width):
    ts = "2024-05-14T09:11:03.402117+00:00"
    leaked = []
    for kind, text, secret in CASES:
        line = f"{ts} app[web.1]: settings dump {'.' * R.randint(0, 40)} {text} and the rest of the line"
        paste = "\n".join(
            [f"{ts} heroku[router]: at=info method=GET path=/ status=200 " + "x" * 200][:1] * 3 + [line]
        )
        wrapped = "\n".join(paste[i : i + width] for i in range(0, len(paste), width))
        if _leaks(wrapped, secret):
            leaked.append(kind)
    assert leaked == []


def test_a_private_key_block_is_masked_whole_also_when_escaped_or_cut():
    body = PEM.split("\n")[1]
    for text in (PEM, json.dumps({"key": PEM}), PEM[: len(PEM) // 2]):
        assert not _leaks(text, body)


def test_the_rotate_note_counts_every_masked_secret():
    text = "\n".join(_envelopes(t)["log line"] for _, t, _ in CASES[:8])
    d = diagnose(text)
    assert d.redacted == 8 and "8 secret(s)" in " ".join(d.notes)


def test_ordinary_log_text_is_not_masked():
    lines = [
        '2024-05-14T09:11:03+00:00 heroku[router]: at=info method=GET path="/passengers?page=2" '
        "host=a.herokuapp.com request_id=0d5c9f0e-3a7b-4c1d-9a52-6f1e2b7d8c90 status=200 bytes=12",
        "2024-05-14T09:11:03+00:00 app[web.1]: bypass=true task=cleanup skipped=12 monkey=business",
    ]
    for line in lines:
        assert diagnose(line).redacted == 0
