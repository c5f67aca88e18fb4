"""What counts as a platform code in text: one table of signatures, built from `knowledge/`.

A code is found by its own marks wherever it sits in a line, whatever envelope the line came in
(`heroku logs`, Papertrail, a syslog drain, a JSON string, a sentence in an issue):

- router codes by `code=H12` with the router's other fields near it, in any order;
- runtime, logging and legacy router codes by `Error R14 (` / `Error L13:` / `Error H12 (… ) ->`;
- codes named in prose ("error code H11 (Backlog too deep)", "we keep getting H12 timeouts") when the
  sentence also carries the code's own title words or says it is an error code;
- Fly.io proxy codes by `[PC01]` with that code's own words after it, and by the documented wordings
  that older proxy logs print without the prefix.

The line parser (`logs`), the API-error reader (`apierrors`) and the fast `digest --from` counter all ask
this module, so "what is a code" has one source of truth. Every pattern is bounded: linear on any input.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge import KNOWLEDGE_DIR, load_entries

# --- marks: the shapes a code takes in a line ----------------------------------------------------------

# `code=H12` anywhere; a router line also carries `desc=`, `at=`, `method=` or `status=` (an app that logs
# its own `code=H12 at=error` is told apart by its envelope, not here).
ROUTER_CODE = re.compile(r"(?<![\w.-])code=[\"*_]{0,2}(?P<code>H\d\d)\b")  # also markdown: code=**H27
ROUTER_FIELDS = re.compile(r"(?<![\w.-])(?:desc|at|method|status|dyno|http_error|sock)=")
# `Error R14 (Memory quota exceeded)`, `Error L13: 111 messages`, `Error R10 (Boot timeout) -> …`,
# `Error H12 (Request timeout) -> GET …` (routers before 2013).
ERROR_CODE = re.compile(r"\bError:? (?P<code>[HRL]\d\d)(?= ?\(| ?:| ->|\s*$|\s)")
# `[PC01]` anywhere in a line.
FLY_CODE = re.compile(r"\[(?P<code>P[A-Z]\d\d)\]")
# A code named in a sentence: "error code H11", "H12 errors", "R14 (Memory quota exceeded)".
BARE_CODE = re.compile(r"(?<![\w/.=#:\[\"'-])(?P<code>[HRL]\d\d|P[PUCTMAERL]\d\d)(?![\w\"'=-])")
# "error code H11", "Error H14", "H12 errors", "R14 error": the sentence itself says it is an error code.
_CODE_BEFORE = re.compile(r"\b(?:error|code|errors|codes)\W{0,3}$", re.I)
_CODE_AFTER = re.compile(r"\W{0,3}(?:error|errors|code)\b", re.I)  # used with .match(text, pos)

# Byte-level marks for the `digest --from` counter, compiled from the same shapes.
ANY_MARK_BYTES = re.compile(
    rb"at=error|at=warning|code=\"?H\d\d|Error:? [HRL]\d\d|\[P[A-Z]\d\d\]|\] [a-z]{3} \[error\]"
)
RUNTIME_MARK_BYTES = re.compile(rb"Error:? [RL]\d\d")
# The dyno manager's line for an exhausted Eco/free hour pool carries no code of its own (H82, below). A
# mark of its own: one literal is searched far faster than an alternation with the marks above.
_QUOTA_IDLE = rb"Idling because quota is exhausted"
QUOTA_IDLE_BYTES = re.compile(_QUOTA_IDLE)
FLY_MARK_BYTES = re.compile(rb"\[P[A-Z]\d\d\]")
ROUTER_ERROR_BYTES = re.compile(
    rb'code=(H\d\d) desc="[^"\n]{0,200}" method=[A-Z]{0,10} path="?([^"\s]{0,600})"?[^\n]{0,1200}? dyno=(\S{0,60})'
)

# Old Fly.io proxy wordings that the knowledge base does not carry as `messages` because no single
# entry owns them exactly; each maps to the code whose documented meaning it states.
# Heroku runtime messages whose wording alone names the code (pasted without the "Error R10" part).
HEROKU_PHRASES = (
    (re.compile(r"failed to bind to \$PORT within \d{1,3} seconds", re.I), "R10"),
    (re.compile(r"failed to exit within \d{1,3} seconds of SIGTERM", re.I), "R12"),
    # The dyno manager's state line when the Eco/free hour pool is used up; the router's H82 follows it.
    (re.compile(_QUOTA_IDLE.decode()), "H82"),
)
_EXTRA_FLY_PHRASES = (
    ("could not find an instance to route to", "PR01"),  # 2023 wording of "no healthy machines"
    ("no known healthy instances found", "PR01"),
)
_GENERIC = frozenset(
    {
        "could",
        "with",
        "from",
        "that",
        "this",
        "your",
        "have",
        "after",
        "proxy",
        "error",
        "within",
        "when",
        "will",
        "info",
        "warn",
    }
)
_GENERIC_TITLE = _GENERIC | {"failed", "request", "machine", "instance", "process", "quota"}
_WORDS = re.compile(r"\b[a-z]{4,}\b")


@dataclass(frozen=True)
class Signal:
    """One code found in a line, and how it was found."""

    code: str
    mark: str  # router | error | fly | phrase | prose
    start: int  # where the mark starts in the text it was found in


@dataclass(frozen=True)
class Signatures:
    """Every code the knowledge base knows, and the words that tell a real mark from a look-alike."""

    codes: frozenset[str]
    titles: dict[str, frozenset[str]]  # code -> its title's words (for codes named in prose)
    fly_words: dict[str, frozenset[str]]  # Fly.io code -> words of its messages (for `[Pxx]` marks)
    phrases: tuple[tuple[str, str], ...]  # (lower-case uncoded wording, code), longest first

    # -- the single question every reader asks --------------------------------------------------------

    def router_code(self, text: str) -> str | None:
        """`code=H12` with router fields beside it."""
        m = ROUTER_CODE.search(text)
        if m and m.group("code") in self.codes and ROUTER_FIELDS.search(text):
            return m.group("code")
        return None

    def error_code(self, text: str) -> re.Match[str] | None:
        """`Error R14 (…)` and friends, for a known code."""
        for m in ERROR_CODE.finditer(text[:2000]):
            if m.group("code") in self.codes:
                return m
        return None

    def fly_code(self, text: str, trusted: bool = False) -> str | None:
        """`[PC01] …` with that code's own words after it (any `[Pxx]` when the line is the proxy's own,
        `trusted`), else a documented uncoded wording."""
        for m in FLY_CODE.finditer(text[:2000]):
            code = m.group("code")
            if code in self.codes and (trusted or self._sounds_like(code, text[m.end() : m.end() + 300])):
                return code
        return self.phrase_code(text)

    def phrase_code(self, text: str) -> str | None:
        low = text[:2000].lower()
        for phrase, code in self.phrases:
            if phrase in low:
                return code
        return None

    def prose_code(self, text: str) -> str | None:
        """A code named in a sentence, when the sentence says it is an error code or uses its title."""
        codes = self.prose_codes(text)
        return codes[0] if codes else None

    def prose_codes(self, text: str) -> list[str]:
        """Every code named in a sentence or a table row. Once one of them is plainly an error code, the
        other known codes beside it ("H18 errors, plus occasional H13") are too."""
        window = text[:2000]
        named: list[str] = []
        vouched = False
        for m in BARE_CODE.finditer(window):
            code = m.group("code")
            if code not in self.codes:
                continue
            if code not in named:
                named.append(code)
            if vouched:  # every mention is read until one says it is an error code, repeats included
                continue
            if code[0] != "P" and (
                _CODE_BEFORE.search(window, max(0, m.start() - 20), m.start())
                or _CODE_AFTER.match(window, m.end(), m.end() + 12)
            ):
                vouched = True
                continue
            near = window[max(0, m.start() - 60) : m.end() + 80].lower()
            if self.titles.get(code, frozenset()) & {w.rstrip("s") for w in _WORDS.findall(near)}:
                vouched = True
        return named if vouched else []

    def _sounds_like(self, code: str, text: str) -> bool:
        words = self.fly_words.get(code)
        return words is None or bool(words & set(_WORDS.findall(text.lower())))


def build(directory: Path = KNOWLEDGE_DIR) -> Signatures:
    """The signature table of the knowledge base in `directory`."""
    entries = load_entries(directory)
    codes = frozenset(e.code for e in entries if re.fullmatch(r"[HRL]\d\d|P[A-Z]\d\d", e.code))
    titles = {
        e.code: frozenset(w.rstrip("s") for w in _WORDS.findall(e.title.lower()) if w not in _GENERIC_TITLE)
        for e in entries
        if e.code in codes
    }
    fly_words: dict[str, frozenset[str]] = {}
    phrases: dict[str, str] = dict(_EXTRA_FLY_PHRASES)
    for e in entries:
        if e.platform != "fly":
            continue
        text = " ".join((e.title, *e.messages, e.example.split(f"[{e.code}]", 1)[-1])).lower()
        fly_words[e.code] = frozenset(_WORDS.findall(text)) - _GENERIC
        for phrase in e.messages:
            phrases[phrase] = e.code
    ordered = tuple(sorted(phrases.items(), key=lambda p: -len(p[0])))
    return Signatures(codes=codes, titles=titles, fly_words=fly_words, phrases=ordered)


@functools.cache
def default() -> Signatures:
    """The table of the shipped knowledge base, built once per process."""
    return build()


# --- API errors: the documented wordings of errors that SDKs print without a code -----------------------


@dataclass(frozen=True)
class ApiWording:
    """A sentence an API sends for one error, which SDKs often print alone ("message-only" errors)."""

    pattern: re.Pattern[str]
    label: str  # the knowledge entry it means
    provider: str  # openai | anthropic | heroku-platform | heroku-ai
    trigger: str  # a lower-case word the text must hold for the pattern to be tried (cheap pre-check)


# pragma: no mutate start
# _wording runs once, at import, before mutmut switches a mutant on: no test could see a mutant of it.
def _wording(pattern: str, label: str, provider: str) -> ApiWording:
    # Spaces match any run of white space: terminals and mail clients wrap these sentences anywhere.
    trigger = (re.findall(r"[a-z]{4,}", pattern.lower()) or [""])[0]
    return ApiWording(re.compile(pattern.replace(" ", r"\s{1,40}"), re.I), label, provider, trigger)


# pragma: no mutate end


API_WORDINGS = (
    _wording(r"you exceeded your current quota", "insufficient_quota", "openai"),
    _wording(r"maximum context length is \d", "context_length_exceeded", "openai"),
    _wording(r"incorrect api key provided", "invalid_api_key", "openai"),
    _wording(r"rate limit reached for", "rate_limit_exceeded", "openai"),
    # Titles cut it short ("The server had an error while processing"): the start says it all.
    _wording(r"the server had an error (?:while )?processing", "server_error", "openai"),
    _wording(
        r"the model:? [`'\"]?[\w.:/-]{1,80}[`'\"]? does not exist|that model does not exist",
        "model_not_found",
        "openai",
    ),
    _wording(r"you didn't provide an api key", "invalid_api_key", "openai"),
    # The error of a spending cap reached (`billing_hard_limit_reached`), and openai-python 0.x's
    # APIConnectionError text, which apps still print when they wrap a failed call.
    _wording(
        r"billing hard limit has been reached|billing_hard_limit_reached", "insufficient_quota", "openai"
    ),
    # A 429 whose type is `billing_not_active`: no payment method, or a cancelled or unpaid plan.
    _wording(
        r"billing_not_active|your account is not active, please check your billing details",
        "insufficient_quota",
        "openai",
    ),
    _wording(r"error (?:communicating with|connecting to) openai", "connection_error", "openai"),
    # The other messages of OpenAI's error-code guide (platform.openai.com/docs/guides/error-codes).
    _wording(r"you must be a member of an organization to use the api", "invalid_api_key", "openai"),
    _wording(
        r"country, region,? or territory not supported", "unsupported_country_region_territory", "openai"
    ),
    _wording(r"unsupported_country_region_territory", "unsupported_country_region_territory", "openai"),
    _wording(r"the engine is currently overloaded", "server_error", "openai"),
    _wording(r"that model is currently overloaded with other requests", "server_error", "openai"),
    _wording(r"server_is_overloaded", "server_error", "openai"),
    _wording(r"invalid x-api-key", "authentication_error", "anthropic"),
    _wording(r"your credit balance is too low", "billing_error", "anthropic"),
    # The Messages API's 400 for a conversation whose turns do not alternate ("messages: roles must alternate
    # between "user" and "assistant", but found multiple "user" roles in a row").
    _wording(
        r"roles must alternate between|found multiple [\"']?(?:user|assistant)[\"']? roles in a row",
        "invalid_request_error",
        "anthropic",
    ),
    _wording(r"would exceed (?:the|your) (?:organization's )?rate limit", "rate_limit_error", "anthropic"),
    _wording(r"\b529\b\W{0,3}(?:\{[^}]{0,40})?overloaded|overloaded_error", "overloaded_error", "anthropic"),
    # LiteLLM's wrapper: "litellm.InternalServerError: AnthropicException - Overloaded"
    _wording(r"anthropicexception\W{1,5}overloaded", "overloaded_error", "anthropic"),
    # Node's fetch: "request to https://api.openai.com/v1/chat/completions failed, reason: read ECONNRESET"
    _wording(r"request to https?://api\.openai\.com\S{0,200} failed, reason:", "connection_error", "openai"),
    _wording(
        r"couldn't find that (?:app|process type|add-?on|pipeline|team|space|domain)",
        "not_found",
        "heroku-platform",
    ),
    _wording(r"[!›▸»]\s{1,8}app not found", "not_found", "heroku-platform"),
    _wording(r"[!›▸»]\s{1,8}name (?:\S{1,64} )?is already taken", "invalid_params", "heroku-platform"),
    _wording(r"you do not have access to the app", "forbidden", "heroku-platform"),
    _wording(r"invalid credentials provided", "unauthorized", "heroku-platform"),
    _wording(r"[›▸»]\s{1,8}not logged in", "unauthorized", "heroku-platform"),
    _wording(
        r"apps for unverified accounts|verify your account by adding",
        "verification_required",
        "heroku-platform",
    ),
)
# `Error ID: verification_required` as the Heroku CLI prints it (behind ›, ▸ or »).
HEROKU_ERROR_ID = re.compile(r"Error ID:\s{0,4}(?P<id>[a-z][a-z_]{2,40})\b")
# An error identifier given as a field in any notation: JSON, escaped JSON, a Python or Ruby dict, a JS
# object literal, a Go map dump, logfmt: "type": "x", 'code': 'x', type: 'x', \"id\":\"x\", code:x, error_type=x.
API_FIELD = re.compile(
    r"(?<![\w-])[\"'\\]{0,4}(?P<key>type|code|id|error_type|error_code)[\"'\\]{0,4}\s{0,2}(?:=>|[:=])\s{0,2}"
    r"[\"'\\]{0,4}(?P<value>[a-z][a-z0-9_]{2,60})\b"
)


# --- which API a text is about -------------------------------------------------------------------------
#
# Evidence, not guesses: hosts, SDK modules, env vars, key prefixes, model ids, body shapes. `ask` and
# `diagnose` both read the provider from this table. "claude" alone names no provider: the same models run
# on Anthropic's API and on Heroku AI.

PROVIDER_EVIDENCE = (
    (
        "heroku-ai",
        re.compile(
            r"inference\.heroku\.com|INFERENCE_(?:KEY|URL|MODEL_ID)|heroku[ -]ai\b"
            r"|managed inference|heroku-inference|\binference\b",
            re.I,
        ),
    ),
    (
        "anthropic",
        re.compile(
            r"(?<![a-z0-9])anthropic(?![a-z0-9])|api\.anthropic\.com|x-api-key|status\.claude\.com|\bsk-ant-"
            r"|\bAnthropicException\b"  # LiteLLM's wrapper of Anthropic's errors
            r"|claude code"
            r"|\bclaude-[\w.-]{0,40}-20\d{6}\b|\"type\"\s?:\s?\"error\",\s?\"error\"",
            re.I,
        ),
    ),
    (
        "openai",
        re.compile(
            r"(?<![a-z0-9])openai(?![a-z0-9])|api\.openai\.com|platform\.openai\.com|\bgpt\b|\bgpt-?[0-9]"
            r"|\bOpenAIException\b"  # LiteLLM's wrapper of OpenAI's errors
            r"|\bchatgpt\b|\bsk-proj-|\bo[134](?:-mini|-pro)?\b|\bdavinci\b|\bcodex\b",
            re.I,
        ),
    ),
    (
        "heroku-platform",
        re.compile(
            r"api\.heroku\.com|Error ID:|heroku (?:create|apps|git:remote|container|ps|config"
            r"|addons|login|run|releases|domains)\b|\bheroku [a-z]{2,20}:[a-z]|HEROKU_DEBUG"
            r"|platform-api|PlatformAPI|Heroku::API|heroics|heroku\.rb",
            re.I,
        ),
    ),
)
_PROVIDER_TRIGGERS = {
    "heroku-ai": ("inference", "heroku ai", "heroku-ai"),
    "anthropic": ("anthropic", "x-api-key", "claude", '"type"', "sk-ant-"),
    "openai": ("openai", "gpt", "sk-proj-", "o1", "o3", "o4", "davinci", "codex"),
    "heroku-platform": (
        "api.heroku.com",
        "error id:",
        "heroku ",
        "platform-api",
        "platformapi",
        "heroku::api",
        "heroics",
        "heroku.rb",
    ),
}


def providers_in(text: str) -> tuple[str, ...]:
    """The APIs a paste shows evidence of (hosts, SDK modules, env vars, model ids, body shapes)."""
    low = text.lower()
    return tuple(
        name
        for name, pattern in PROVIDER_EVIDENCE
        if any(t in low for t in _PROVIDER_TRIGGERS[name]) and pattern.search(text)
    )
