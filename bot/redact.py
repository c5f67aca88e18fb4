"""Find and mask secrets in text before it is stored, echoed or posted anywhere."""

from __future__ import annotations

import re
from dataclasses import dataclass

MASK = "[REDACTED]"

# (name, cheap lower-case triggers, pattern, group to mask). A rule runs only when one of its triggers is in
# the text, which keeps a 40 kB paste with no secrets fast. Every pattern is bounded so a hostile paste
# cannot make it backtrack.
_RULES: tuple[tuple[str, tuple[str, ...], re.Pattern[str], int], ...] = (
    # Blocks first: a private key's body spans lines (or `\n` escapes in JSON), and is masked up to its END
    # line, or to the end of the paste when the END was cut off.
    (
        "private key",
        ("private key",),
        re.compile(
            r"(-----BEGIN [A-Z ]{0,30}PRIVATE KEY(?: BLOCK)?-----)([\s\S]{16,16384}?)(?=-----END |\Z)"
        ),
        2,
    ),
    # Headers and fields whose whole value is a credential.
    (
        "Authorization header",
        ("authorization",),
        re.compile(
            r"(?i)\b(authorization[\\\"']{0,8}\s{0,3}[:=]\s{0,3}[\\\"']{0,8}\s{0,3}"
            r"(?:bearer|token|basic|flyv1|apikey|api-key|digest|hmac|aws4-hmac-sha256|sso-key)?\s{0,3})"
            r"([^\s\\\"',]{6,4096})"
        ),
        2,
    ),
    (
        "cookie",
        ("cookie",),
        re.compile(
            r"(?i)((?:^|[\s\\\"'{,])(?:set-)?cookie[\\\"']{0,8}\s{0,3}[:=]\s{0,3}[\\\"']{0,8})([^\r\n\\\"']{6,4096})"
        ),
        2,
    ),
    ("bearer token", ("bearer",), re.compile(r"(?i)\b(bearer\s{1,3})([A-Za-z0-9._~+/=-]{16,4096})"), 2),
    # Tokens whose prefix says what they are (formats as documented by each vendor; gitleaks' rule set
    # was the checklist).
    (
        "Slack token",
        ("xox", "xapp-"),
        re.compile(r"()\b(xox[abposrec]-[A-Za-z0-9-]{10,256}|xapp-[A-Za-z0-9-]{10,256})"),
        2,
    ),
    (
        "Slack webhook",
        ("hooks.slack.com",),
        re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)([A-Za-z0-9+/_-]{16,512})"),
        2,
    ),
    (
        "Discord webhook",
        ("/api/webhooks/",),
        re.compile(r"(discord(?:app)?\.com/api/webhooks/\d{5,30}/)([A-Za-z0-9_-]{30,256})"),
        2,
    ),
    ("Heroku inference key", ("inf-",), re.compile(r"()\b(inf-[A-Za-z0-9_-]{12,256})"), 2),
    ("Heroku API key", ("hrku-",), re.compile(r"()\b(HRKU-[A-Za-z0-9_-]{20,256})"), 2),
    ("API key", ("sk-",), re.compile(r"()\b(sk-(?:ant-|proj-|svcacct-)?[A-Za-z0-9_-]{16,256})"), 2),
    (
        "Stripe key",
        ("sk_", "rk_", "whsec_"),
        re.compile(r"()\b((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,247}|whsec_[0-9A-Za-z+/=]{20,256})"),
        2,
    ),
    (
        "Fly.io token",
        ("fm1", "fm2", "fo1_"),
        re.compile(r"()\b(fm[12]r?_[A-Za-z0-9_+/=-]{16,4096}|fo1_[A-Za-z0-9_-]{20,256})"),
        2,
    ),
    (
        "GitHub token",
        ("gh", "github_pat_"),
        re.compile(r"()\b(gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{22,255})"),
        2,
    ),
    ("GitLab token", ("glpat-",), re.compile(r"()\b(glpat-[A-Za-z0-9_-]{20,64})"), 2),
    ("AWS access key", ("akia", "asia"), re.compile(r"()\b((?:AKIA|ASIA)[0-9A-Z]{16})\b"), 2),
    (
        "Google API key",
        ("aiza", "ya29."),
        re.compile(r"()\b(AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{20,2048})"),
        2,
    ),
    (
        "npm or PyPI token",
        ("npm_", "pypi-"),
        re.compile(r"()\b(npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_-]{50,512})"),
        2,
    ),
    ("SendGrid key", ("sg.",), re.compile(r"()\b(SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{30,64})"), 2),
    (
        "Twilio or Mailgun key",
        ("sk", "key-"),
        re.compile(r"()\b(SK[0-9a-fA-F]{32}|key-[0-9a-zA-Z]{32})\b"),
        2,
    ),
    ("Shopify token", ("shp",), re.compile(r"()\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})"), 2),
    ("DigitalOcean token", ("_v1_",), re.compile(r"()\b(do[por]_v1_[a-f0-9]{64})"), 2),
    ("Hugging Face token", ("hf_",), re.compile(r"()\b(hf_[A-Za-z0-9]{30,40})\b"), 2),
    ("Databricks token", ("dapi",), re.compile(r"()\b(dapi[a-f0-9]{32})\b"), 2),
    ("Mailchimp key", ("-us",), re.compile(r"()\b([0-9a-f]{32}-us\d{1,2})\b"), 2),
    (
        "Square token",
        ("sq0", "eaaa"),
        re.compile(r"()\b(sq0(?:atp|csp)-[0-9A-Za-z_-]{22,60}|EAAA[0-9A-Za-z_-]{60})"),
        2,
    ),
    ("Atlassian token", ("atatt",), re.compile(r"()\b(ATATT[0-9A-Za-z_=-]{40,400})"), 2),
    (
        "Linear or Postman key",
        ("lin_api_", "pmak-"),
        re.compile(r"()\b(lin_api_[0-9A-Za-z]{40}|PMAK-[0-9a-f]{24}-[0-9a-f]{34})"),
        2,
    ),
    (
        "Notion token",
        ("secret_", "ntn_"),
        re.compile(r"()\b(secret_[0-9A-Za-z]{43}|ntn_[0-9A-Za-z]{40,50})"),
        2,
    ),
    (
        "Vault or age key",
        ("hvs.", "age-secret-key-"),
        re.compile(r"()\b(hvs\.[0-9A-Za-z_-]{24,200}|AGE-SECRET-KEY-1[0-9A-Z]{58})"),
        2,
    ),
    ("Sentry DSN key", ("sentry",), re.compile(r"(://)([0-9a-f]{32})(?=@[a-z0-9.-]{0,100}sentry)"), 2),
    ("Telegram bot token", ("bot",), re.compile(r"(\bbot)(\d{8,10}:[A-Za-z0-9_-]{35})"), 2),
    (
        "JSON web token",
        ("eyj",),
        re.compile(r"()\b(eyJ[A-Za-z0-9_-]{8,2048}\.eyJ[A-Za-z0-9_-]{8,4096}\.[A-Za-z0-9_-]{8,2048})"),
        2,
    ),
    # Credentials in URLs: a password before the host, signatures and keys in the query string.
    (
        "password in a URL",
        ("://",),
        re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20}://[^\s:/@]{0,256}:)([^\s@/]{1,256})(?=@)"),
        2,
    ),
    (
        "signed URL",
        ("x-amz-", "sig=", "signature="),
        re.compile(
            r"(?i)([?&](?:x-amz-(?:signature|credential|security-token)|sig|signature)=)([^&\s\"'#]{8,4096})"
        ),
        2,
    ),
    (
        "key in a URL",
        ("key=", "token=", "pass=", "secret=", "password="),
        re.compile(
            r"(?i)([?&;](?:key|api_?key|access_?token|token|auth|pass|password|secret|client_secret)=)"
            r"([^&\s\"'#]{6,4096})"
        ),
        2,
    ),
    # netrc: "machine api.heroku.com login me@example.com password 01234567-89ab-..."
    (
        "netrc password",
        ("password",),
        re.compile(r"(?i)(\blogin\s{1,10}\S{1,256}\s{1,10}password\s{1,10})(\S{6,4096})"),
        2,
    ),
    (
        "secret setting",
        ("key", "secret", "token", "pass", "pwd", "credential"),
        re.compile(
            r"(?i)((?<![a-z0-9])(?:api[_-]?key|_key|accountkey|secret|token|password|passwd|pass|pwd|credentials?)"
            r"[a-z0-9_]{0,30}"
            r"[\\\"']{0,8}\s{0,3}[:=]\s{0,3}[\\\"']{0,8})([^\s\\\"',;&]{6,4096})"
        ),
        2,
    ),
)


@dataclass(frozen=True)
class Redacted:
    text: str
    count: int
    kinds: tuple[str, ...]


# Every rule's trigger words in one pattern: one scan of the text says which rules can match at all. A
# match also stands for the shorter triggers inside it ("key=" is also "key"), which the scan skips over.
_ALL_TRIGGERS = {t for _, ts, _, _ in _RULES for t in ts}
_TRIGGERS = re.compile("|".join(sorted(map(re.escape, _ALL_TRIGGERS), key=len, reverse=True)))
_IMPLIED = {t: frozenset(u for u in _ALL_TRIGGERS if u in t) for t in _ALL_TRIGGERS}


def redact(text: str) -> Redacted:
    """Mask every secret found in `text`; count them and name their kinds."""
    count = 0
    kinds: list[str] = []
    present = set().union(*(_IMPLIED[t] for t in set(_TRIGGERS.findall(text.lower()))))
    if not present:
        return Redacted(text, 0, ())
    for name, triggers, pattern, group in _RULES:
        if present.isdisjoint(triggers):
            continue

        def mask(m: re.Match[str], name: str = name, group: int = group) -> str:
            nonlocal count
            if m.group(group) == MASK or m.group(group).startswith("[REDACTED"):
                return m.group(0)
            count += 1
            if name not in kinds:
                kinds.append(name)
            return m.group(0)[: m.start(group) - m.start(0)] + MASK

        text = pattern.sub(mask, text)
    return Redacted(text, count, tuple(kinds))
