"""The knowledge base: load and validate `knowledge/*.yml`, and answer questions about its codes.

`KnowledgeBase.lookup(question) -> Answer` understands codes typed any which way ("h12??", "r 14",
"code=H12", "[PC01]"), HTTP statuses with their context ("429 from heroku ai"), comparisons
("r14 vs r15"), families ("all R codes", "list fly tls errors") and free text with typos
("backlog to deep"). Free text is ranked by an SQLite FTS5 index (BM25) built in memory with
sqlite-utils; misspelt words are first corrected against the index's own vocabulary with rapidfuzz.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.context import Where, where_in

if TYPE_CHECKING:
    from sqlite_utils import Database

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"

PLATFORMS = ("heroku", "fly", "heroku-ai", "openai", "anthropic", "general")
KINDS = ("router", "runtime", "logging", "proxy", "api", "page", "topic")
BLAMES = ("app", "platform", "client", "config")
SEVERITIES = ("low", "medium", "high", "critical")
REQUIRED = (
    "code",
    "platform",
    "title",
    "kind",
    "blame",
    "severity",
    "statuses",
    "summary",
    "causes",
    "fixes",
    "example",
    "related",
    "keywords",
    "docs",
    "source",
)
OPTIONAL = ("messages", "retired", "notes", "table", "aliases", "elsewhere")

PLATFORM_NAMES = {
    "heroku": "Heroku",
    "fly": "Fly.io",
    "heroku-ai": "Heroku AI",
    "openai": "OpenAI-style API",
    "anthropic": "Anthropic-style API",
    "general": "Heroku and Fly.io",
}
# Whose side a code is on, as every reply says it ("on your app's side", "Start with H14 (your configuration)").
BLAME_WORDS = {
    "app": "your app's side",
    "platform": "the platform's side",
    "client": "the client's side",
    "config": "your configuration",
}


class KnowledgeError(ValueError):
    """A knowledge file is malformed; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Variant:
    """How another API's error of the same type reads: its own summary, fixes and docs, and what it looks
    like there ("" when the variant has no example: the entry's own is another API's body)."""

    summary: str
    fixes: tuple[str, ...]
    docs: str
    example: str = ""


@dataclass(frozen=True)
class Entry:
    """One code of the knowledge base, as written in `knowledge/*.yml`."""

    code: str
    platform: str
    title: str
    kind: str
    blame: str
    severity: str
    statuses: tuple[int, ...]
    summary: str
    causes: tuple[str, ...]
    fixes: tuple[str, ...]
    example: str
    related: tuple[str, ...]
    keywords: tuple[str, ...]
    docs: str
    messages: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # exact wordings people paste or type that mean this entry
    # The same error type as another API returns it (Anthropic and Heroku AI share type names): what it
    # means and what to do there. See `for_provider`.
    elsewhere: dict[str, Variant] = field(default_factory=dict, compare=False)
    source: str = ""  # where the facts were checked
    retired: bool = False
    notes: tuple[str, ...] = ()
    table: Table | None = None

    @property
    def platform_name(self) -> str:
        return PLATFORM_NAMES[self.platform]

    def for_provider(self, provider: str | None) -> Entry:
        """This entry as `provider`'s API means it, when it says so; otherwise itself."""
        variant = self.elsewhere.get(provider or "")
        if variant is None:
            return self
        return replace(
            self,
            platform=provider or self.platform,
            summary=variant.summary,
            fixes=variant.fixes,
            docs=variant.docs,
            example=variant.example,
            causes=(),
            notes=(),
            table=None,
            elsewhere={},
        )

    @property
    def blame_words(self) -> str:
        return BLAME_WORDS[self.blame]


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float


# How often the first answer is right, by what decided it: measured on the real questions of tests/data
# (the tuning set and the read held-out sets); `bench/bench_real_questions.py` prints the figures again and
# a test keeps these within 0.1 of them.
CONFIDENCE = {"code": 1.0, "wording": 0.99, "status": 0.94, "phrase": 0.93, "words": 0.78}
# Below this, an answer says it is a best guess.
GUESS_BELOW = 0.85


def _plausible(matches: tuple[Match, ...]) -> tuple[Match, ...]:
    """The first match and the alternatives worth offering beside it.

    A search word that only brushes an entry's body ("application" in the Accept header the Platform API
    wants) leaves a hit far below the rest: offered as "Or did you mean", it is noise. Only search scores
    compare this way; answers built from a code, a wording or a status rank by hand (1.0, 0.8, 0.5).
    """
    if len(matches) < 2 or min(m.score for m in matches) <= 1.0:
        return matches
    floor = max(m.score for m in matches) * _ALTERNATIVE_SHARE
    return (matches[0], *(m for m in matches[1:] if m.score >= floor))


# On the real questions, alternatives under this share of the best search score were never the one asked.
_ALTERNATIVE_SHARE = 0.45


@dataclass(frozen=True)
class Answer:
    """What `lookup` found.

    kind is one of: "code" (one code asked for), "compare" (several codes side by side), "status"
    (the codes behind an HTTP status), "family" (a list of codes), "search" (free text),
    "unknown_code" (a code-shaped word that is not a code; `matches` holds the nearest real ones),
    "help" (small talk or nothing found), "unsure" (the question fits several entries about equally, or
    none well: `matches` is empty and `candidates` holds the two or three likeliest).
    """

    query: str
    kind: str
    matches: tuple[Match, ...] = ()
    note: str = ""
    candidates: tuple[Match, ...] = ()
    where: Where | None = None  # the dyno, process, app or machine the question names
    # What decided the first match (a key of CONFIDENCE): "code" (a code written out), "wording" (an
    # error's exact words), "status" (an HTTP status), "phrase" (an entry's title or keyword phrase said in
    # full), "words" (search words alone); "" when there is no first match or it is a list.
    evidence: str = ""

    @property
    def best(self) -> Entry | None:
        return self.matches[0].entry if self.matches else None

    @property
    def confidence(self) -> float | None:
        """How often a first answer decided this way is right on the real questions we hold (None when
        there is no single first answer)."""
        return CONFIDENCE.get(self.evidence)

    @property
    def guess_note(self) -> str:
        """What to say above a first answer that is a best guess; "" when it is not one."""
        sure = self.confidence
        if sure is None or sure >= GUESS_BELOW:
            return ""
        return f"Best guess from your words (right {sure:.0%} of the time); a pasted log line settles it."


# --- loading ---------------------------------------------------------------------------------------


def _strings(value: object, where: str, name: str, *, min_items: int = 0) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise KnowledgeError(f"{where}: '{name}' must be a list of non-empty strings")
    if len(value) < min_items:
        raise KnowledgeError(f"{where}: '{name}' needs at least {min_items} item(s)")
    return tuple(v.strip() for v in value)


def _entry(raw: dict[str, Any], where: str) -> Entry:
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{where}: an entry must be a mapping")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise KnowledgeError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise KnowledgeError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for name in ("code", "title", "summary", "example", "docs"):
        if not isinstance(raw[name], str) or not raw[name].strip():
            raise KnowledgeError(f"{where}: '{name}' must be a non-empty string")
    for name, allowed in (
        ("platform", PLATFORMS),
        ("kind", KINDS),
        ("blame", BLAMES),
        ("severity", SEVERITIES),
    ):
        if raw[name] not in allowed:
            raise KnowledgeError(f"{where}: '{name}' is {raw[name]!r}, expected one of {', '.join(allowed)}")
    statuses = raw["statuses"]
    if not isinstance(statuses, list) or not all(isinstance(s, int) and 100 <= s <= 599 for s in statuses):
        raise KnowledgeError(f"{where}: 'statuses' must be a list of HTTP status numbers")
    if not raw["docs"].startswith("https://"):
        raise KnowledgeError(f"{where}: 'docs' must be an https URL")
    table = None
    if raw.get("table") is not None:
        t = raw["table"]
        if not isinstance(t, dict) or "columns" not in t or "rows" not in t:
            raise KnowledgeError(f"{where}: 'table' needs columns and rows")
        columns = _strings(t["columns"], where, "table.columns", min_items=1)
        rows = tuple(tuple(str(c) for c in row) for row in t["rows"])
        if any(len(r) != len(columns) for r in rows):
            raise KnowledgeError(f"{where}: every table row needs {len(columns)} cells")
        table = Table(columns, rows)
    messages = _strings(raw.get("messages") or [], where, "messages")
    if any(m != m.lower() for m in messages):
        raise KnowledgeError(f"{where}: 'messages' phrases must be lower case")
    aliases = _strings(raw.get("aliases") or [], where, "aliases")
    if any(a != a.lower() for a in aliases):
        raise KnowledgeError(f"{where}: 'aliases' must be lower case")
    if not isinstance(raw["source"], str) or not all(u.startswith("https://") for u in raw["source"].split()):
        raise KnowledgeError(f"{where}: 'source' must be the https URL(s) where the facts were checked")
    elsewhere = {}
    for provider, raw_variant in (raw.get("elsewhere") or {}).items():
        if (
            provider not in PLATFORMS
            or not isinstance(raw_variant, dict)
            or not str(raw_variant.get("docs", "")).startswith("https://")
            or not raw_variant.get("summary")
        ):
            raise KnowledgeError(
                f"{where}: 'elsewhere.{provider}' needs a known platform, a summary, fixes and "
                f"an https docs URL"
            )
        elsewhere[provider] = Variant(
            " ".join(str(raw_variant["summary"]).split()),
            _strings(raw_variant.get("fixes"), where, f"elsewhere.{provider}.fixes", min_items=1),
            raw_variant["docs"],
            " ".join(str(raw_variant.get("example", "")).split()),
        )
    return Entry(
        code=raw["code"].strip(),
        platform=raw["platform"],
        title=raw["title"].strip(),
        kind=raw["kind"],
        blame=raw["blame"],
        severity=raw["severity"],
        statuses=tuple(statuses),
        summary=" ".join(raw["summary"].split()),
        causes=_strings(raw["causes"], where, "causes", min_items=1),
        fixes=_strings(raw["fixes"], where, "fixes", min_items=1),
        example=raw["example"].strip(),
        related=_strings(raw["related"], where, "related"),
        keywords=tuple(k.lower() for k in _strings(raw["keywords"], where, "keywords", min_items=1)),
        docs=raw["docs"].strip(),
        messages=messages,
        aliases=aliases,
        elsewhere=elsewhere,
        source=str(raw.get("source") or "").strip(),
        retired=bool(raw.get("retired", False)),
        notes=_strings(raw.get("notes") or [], where, "notes"),
        table=table,
    )


def load_entries(directory: Path = KNOWLEDGE_DIR) -> list[Entry]:
    """Read and validate every `*.yml` file in `directory`; raise KnowledgeError on the first problem.
    Each directory is read once per process (the entries are frozen; the list is a fresh copy)."""
    return list(_load_entries(Path(directory).resolve()))


@functools.cache
def _load_entries(directory: Path) -> tuple[Entry, ...]:
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    files = sorted(directory.glob("*.yml"))
    if not files:
        raise KnowledgeError(f"no knowledge files (*.yml) in {directory}")
    for path in files:
        try:
            doc = yaml.load(
                path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            )
        except yaml.YAMLError as exc:
            raise KnowledgeError(f"{path.name}: not valid YAML: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
            raise KnowledgeError(f"{path.name}: expected a top-level 'entries:' list")
        for i, raw in enumerate(doc["entries"]):
            code = raw.get("code", f"#{i + 1}") if isinstance(raw, dict) else f"#{i + 1}"
            entry = _entry(raw, f"{path.name} {code}")
            if entry.code in seen:
                raise KnowledgeError(f"{path.name}: {entry.code} is already defined in {seen[entry.code]}")
            seen[entry.code] = path.name
            entries.append(entry)
    codes = set(seen)
    for entry in entries:
        dangling = [c for c in entry.related if c not in codes]
        if dangling:
            raise KnowledgeError(
                f"{seen[entry.code]} {entry.code}: related code(s) not in the knowledge base: "
                f"{', '.join(dangling)}"
            )
    phrases: dict[str, str] = {}
    for entry in entries:
        for phrase in entry.messages:
            if phrase in phrases:
                raise KnowledgeError(
                    f"{entry.code}: message phrase {phrase!r} is also listed under {phrases[phrase]}"
                )
            phrases[phrase] = entry.code
    return tuple(entries)


# --- understanding questions ----------------------------------------------------------------------

# Platform codes typed loosely: "h12", "H-12", "r 14", "H12s", "code=H12", "[PC01]".
# Bounded quantifiers only: this runs on whatever people paste.
_HEROKU_CODE = re.compile(r"(?<![a-z0-9])([hrl])[ _-]?(\d{2,3})(?:s|'s)?(?![a-z0-9])")
_FLY_CODE = re.compile(r"(?<![a-z0-9])p([a-z])[ _-]?(\d{1,2})(?:s|'s)?(?![a-z0-9])")
# An HTTP status: three digits that are not part of a longer number, a time or a version, and not a count
# ("500 max connections", "300 ms").
_STATUS = re.compile(
    r"(?<![\d.:/-])([1-5]\d\d)(?!\d)(?![.:]\d)"
    r"(?!\s{0,2}(?:max\b|connections?\b|users?\b|rows?\b|items?\b|lines?\b|[mgk]b\b|ms\b|s\b|seconds?\b|minutes?\b|%|\+))"
)
_WORD = re.compile(r"[a-z0-9_]+")
# Words that put a question on the logging pipeline (Heroku's L codes).
_LOG_WORDS = re.compile(r"\b(?:logs?|logging|logged|logger|drains?|logplex|syslog|papertrail|tail|l1\d)\b")
# Labels whose words another API's error says too, with what gives that error away: OpenAI's tokens-per-
# minute limit reads "Request too large for gpt-4o ... on tokens per min (TPM)".
_SAID_BY_OTHERS = {"request_too_large": re.compile(r"\btpm\b|tokens per min")}
# A shell that found no such program: "bash: gunicorn: command not found", dash's "sh: 1: ember: not found",
# and the same with the shell's name cut off ("spas: command not found"). The platforms' own CLIs missing on
# a laptop are another matter ("bash: heroku: command not found").
_COMMAND_NOT_FOUND = re.compile(
    r"\b(?:bash|sh|zsh)(?:: (?:line )?\d+)?: ([\w.-]+): (?:command )?not found\b"
    r"|(?<![\w:.-])([\w.-]+): command not found\b"
)
_CLI_NAMES = frozenset({"heroku", "fly", "flyctl"})
_GLUED_REASONS = {
    "contextwindowexceeded": "context window exceeded",  # LiteLLM's ContextWindowExceededError
    "toomanyrequests": "too many requests",
    "serviceunavailable": "service unavailable",
    "badgateway": "bad gateway",
    "gatewaytimeout": "gateway timeout",
}
_GLUED_REASON = re.compile(r"(" + "|".join(_GLUED_REASONS) + r")(?:error|exception)?\b")
_SLUG_SIZE = re.compile(
    r"\bslug\b.{0,40}\b(?:size|too large|too big|exceed\w*|\d+ ?mb)\b|\b(?:exceed\w*|reduce|too large)\b.{0,30}\bslug\b"
)
_SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.[\w.-]+", re.I)  # and a bare "www.example.org"
# A status said by its reason phrase ("service unavailable" is a 503). Only phrases that mean nothing else:
# "not found" and "forbidden" are as often a module or a file.
_REASONS = {
    "internal server error": 500,
    "bad gateway": 502,
    "service unavailable": 503,
    "gateway timeout": 504,
    "too many requests": 429,
}
_REASON = re.compile("|".join(_REASONS))

_COMPARE_WORDS = {"vs", "versus", "difference", "differences", "compare", "comparison", "between", "or"}
_FAMILY_WORDS = {"all", "list", "every", "family", "families"}
_HELP_WORDS = {
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "help",
    "yo",
    "ping",
    "who",
    "hola",
    "morning",
    "cheers",
    "ty",
    "thx",
    "ok",
    "okay",
    "cool",
    "nice",
    "great",
}
_STOPWORDS = {
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "what",
    "whats",
    "wat",
    "wht",
    "does",
    "do",
    "did",
    "mean",
    "means",
    "meaning",
    "my",
    "our",
    "on",
    "in",
    "at",
    "of",
    "to",
    "for",
    "from",
    "why",
    "how",
    "i",
    "we",
    "it",
    "its",
    "this",
    "that",
    "with",
    "and",
    "me",
    "am",
    "can",
    "you",
    "your",
    "get",
    "got",
    "getting",
    "keep",
    "keeps",
    "seeing",
    "see",
    "error",
    "errors",
    "code",
    "codes",
    "issue",
    "problem",
    "explain",
    "about",
    "tell",
    "please",
    "pls",
    "plz",
    "hey",
    "so",
    "im",
    "us",
    "there",
    "again",
    "when",
    "after",
    "app",
    "status",
    "just",
    "some",
    "any",
    "which",
    "who",
    "has",
    "have",
    "lot",
    "lots",
    "many",
    "all",
    "list",
    "every",
    "much",  # "using too much memory" is not H11's "too much traffic"
    "using",
    "show",
    "fly",
    "flyio",
    "io",
    "heroku",
}
# Whole words (or phrases) that say which platform a question is about, checked in this order.
# Which platform a question is about. The AI APIs are named from `signatures.PROVIDER_EVIDENCE`, the same
# table diagnosis uses; these words name the two hosting platforms.
_PLATFORM_HINTS = {
    "fly": (
        "fly",
        "flyio",
        "fly.io",
        "machine",
        "machines",
        "flyctl",
        "smoke checks",
        "fly.toml",
        # fly.toml settings people quote
        "min_machines_running",
        "auto_stop_machines",
        "auto_start_machines",
    ),
    "heroku": (
        "heroku",
        "heroku.com",
        "dyno",
        "dynos",
        "router",
        "herokuapp",
        "buildpack",
        "buildpacks",
        "procfile",
    ),
}
_PLATFORM_NAMES = frozenset(
    {"fly", "flyio", "fly.io", "flyctl", "fly.toml", "heroku", "heroku.com", "herokuapp"}
)
# The other hosting platform's entries, Platform API included.
_OTHER_HOST = {"fly": ("heroku", "heroku-platform"), "heroku": ("fly",)}
_AI_PLATFORMS = ("heroku-ai", "openai", "anthropic")
# Gateways that put an OpenAI-compatible API in front of many models.
_GATEWAY = re.compile(r"\b(?:lite_?llm|openrouter|one-?api|new-?api)\b")
_PROVIDER_NAMES = {"openai": "OpenAI", "anthropic": "Anthropic"}
# Words that put a question about a status on an AI API when no provider is named ("API Error: 500" is how
# Claude Code and most AI clients print a failed call).
_AI_CONTEXT = re.compile(
    r"\b(?:prompts?|completions?|llms?|embeddings?|chatbot|tokens? per minute|api ?error)\b"
)
_AI_STATUS_NOTE = "No API named, but this is an AI API's {status}: OpenAI's meaning first."
# Statuses that Heroku's router and Fly's proxy never send themselves, with what to say when no API is named.
_CALLED_API_NOTES = {
    "HTTP 429": (
        "No API named: Heroku's router and Fly's proxy never send 429, so an API you call did; OpenAI's "
        "meaning first (the Platform API's is `rate_limit`)."
    ),
    "HTTP 401": (
        "No API named: Heroku's router and Fly's proxy never send 401, so an API you call did; OpenAI's "
        "meaning first (the Platform API's is `unauthorized`)."
    ),
}
# The exception classes that both OpenAI's and Anthropic's SDKs define (OverloadedError is Anthropic's).
_SDK_CLASS = re.compile(
    r"\b(?:RateLimit|Authentication|NotFound|InternalServer|APIConnection|BadRequest|PermissionDenied"
    r"|APITimeout|Conflict|UnprocessableEntity)Error\b"
)
# The words that name each platform in a question (its evidence in `_platform_hint`).
_NAMES_OF = {
    "heroku": frozenset({"heroku"}),
    "fly": frozenset({"fly", "flyio", "io"}),
    "anthropic": frozenset({"anthropic", "claude"}),
    "openai": frozenset({"openai", "gpt", "chatgpt"}),
}
# Error types that name only a family of API errors; a more specific label beside them says more (in a
# question and in a diagnosis, `bot.apierrors`).
FAMILY_TYPES = frozenset({"invalid_request_error", "api_error"})
# Error types that Anthropic's API (and OpenAI-compatible ones) share with Heroku AI's entries.
_SHARED_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "rate_limit_error",
        "server_error",
        "permission_error",
        "not_found_error",
        "overloaded_error",
        "api_error",
    }
)
# Words that say something is wrong without saying what. A question made only of these (and platform
# words) fits many entries about equally, so the bot asks for a log line instead of guessing.
_VAGUE_WORDS = frozenset(
    """
    deploy deploying deployed deployment deployments working work works worked woking broken broke down crash
    crashes crashed crashing fail fails failed failing failure slow issue issues problem problems help fix fixed
    wrong stopped stop website site server service page load loading start started starting run running trying
    try today anymore not no cant cannot doesnt dont wont performance unstable stable happening strange weird
    random randomly sometimes unable figure out investigate production prod new while during seems anything
    something everything getting got gets anyone someone know why does doing done able possible what
    reason reasons keep keeps still suddenly working properly correctly online offline live up unreachable
    reachable respond responding response responds info support more url send sending request requests
    message messages unknown bug bugs push pushed pushing startup restart restarted restarting instance log logs logging tail show shows visible recent stdout
    tried again recover recovering causes cause fixes fixing solution solutions solve solved resolve resolved
    troubleshoot troubleshooting guide tips failures outage outages could need without find allow second stuck
    cut doesn didn isn wasn aren couldn wouldn shouldn haven hasn accept incident incidents sites pages servers
    services websites deploys change changes changed changing mode"""
    # What a question is about, not what went wrong with it: "postgres-ha or postgres-flex?", "Sidekiq is not
    # running", "ERROR WHEN I CHAT WITH THE BOT" name no failure an entry explains ("router" is only where
    # every H code is logged).
    """ postgres postgresql sidekiq node gunicorn chat module static router dns env""".split()
)
# "My app crashes" fits a dozen entries; "app crash on Heroku" is H10 or a crash loop.
# What comes with a status number without saying anything more: "HTTP 503", "status code 503", the reason
# phrase ("Service Unavailable", "Too Many Requests").
_STATUS_WORDS = frozenset(
    "http https err status code internal server service unavailable bad gateway too many "
    "requests forbidden unauthorized not found".split()
)
_CRASH_WORDS = frozenset({"crash", "crashes", "crashed", "crashing"})
_TIMEOUT_WORDS = frozenset({"timeout", "time", "out", "timed", "error", "connection", "connect"})  # stemmed
# What a crash on each platform is, first: the entries the word "crash" means there.
_CAUSE_WORDS = frozenset(
    {"memory", "oom", "ram", "heap", "boot", "port", "timeout", "timeouts", "r14", "r15", "redis"}
)
_CRASH_ENTRIES = {"heroku": ("H10", "crash-loop"), "fly": ("crash-loop", "fly-max-restarts")}
# What OpenAI calls the failures that other APIs name with the shared types.
_OPENAI_NAMES = {
    "rate_limit_error": "rate_limit_exceeded",
    "authentication_error": "invalid_api_key",
    "not_found_error": "model_not_found",  # as the SDK's NotFoundError reads with OpenAI (`bot.apierrors`)
    "billing_error": "insufficient_quota",  # credits run out: OpenAI says it as a quota error (429)
}
# ... and what Anthropic calls OpenAI's own labels.
_ANTHROPIC_NAMES = {openai: shared for shared, openai in _OPENAI_NAMES.items()}
# What to offer first when a question about a platform says nothing specific ("our fly deploy is broken").
_USUAL = {
    "fly": ("fly-not-listening", "fly-health-checks", "crash-loop"),
    "heroku": ("H10", "H12", "R14"),
    "openai": ("rate_limit_exceeded", "insufficient_quota", "invalid_api_key"),
    "anthropic": ("overloaded_error", "rate_limit_error", "authentication_error"),
    "heroku-ai": ("AI-429", "AI-401", "AI-503"),
}
# The codes people ask about most: on a tie in free text the common code wins over its rare sibling.
_COMMON = {
    "H12": 1.4,
    "H10": 1.35,
    "R14": 1.3,
    "H13": 1.2,
    "R10": 1.2,
    "H14": 1.2,
    "PC01": 1.2,
    "crash-loop": 1.2,
    "H18": 1.15,
    "H20": 1.1,
    "H11": 1.1,
    "L10": 1.1,
    "exit-137": 1.1,
    "exit-143": 1.1,
    # A bare 429 from OpenAI is a rate limit more often than a spent quota.
    "rate_limit_exceeded": 1.1,
}
# Fly's families are named by the second letter of their codes.
_FLY_FAMILIES = {
    "tls": "PT",
    "ssl": "PT",
    "certificate": "PT",
    "cert": "PT",
    "connection": "PC",
    "upstream": "PU",
    "machine": "PM",
    "machines": "PM",
    "app": "PA",
    "edge": "PE",
    "routing": "PR",
    "route": "PR",
    "limit": "PL",
    "limits": "PL",
    "internal": "PP",
    "proxy": "P",
}
_HEROKU_FAMILIES = {
    "router": "H",
    "http": "H",
    "runtime": "R",
    "dyno": "R",
    "logging": "L",
    "logplex": "L",
    "drain": "L",
}

HELP_TEXT = (
    "I explain Heroku and Fly.io error codes and diagnose pasted logs. Try:\n"
    "• a code: `what is R15?`, `h12`, `PC01 on fly`\n"
    "• a symptom: `backlog too deep`, `memory quota exceeded`, `no healthy machines`\n"
    "• a status: `why 503 on heroku`, `429 from heroku ai`\n"
    "• a comparison or a family: `r14 vs r15`, `all R codes`, `list fly tls errors`\n"
    "• or paste log lines / an API error body and I'll say what went wrong and what to do."
)


_EXIT_STATUS = re.compile(
    r"\b(?:exit(?:ed|s)?|process)\b[^.\n]{0,20}?\b(?:status|code)\b:?\s{0,3}(\d{1,3})\b(?!\s{0,2}(?:ms|s\b|%))"
)
# An exit status we have an entry for, named as an error or exit code ("Error 137", "exit 143").
_NAMED_EXIT = re.compile(
    r"\b(?:exit|exited|error|code|status|signal)\b\W{0,3}(1|134|137|139|143)\b(?!\s{0,2}(?:ms|s\b|%|\.\d))"
)
AMBIGUOUS_CLAUDE = (
    "Claude runs on Anthropic's own API and on Heroku AI, with the same error types; this is Anthropic's "
    'answer. Say "heroku ai" (or paste the error body) if you call Claude through Heroku.'
)
AMBIGUOUS_SDK = "OpenAI's and Anthropic's SDKs both raise `{cls}`; this is {provider}'s meaning."
UNSURE_HEAD = "I'm not sure which of these you mean."  # a card says it in its header instead
# https://devcenter.heroku.com/articles/slug-compiler : the build's limits, which no error code covers.
SLUG_SIZE_TEXT = (
    "A slug that is too big is a build failure, not a runtime error code, so no entry here covers it: "
    "Heroku refuses a compiled slug over 500 MB and warns from 300 MB. The build output says what takes the "
    "room; keep files out of the slug with `.slugignore`, leave dev dependencies and caches out of the build, "
    "and move large assets to object storage."
)
UNSURE_TEXT = (
    UNSURE_HEAD + " Paste a log line or the error body and I'll diagnose it; or ask about one of them:"
)
_PLATFORM_WORDS = frozenset(
    {
        "heroku",
        "fly",
        "flyio",
        "io",
        "dyno",
        "dynos",
        "machine",
        "machines",
        "app",
        "apps",
        "bot",  # what people host ("my Telegram bot"), not what went wrong
        "bots",
        "openai",
        "anthropic",
        "claude",
        "gpt",
        "model",
        "api",
        "ai",
        "platform",
        "region",  # where an app runs ("bom region"), on either platform
        "regions",
    }
)


# A database or cache named: a generic wording ("connection error") is then about it, not an AI API.
_DATASTORE = re.compile(r"\b(?:postgres\w*|psql|pg|redis|mysql|mongo\w*|database|db|sql\w*)\b")
# Heroku's router's documented windows, in seconds, and the code each one ends in.
_ROUTER_WINDOWS = {30: "H12", 55: "H15", 75: "H20"}
_WINDOW = re.compile(r"\b(30|55|75) ?-?(?:s|secs?|seconds?)\b")
# ... when the question says something was cut off at it (not "TTFB can be ~30s", a slow first byte).
_CUT_OFF = re.compile(
    r"\b(?:time ?outs?|timed? ?out|timing out|terminat\w*|kill\w*|cut\w*|drop\w*|clos\w*|limit\w*|after"
    r"|longer than|more than|exceed\w*)\b"
)
# How long a dyno is given to start (R10's window is 60 s, or 120 s once raised), beside a word for starting.
_BOOT_WINDOW = re.compile(r"\b(?:60|90|120|180) ?-?(?:s|secs?|seconds?)\b")
_STARTUP = re.compile(r"\b(?:startup|start ?up|boot|boots|booting|starting up)\b")
_BOOTING = re.compile(r"\b(?:start|starts|startup|boot|boots|booting|launch|deploy|deploying|bind|binding)\b")
# A release: what a crash that began with it points to.
_RELEASED = re.compile(r"\b(?:deploy\w*|push(?:ed|ing)?|releases?|released|rollout|redeploy\w*)\b")
# Something that stopped answering after a while, not at once (an Eco dyno's sleep).
_A_WHILE_LATER = re.compile(
    r"\bafter (?:some time|a while|an? hour|(?:\d+ ?-? ?)?\d+ ?(?:min|mins|minutes|hours?)\b)"
)
# A Heroku dyno said to idle: an Eco dyno going to sleep ("Idling" is what Heroku logs), unless a connection's
# idle timeout is meant (H15, H28, the router's keep-alive).
_IDLING = re.compile(r"\bidl(?:e|es|ed|ing)\b")
_IDLE_CONNECTION = re.compile(r"\b(?:connections?|sockets?|websockets?|keep-?alive|timeouts?|h15|h28)\b")
_GONE_QUIET = re.compile(
    r"\b(?:offline|stops?|stopped|dies|died|goes down|went down|shuts? down|sleeps?|turns? off)\b"
)
# ... beside _BOOT_WINDOW or, on Heroku, an app stopped at that mark: "App stops after 60s in heroku" (not a
# request cut off).
_STOPPED = re.compile(r"\b(?:stops|stopped|killed|dies|died|shuts down|shut down|exits|exited)\b")


def clean_question(text: str) -> str:
    """Lower-case a question and strip Slack markup (mentions, links, entities)."""
    text = re.sub(r"<@[A-Z0-9]{1,32}(?:\|[^>]{0,80})?>", " ", text)
    text = re.sub(r"<(https?://[^|>\s]{1,500})\|([^>]{0,500})>", r"\2", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = re.sub(r"\blog(?:ging)? ?in(?:to)?\b", "login", text.lower())  # "failing to log into heroku"
    text = re.sub(r"\btime[sd]out\b", "timeout", text)  # "Gradio timesout", "request timedout"
    text = re.sub(r"\bws\b", "websocket", text)  # "decrease ws timeout"
    text = re.sub(r"\bauth(?:enticate)?\b", "authentication", text)  # "auth error", "cannot authenticate"
    text = re.sub(
        r"\brate (?=issues?\b|problems?\b|errors?\b)", "rate limit ", text
    )  # "Anthropic Rate issues"
    # "出现prompt is too long，使用": an English wording inside CJK text is still a wording of its own.
    text = _CJK_EDGE.sub(" ", text)
    for word, english in _TRANSLATION_ORDER:  # the few words that carry most non-English questions
        if word in text:
            text = text.replace(word, f" {english} ")
    text = re.sub(r"(\d+) ?(?:秒|秒钟|秒鐘)", r" \1 seconds ", text)  # "60秒後に": the boot window
    text = re.sub(r"(?<!\w)рф(?!\w)", "russia", text)  # "ChatGpt в РФ"
    text = re.sub(r"\bopen ai\b", "openai", text)  # "using Open AI key", "open ai接口" once translated
    text = re.sub(r"\bconnectionrefusederror\b", "connection refused error", text)  # Python's exception
    return " ".join(text.split())


_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef"  # kana, Han, Hangul, full-width
_CJK_EDGE = re.compile(rf"(?<=[{_CJK}])(?=[a-z0-9])|(?<=[a-z0-9])(?=[{_CJK}])")

# Words on-call engineers write in their own language next to an English code or product name.
_TRANSLATIONS = {
    "限制地区": "region restricted",  # "似乎开始限制地区了"
    "限制地區": "region restricted",
    "信用卡": "credit card",
    "服务器": "server",
    "压力过大": "overloaded",
    "过载": "overloaded",
    "クレジットカード": "credit card",
    "tarjeta de crédito": "credit card",
    "验证": "verify",
    "認証": "verify",
    "メモリ": "memory",
    "内存": "memory",
    "記憶體": "memory",
    "memoria": "memory",
    "speicher": "memory",
    "タイムアウト": "timeout",
    "超时": "timeout",
    "超時": "timeout",
    "tiempo de espera": "timeout",
    "クラッシュ": "crash",
    "崩溃": "crash",
    "落ちる": "crash",
    "se cae": "crash",
    "abstürz": "crash",
    "краш": "crash",  # "крашится", "крашнулся"
    "падает": "crash",
    "память": "memory",
    "памяти": "memory",
    "таймаут": "timeout",
    "起動": "boot",
    "启动": "boot",
    "bootear": "boot",
    "arrancar": "boot",
    "接続": "connection",
    "连接": "connection",
    "conexión": "connection",
    "verbindung": "connection",
    "上限": "limit",
    "限制": "limit",
    "límite": "limit",
    "超出": "exceeded",
    "超过": "exceeded",
    "最大": "maximum",
    "国家": "country",
    "國家": "country",
    "地区": "region",
    "地區": "region",
    "不支持": "not supported",
    "不支援": "not supported",
    "密钥": "api key",
    "金鑰": "api key",
    "不存在": "does not exist",
    "模型": "model",
    "最大客户端": "max clients",
    "客户端": "clients",
    "休眠": "sleep",
    "スリープ": "sleep",
    "無料": "free",
    "超え": "exceeded",
    "memória": "memory",
    "额度不足": "insufficient quota",
    "额度": "quota",
    "每分钟": "per minute",  # "openai每分钟只能请求3次"
    "一分钟": "per minute",
    "请求": "requests",
    "代理": "proxy",
    "暂停": "suspended",  # "今天被暂停账号使用"
    "被封": "banned",
    "封号": "banned",
    "账号": "account",
    "帐号": "account",
    "帳號": "account",
    "免费": "free",
    "コネクション": "connection",
    "プール": "pool",
    "デプロイ": "deploy",
    "лимит запросов": "rate limit",  # "Превышен лимит запросов"
    "превышен": "exceeded",
    "квот": "quota",
    "лимит": "limit",
    "запрос": "requests",
    "россии": "russia",
    "россия": "russia",
    "límites de frecuencia": "rate limits",
    "limites de débit": "rate limits",  # "Vous atteignez les limites de débit de l'API Claude ?"
    "limite de débit": "rate limit",
    "limites de taxa": "rate limits",  # "Limites de Taxa de Usuários da API OpenAI"
    "limite de taxa": "rate limit",
    "límites de tasa": "rate limits",
    "límite de tasa": "rate limit",
    "トークン": "token",  # "OpenAI APIトークン制限エラー"
    "制限": "limit",
    "レート": "rate",  # "レート制限"
    "クロード": "claude",
    "キー": "key",
    "ポート": "port",
    "アイドル": "idle",
    "接口": "api",  # "open ai接口超时"
    "配额": "quota",
    "速率": "rate",  # "API速率限制"
    "频率": "rate",  # "什么频率会是429"
    "连不上": "cannot connect",
    "部署": "deploy",
    "无法连接": "cannot connect",
    "余额太低": "credit balance too low",  # not Anthropic's exact sentence: OpenAI users say it too
    "余额不足": "insufficient credit balance",
    "余额": "credit balance",
    "地区限制": "region restricted",
    "內存": "memory",
    "冷启动": "cold start",
    "冷啟動": "cold start",
    "menit": "minutes",  # "10-30 menitan bot nya mati"
    "adormec": "sleep",
    "dormindo": "sleeping",
    "사용량": "usage",
    "시간 초과": "timeout",
    "초과": "exceeded",
    "할당량": "quota",
    "한도": "limit",
    "요청": "requests",
    "메모리": "memory",
    "타임아웃": "timeout",
    "上下文长度": "context length",  # "GPT-4模型上下文长度超限"
    "上下文長度": "context length",
    "上下文": "context",
    "コンテキスト長": "context length",
    "コンテキスト": "context",
    "컨텍스트": "context",
    "超限": "exceeded",
    "限速": "rate limited",  # "OpenAI API被限速了怎么办？"
    "限流": "rate limited",
    "ロード時間": "load time",  # "初期ロード時間が長い"
    "加载时间": "load time",
    "載入時間": "load time",
    "过负荷": "overloaded",
    "過負荷": "overloaded",
    "应用出现错误": "application error",  # Heroku's error page, as it is called in other languages
    "应用程序错误": "application error",
    "應用程式錯誤": "application error",
    "アプリケーションエラー": "application error",
    "error de aplicación": "application error",
    "erro de aplicação": "application error",
    "令牌": "api key",  # one-api and other OpenAI-style gateways call the key a token: "未提供令牌"
    "未提供": "missing",
    "sempre online": "always online",  # "Como manter seu app sempre online no Heroku?"
    "siempre online": "always online",
    "siempre en línea": "always online",
    "無効": "invalid",
    "空闲": "idle",  # "Heroku 检查空闲时间"
    "空閒": "idle",
    "課金": "billing",  # "課金不足でAPIを実行できない"
    "不足": "insufficient",
    "无效": "invalid",
    "無效": "invalid",
}
# Longest first, so that a phrase is read before the words inside it ("限制地区" before "限制").
_TRANSLATION_ORDER = sorted(_TRANSLATIONS.items(), key=lambda item: -len(item[0]))


class KnowledgeBase:
    """All entries, indexed for lookup. Build it once (`KnowledgeBase.load()`) and share it."""

    def __init__(self, entries: Iterable[Entry]):
        self.entries: tuple[Entry, ...] = tuple(entries)
        self.by_code: dict[str, Entry] = {e.code.upper(): e for e in self.entries}
        self.message_phrases: tuple[tuple[str, Entry], ...] = tuple(
            sorted(((m, e) for e in self.entries for m in e.messages), key=lambda pair: -len(pair[0]))
        )
        # Every API error label (Heroku AI, OpenAI, Anthropic types and codes, Platform API ids) -> platform.
        self.api_labels: dict[str, str] = {
            e.code: e.platform
            for e in self.entries
            if e.kind == "api" and re.fullmatch(r"[a-z][a-z0-9_]{2,60}", e.code)
        }
        self._lock = threading.Lock()  # guards self._db across threads
        self._index: Database | None = None  # built on the first free-text search (code look-ups need none)
        self._vocabulary = self._build_vocabulary()
        # `_correct`'s answers: a question's words are corrected for the search and again for its aliases.
        self._corrected: dict[str, str] = {}
        self._stems = frozenset(_stem(w) for w in self._vocabulary)
        self._hyphenated = tuple(e.code.lower() for e in self.entries if "-" in e.code)
        self._labels = tuple(e.code.lower() for e in self.entries if "_" in e.code)  # insufficient_quota, ...
        # What each entry is called: the stems of its title, keywords, aliases and log wordings.
        self._names: dict[str, frozenset[str]] = {
            e.code: frozenset(
                _stem(w)
                for text in (e.title, *e.keywords, *e.aliases, *e.messages)
                for w in _WORD.findall(text.lower())
                if w not in _STOPWORDS
            )
            for e in self.entries
        }
        self._aliases: tuple[tuple[str, Entry], ...] = tuple(
            sorted(((a, e) for e in self.entries for a in e.aliases), key=lambda pair: -len(pair[0]))
        )

    @classmethod
    @functools.cache
    def load(cls, directory: Path = KNOWLEDGE_DIR) -> KnowledgeBase:
        return cls(load_entries(directory))

    def get(self, code: str) -> Entry | None:
        return self.by_code.get(code.strip().upper())

    # -- index --

    def _build_index(self) -> Database:
        from sqlite_utils import Database  # imported here: log-file digests need entries, not the index

        # Shared by the Slack bot's listener threads (SQLite is built serialized; self._lock keeps one
        # query's cursor from interleaving with another's).
        db = Database(sqlite3.connect(":memory:", check_same_thread=False))
        db.table("entries").insert_all(
            (
                {
                    "code": e.code,
                    "title": e.title,
                    "keywords": " ; ".join(e.keywords + e.messages),
                    "summary": e.summary,
                    "body": " ".join(e.causes + e.fixes + e.notes),
                }
                for e in self.entries
            ),
            pk="code",
        )
        # Porter stemming lets "timeouts", "timing out" and "dropped" find "timeout" and "drop".
        db.table("entries").enable_fts(["code", "title", "keywords", "summary", "body"], tokenize="porter")
        return db

    def _build_vocabulary(self) -> tuple[str, ...]:
        words: set[str] = set()
        for e in self.entries:
            for text in (e.title, " ".join(e.keywords), " ".join(e.messages), e.summary):
                words.update(w for w in _WORD.findall(text.lower()) if len(w) >= 3 and not w.isdigit())
        return tuple(sorted(words))

    def _correct(self, word: str) -> str:
        """Map a misspelt word onto the index vocabulary ("backlogg" -> "backlog")."""
        from rapidfuzz import fuzz, process

        if len(word) < 4 or word in self._vocabulary or word.isdigit() or _stem(word) in self._stems:
            return word
        known = self._corrected.get(word)
        if known is not None:
            return known
        best = process.extractOne(word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=80)
        # "reachable" is not a typo of "unreachable": only correct real misspellings
        fixed = word if best is None or word in best[0] or best[0] in word else best[0]
        if len(self._corrected) < 100_000:  # bounded: questions come from anyone
            self._corrected[word] = fixed
        return fixed

    def search(self, text: str, limit: int = 5, platform: str | None = None) -> list[Match]:
        """Free-text search: BM25 over title, keywords, summary and body; best first."""
        # A URL has told the platform already (`_platform_hint`); its parts ("api", "v1", "com") are not words.
        words = [w for w in _WORD.findall(_URL.sub(" ", text.lower())) if w not in _STOPWORDS and len(w) >= 2]
        words = [self._correct(w) for w in words]
        if platform:
            # The platform is weighed below; its name matching entries that mention it ("anthropic" in the
            # overloaded entry's keywords) would count it twice and outrank what was asked.
            words = [w for w in words if w not in _NAMES_OF.get(platform, ())] or words
        if not words:
            return []
        query = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
        with self._lock:
            if self._index is None:
                self._index = self._build_index()
            rows = list(
                self._index.query(
                    "select entries.code as code, bm25(entries_fts, 1.0, 6.0, 5.0, 2.0, 0.6) as rank "
                    "from entries_fts join entries on entries.rowid = entries_fts.rowid "
                    "where entries_fts match :q order by rank limit 40",
                    {"q": query},
                )
            )
        from rapidfuzz import fuzz

        phrase = " ".join(words)
        # The question with its typos corrected, stop words kept: "client request interrumped" says H27's title.
        corrected = " ".join(self._correct(w) for w in _WORD.findall(text.lower()))
        unhyphened = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # "rate-limited" says "rate limit"
        if platform in _PROVIDER_NAMES:
            # Weighed below already: "claude" among an entry's keywords is not a phrase the question said.
            named = re.compile(r"\b(?:" + "|".join(_NAMES_OF[platform]) + r")\b")
            text, unhyphened = named.sub(" ", text), named.sub(" ", unhyphened)
        # A crash with its cause named ("memory error, worker crashes") is about the cause.
        crashed = bool(_CRASH_WORDS & set(words)) and not _CAUSE_WORDS & set(words)
        logs_named = _LOG_WORDS.search(text) is not None
        scored: list[Match] = []
        for row in rows:
            entry = self.by_code[row["code"].upper()]
            score = -row["rank"]
            # A title or keyword phrase said in full beats scattered word hits.
            title = entry.title.lower()
            if title in text or title in corrected or self._says_keyword(entry, text, unhyphened):
                score *= 1.6
            score += fuzz.token_set_ratio(phrase, entry.title.lower()) / 25
            if phrase == " ".join(w for w in _WORD.findall(entry.title.lower()) if w not in _STOPWORDS):
                score *= 1.5  # the question is the title itself
            if platform and (
                entry.platform in (platform, "general")
                or (
                    platform in ("anthropic", "openai")
                    and (entry.code in _SHARED_TYPES or platform in entry.elsewhere)
                    # OpenAI has its own entry for these ("rate_limit_exceeded", "invalid_api_key").
                    and not (platform == "openai" and entry.code in _OPENAI_NAMES)
                )
            ):
                score *= 1.5
            elif platform in _AI_PLATFORMS and entry.platform in (*_AI_PLATFORMS, "heroku", "fly"):
                score *= 0.5  # another API's error, or a hosting platform's code: the provider was named
            elif platform in ("heroku", "fly") and entry.platform in ("heroku", "fly", *_AI_PLATFORMS):
                # The other hosting platform's code ("Heroku app wakes up" is not a Fly machine), or an AI
                # API's error when only a hosting platform was named.
                score *= 0.5
            score *= _COMMON.get(entry.code, 1.0)
            if crashed and entry.code in _CRASH_ENTRIES.get(platform or "", ()):
                score *= 1.5  # "app crashed on heroku" is H10 / a crash loop before any rarer cause
            # The status pages summarise codes; a symptom should land on the code itself.
            if entry.kind == "page":
                score *= 0.85
            if entry.retired:
                score *= 0.6
            if entry.code in _SAID_BY_OTHERS and _SAID_BY_OTHERS[entry.code].search(text):
                score *= 0.5  # its words, and what gives another API's error away beside them
            if entry.kind == "logging" and not logs_named:
                score *= 0.5  # "scraper overflowing Heroku memory" is not a log buffer overflowing
            scored.append(Match(entry, round(score, 3)))
        scored.sort(key=lambda m: -m.score)
        return scored[:limit]

    # -- questions --

    def lookup(self, question: str) -> Answer:
        """Answer a question typed by a person; never raises for any input."""
        text = clean_question(question)[:2000]
        provider = _platform_hint(text)
        # Most people who name Claude call Anthropic's API (or Claude Code); Heroku AI is said by name.
        bare_claude = provider is None and re.search(r"\bclaude\b", text) is not None
        if bare_claude:
            provider = "anthropic"
        answer = self._lookup(question, text, provider)
        if provider in ("anthropic", "openai") and any(
            m.entry.elsewhere for m in (*answer.matches, *answer.candidates)
        ):
            # Anthropic and OpenAI share type names with Heroku AI: explain the one that was named.
            answer = replace(
                answer,
                matches=tuple(Match(m.entry.for_provider(provider), m.score) for m in answer.matches),
                candidates=tuple(Match(m.entry.for_provider(provider), m.score) for m in answer.candidates),
            )
        if bare_claude and answer.best and answer.best.platform in _AI_PLATFORMS and not answer.note:
            answer = replace(answer, note=AMBIGUOUS_CLAUDE)
        if not answer.evidence:
            answer = replace(answer, evidence=self._evidence(answer, text))
        if answer.kind == "search":
            answer = replace(answer, matches=_plausible(answer.matches))
        where = where_in(question)
        return replace(answer, where=where) if where.known else answer

    def _evidence(self, answer: Answer, text: str) -> str:
        """What decided the first match (see Answer.evidence)."""
        if not answer.matches or answer.kind not in ("code", "compare", "status", "search"):
            return ""
        if answer.kind in ("code", "compare"):
            return "code"
        if answer.kind == "status":
            return "status"
        if answer.matches[0].score == 1.0:
            return "wording"  # an error's own words, an alias or an exit status (`_said`, `_NAMED_EXIT`)
        return "phrase" if self._phrased(answer.matches[0].entry, text) else "words"

    def _lookup(self, question: str, text: str, platform: str | None) -> Answer:
        """The answer before the provider's own wording and the place are applied (`lookup`)."""
        if not _WORD.search(text):
            return Answer(question, "help", note=HELP_TEXT)

        codes, unknown = self._codes_in(text)
        # "Claude Rate Limit Exceeded": OpenAI's label in words, said of Anthropic's API; "Sonnet returns
        # "rate_limit"": the Platform API's label, said of an AI API.
        names = {
            "openai": {**_OPENAI_NAMES, "rate_limit": "rate_limit_exceeded"},
            "anthropic": {**_ANTHROPIC_NAMES, "rate_limit": "rate_limit_error"},
        }.get(platform or "")
        if names:
            renamed = (self.get(names[e.code]) if e.code in names else e for e in codes)
            codes = list(dict.fromkeys(e for e in renamed if e is not None))
        if codes and all(e.code.lower() in FAMILY_TYPES for e in codes):
            # "'type': 'invalid_request_error'" beside "The model o1 does not exist or you do not have access
            # to it": the family is named, the error's own sentence says which one (the body was cut off
            # before its `code`).
            said = self._said(text, question)
            if said and said.code not in {e.code for e in codes}:
                return Answer(question, "search", (Match(said, 1.0), *(Match(e, 0.8) for e in codes)))
        if codes:
            matches = tuple(Match(e, 1.0) for e in codes)
            kind = "compare" if len(codes) > 1 else "code"
            note = f"{unknown[0]} is not a known code." if unknown else ""
            return Answer(question, kind, matches, note)
        if unknown:
            return Answer(
                question,
                "unknown_code",
                tuple(Match(e, 0.0) for e in self._nearest(unknown[0])),
                note=f"{unknown[0]} is not a known {self._platform_of(unknown[0])} code.",
            )

        if _SLUG_SIZE.search(text):
            # Heroku refuses a build whose compiled slug is too big: a build failure, with no error code of
            # its own, that every code's words only brushed (R17's "slug checksum").
            return Answer(question, "help", note=SLUG_SIZE_TEXT)
        # "RESQUE_PRE_SHUTDOWN_TIMEOUT", "max_token": a setting's name says its words; snake_case the entries
        # use themselves ("internal_port", "max_connections") stays whole.
        text = _SNAKE.sub(lambda m: m[0] if m[0] in self._vocabulary else m[0].replace("_", " "), text)
        # Reason phrases glued into class names: "TooManyRequestsError", "Excon::Error::ServiceUnavailable".
        text = _GLUED_REASON.sub(lambda m: _GLUED_REASONS[m[1]], text)
        # "TIME OUT", "timed out waiting": the entries say "timeout".
        text = re.sub(r"\btim(?:e|es|ed|ing)?[ -]?out(s?)\b", r"timeout\1", text)  # and "timout"
        words = set(_WORD.findall(_URL.sub(" ", text)))
        family = self._family(text, words)
        if family:
            return family

        shell_miss = _COMMAND_NOT_FOUND.search(text)
        program = (shell_miss.group(1) or shell_miss.group(2)) if shell_miss else None
        crash = self.get("crash-loop")
        if program and program not in _CLI_NAMES and crash:
            # "bash: gunicorn: command not found" in a dyno's log: the start command's program was never
            # installed, so the process exits (status 127) at every start. Not the Platform API's not_found.
            beside = tuple(Match(e, 0.5) for e in map(self.get, ("H10", "exit-1")) if e)
            note = (
                f"The shell found no `{program}`: the start command names a program the build never "
                "installed. Add it to the app's dependencies, or fix the command in the Procfile (or CMD)."
            )
            if shell_miss.group(2) and platform is None:  # type: ignore[union-attr]
                # "spas: command not found" alone: a laptop's shell as likely as a dyno's start command.
                note = (
                    f"The shell found no `{program}`. If a dyno or Machine logged it, the start command names a "
                    f"program the build never installed. {UNSURE_TEXT}"
                )
                return Answer(question, "unsure", note=note, candidates=(Match(crash, 0.5), *beside))
            return Answer(question, "search", (Match(crash, 1.0), *beside), note)
        named = _NAMED_EXIT.search(text)
        exit_entry = self.get(f"exit-{named.group(1)}") if named else None
        if exit_entry:  # "Error 137", "(exit 143)": the exit status is the question, whatever else it says
            return Answer(question, "search", (Match(exit_entry, 1.0),))
        m = _EXIT_STATUS.search(text)
        if m and not self.get(f"exit-{int(m.group(1))}"):
            # An exit status we have no entry for: guessing a neighbour would mislead.
            status_number = int(m.group(1))
            if status_number == 0:
                # A process that ends without an error is not one that is supposed to keep running.
                nearest = ("crash-loop", "exit-1", "exit-143")
                why = (
                    "Exit status 0: the process ended on its own, without an error, but web and worker "
                    "processes must keep running. Heroku restarts one that ends and calls it crashed if it "
                    "keeps ending; on Fly the Machine's restart policy decides."
                )
            else:
                nearest = ("exit-1", "exit-137", "crash-loop")
                why = (
                    f"Exit status {status_number} is the app's own: the lines the process printed just before "
                    "it exited say why."
                )
            near = tuple(Match(e, 0.5) for e in map(self.get, nearest) if e)
            return Answer(question, "unsure", note=f"{why} {UNSURE_TEXT}", candidates=near)

        # An exact error wording is stronger evidence than a status number beside it ("500 errors with
        # FATAL: remaining connection slots are reserved").
        said = self._said(text, question)
        if said and platform in ("heroku", "fly") and said.platform in _AI_PLATFORMS:
            said = None  # '"service unavailable" on Heroku' is the router's page, not an AI API's status
        if said and said.platform in _AI_PLATFORMS and _DATASTORE.search(text):
            said = None  # "Postgres max connection error" is the database's, not an API client's
        if said:
            sdk = _SDK_CLASS.search(question) if said.platform in _PROVIDER_NAMES and not platform else None
            note = (
                AMBIGUOUS_SDK.format(cls=sdk.group(0), provider=_PROVIDER_NAMES[said.platform]) if sdk else ""
            )
            return Answer(question, "search", (Match(said, 1.0),), note)

        status = self._status(text, platform)
        called = (
            status and platform is None and (status.note in _CALLED_API_NOTES or _AI_CONTEXT.search(text))
        )
        if status and called:
            # Heroku's router and Fly's proxy never send 429 or 401, and "prompts" or "completions" say whose
            # status it is: an API the app calls, most often an AI API. OpenAI's meaning first (its SDK is the
            # one most code uses), the hosting platform's beside it.
            ai = self._status(text, "openai")
            if ai:
                # ... explained in OpenAI's words where an entry has them (server_error is Heroku AI's too).
                openai = tuple(Match(m.entry.for_provider("openai"), m.score) for m in ai.matches)
                ranked = (*openai[:2], *status.matches[:1], *openai[2:4])
                note = _CALLED_API_NOTES.get(status.note, _AI_STATUS_NOTE.format(status=status.note))
                # Not kind "status": those use their note as the status's label.
                return Answer(question, "search", ranked, note, evidence="status")
        if status:
            narrowing = {_stem(w) for w in self._specific_words(words, status_of=status)}
            if platform is None and not any(narrowing & self._names[m.entry.code] for m in status.matches):
                # "503 errors": a status alone, on no named platform, is a dozen different failures; so is
                # one beside words that fit none of its entries ("getting 404 while using the plugin" is
                # the app's own 404, not Heroku's no-such-app page).
                return Answer(
                    question,
                    "unsure",
                    note=f"{status.note} alone has many causes. {UNSURE_TEXT}",
                    candidates=status.matches[:3],
                )
            # "long running requests ... responds with 503": the symptom said in full names the code
            # behind the status better than the status page does.
            hits = self.search(text, platform=platform)
            page = status.matches[0].entry
            if (
                hits
                and hits[0].entry.platform == platform
                and self._phrased(hits[0].entry, text)
                and not self._phrased(page, text)
            ):
                rest = tuple(m for m in status.matches if m.entry is not hits[0].entry)
                return Answer(question, "search", (hits[0], *rest[:2]))
            return status

        if words and words <= _HELP_WORDS | _STOPWORDS:
            return Answer(question, "help", note=HELP_TEXT)
        if (
            crash
            and platform is None  # on a named platform its own crash code is ranked by the search below
            and _CRASH_WORDS & words
            and not _CAUSE_WORDS & words
            and _RELEASED.search(text)
        ):
            # "App Crash after latest push", "Newly deployed app crashes": a crash that came with a release
            # is the crash loop on either platform (roll back first); H10 is what Heroku's router logs.
            return self._phrase_answer(question, crash, "H10")
        sleeping = self.get("eco-sleeping")
        if sleeping and platform == "heroku" and _A_WHILE_LATER.search(text) and _GONE_QUIET.search(text):
            # "Heroku bot keeps going offline after some time": an Eco dyno sleeps after 30 minutes without
            # web traffic (the dyno is stopped with SIGTERM, hence exit 143 beside it).
            return self._phrase_answer(question, sleeping, "exit-143")
        if sleeping and platform == "heroku" and _IDLING.search(text) and not _IDLE_CONNECTION.search(text):
            # "Web process on Heroku idles and shuts down", "herokuのアイドルタイム対応": an Eco dyno asleep.
            return self._phrase_answer(question, sleeping)
        boot = self.get("R10")
        stopped = platform == "heroku" and _STOPPED.search(text) and not re.search(r"\brequests?\b", text)
        if (
            boot
            and platform in (None, "heroku")
            and _BOOT_WINDOW.search(text)
            and (_BOOTING.search(text) or stopped)
        ):
            # "fails to startup in 120s", "deploy under 60sec": a web dyno given a minute or more to start
            # is the boot timeout (60 s, raised to 120 s on request); the router's 30 s is another number.
            # H20 beside it: the router's own wait for a booting app, the other timeout there.
            return self._phrase_answer(question, boot, "H20")
        hits = self.search(text, platform=platform)
        if not hits:
            return Answer(question, "help", note="I don't know that one.\n\n" + HELP_TEXT)
        named_page = next(
            (
                m
                for m in hits[:3]
                if m.entry.kind == "page" and not m.entry.retired and self._page_named(m.entry, text)
            ),
            None,
        )
        if named_page and hits[0] is not named_page and not _CRASH_WORDS & words:
            # "Heroku Application Error" names the page people see; which code is behind it (H10 most often)
            # is in the logs, and the page's entry says how to find it. A crash ("App crashed. Application
            # Error") or a cause said in full besides the page's name ("redis connection limit") comes first.
            without_name = text.replace(self._page_name(named_page.entry), " ")
            if not self._phrased(hits[0].entry, without_name):
                hits = [named_page, *(m for m in hits if m is not named_page)]
        if hits[0].entry.code == "H12" and _STARTUP.search(text) and not re.search(r"\brequests?\b", text):
            # "long startup time results in timeout": a timeout while starting is the boot timeout (R10, with
            # the router's H20 beside it), not a slow request.
            boot_codes = [m for code in ("R10", "H20") for m in hits if m.entry.code == code]
            if not boot_codes and (r10 := self.get("R10")):
                boot_codes = [Match(r10, hits[0].score)]
            hits = [*boot_codes, *(m for m in hits if m not in boot_codes)]
        window = _WINDOW.search(text) if platform in (None, "heroku") else None
        timed = self.get(_ROUTER_WINDOWS[int(window.group(1))]) if window and _CUT_OFF.search(text) else None
        if timed and timed in [m.entry for m in hits]:
            # "terminates connections after 55 seconds of inactivity": a number that is one of the router's
            # documented limits says which of the codes the words fit (30 s H12, 55 s H15, 75 s H20).
            others = [m for m in hits if m.entry is not timed]
            return Answer(question, "search", (Match(timed, hits[0].score), *others[:2]), evidence="phrase")
        vague = _VAGUE_WORDS - _CRASH_WORDS if platform in ("heroku", "fly") else _VAGUE_WORDS
        # A status's reason phrase ("Not Found") says nothing beside its number; without one, "not found" is
        # the symptom itself ("Model GPT-4 not found").
        reason_words = _STATUS_WORDS if re.search(r"\b[1-5]\d\d\b", text) else _STATUS_WORDS - {"found"}
        specific = {
            _stem(w) for w in words - _STOPWORDS - vague - _PLATFORM_WORDS - reason_words if len(w) >= 3
        }
        if platform in _AI_PLATFORMS and hits[0].entry.platform not in _AI_PLATFORMS:
            # "Openai request timeout?": with only an AI API named, the hosting platform's code of the same
            # name (H12's "Request timeout") is not what was asked, nor a process topic ("chatgpt command
            # timeouts too early" is not an exit status); that API's own entry is.
            own = [m for m in hits if m.entry.platform in _AI_PLATFORMS]
            hosting_named = any(_said_in(h, text) for hints in _PLATFORM_HINTS.values() for h in hints)
            if own and not hosting_named:
                hits = [*own, *(m for m in hits if m not in own)]
        best = hits[0].entry
        phrased = self._phrased(best, text)
        # On a named hosting platform, an AI API's entry found by a word or two is not what was asked.
        # With an AI API named, a process topic (exit statuses, crash loops) found by a word or two ("claude
        # Exception") is no better.
        off_platform = (platform in ("heroku", "fly") and best.platform in _AI_PLATFORMS) or (
            platform in _AI_PLATFORMS and best.platform == "general"
        )
        # The other hosting platform's entry is never the answer, its words said in full or not: "Fly
        # requesting payment information" is not Heroku's verification_required.
        other_host = best.platform in _OTHER_HOST.get(platform or "", ())
        # Fly's proxy codes are named after plain network failures ("Connection refused", "Connection timed
        # out"): with Fly not named, those words are any client's, a database's or a browser's.
        unnamed_proxy = (
            platform is None
            and best.platform == "fly"
            and re.fullmatch(r"P[A-Z]\d\d", best.code) is not None
            and not any(_said_in(m.lower(), text) for m in best.messages)  # the proxy's own log words
            and len({m.entry.code[:2] for m in hits[:3]}) > 1  # a family said alike is offered as one below
        )
        # "Timeout error", "Requests sometimes time out" on no named platform: Heroku's router, its boot
        # timeout, Fly's proxy and every API client time out; only a log line says whose timeout it is.
        bare_timeout = platform is None and bool(specific) and specific <= _TIMEOUT_WORDS
        if (
            other_host
            or unnamed_proxy
            or (not phrased and (off_platform or bare_timeout or not specific & self._names[best.code]))
        ):
            # With nothing specific said, search hits are noise: offer what people on that platform hit most.
            found: Sequence[Match] = hits if specific else []
            if platform in ("heroku", "fly"):  # candidates of the platform named, or of no platform
                found = [m for m in found if m.entry.platform not in (*_OTHER_HOST[platform], *_AI_PLATFORMS)]
            elif platform in _AI_PLATFORMS:  # that API's errors, not a process's exit status
                found = [m for m in found if self._of_api(m.entry, platform)]
            elif bare_timeout:  # one timeout of each kind: Heroku's router, Fly's proxy, an API client's
                wide = self.search(text, limit=40)
                groups = (("heroku", "heroku-platform"), ("fly",), _AI_PLATFORMS)
                found = [
                    m for g in groups for m in [next((m for m in wide if m.entry.platform in g), None)] if m
                ]
            return Answer(question, "unsure", note=UNSURE_TEXT, candidates=self._candidates(found, platform))
        top = hits[0].score
        prefixes = {m.entry.code[:2] for m in hits[:3]}
        if (
            not phrased
            and len(hits) >= 3
            and len(prefixes) == 1
            and best.platform == "fly"
            and best.code[0] == "P"
        ):
            # "SSL error", "routing behaviour in Fly Proxy": the words name a family of Fly's proxy codes
            # (PT.. TLS, PR.. routing, PM.. machines), and only the code in a log line says which one.
            note = f"Those words fit several of Fly's {best.code[:2]}xx proxy codes alike. {UNSURE_TEXT}"
            return Answer(question, "unsure", note=note, candidates=tuple(hits[:3]))
        # With an AI API named, a hosting platform's code is no alternative ("litellm Connection Issue" is not
        # Fly's PC03).
        hosting = ("heroku", "heroku-platform", "fly") if platform in _AI_PLATFORMS else ()
        others = [m for m in hits[1:] if m.score >= top * 0.45 and m.entry.platform not in hosting]
        return Answer(question, "search", (hits[0], *others)[:5])

    def _phrase_answer(self, question: str, entry: Entry, beside: str | None = None) -> Answer:
        """`entry` first, decided by a rule on the question's words (evidence "phrase"), and the code
        `beside` it when the knowledge base has one."""
        other = self.get(beside) if beside else None
        return Answer(
            question,
            "search",
            (Match(entry, 1.0), *([Match(other, 0.5)] if other else [])),
            evidence="phrase",
        )

    def _phrased(self, entry: Entry, text: str) -> bool:
        """The entry's own title, or a keyword phrase with a specific word in it, said in full (typos
        corrected): "App crashed" is H10 however vague its words are one by one."""
        said_as = (text, " ".join(self._correct(w) for w in _WORD.findall(text)))
        title = entry.title.lower()
        # "API error" said names no entry: every API has errors.
        generic = set(_WORD.findall(title)) <= _PLATFORM_WORDS | {"error", "errors"}
        return (not generic and any(title in t for t in said_as)) or any(
            " " in k
            and any(_said_in(k, t) for t in said_as)
            and set(_WORD.findall(k)) - _VAGUE_WORDS - _PLATFORM_WORDS - _STOPWORDS - _STATUS_WORDS
            and not _STATUS.search(k)
            for k in entry.keywords
        )

    @staticmethod
    def _page_name(entry: Entry) -> str:
        """What people call an error page: "application error" for "Application error page (503)"."""
        return entry.title.lower().split(" page", 1)[0].split(" (", 1)[0]

    def _page_named(self, entry: Entry, text: str) -> bool:
        name = self._page_name(entry)
        return len(name.split()) >= 2 and _said_in(name, text)

    @staticmethod
    def _says_keyword(entry: Entry, *texts: str) -> bool:
        """One of the entry's keywords (longer than 3 characters) is in one of the texts (the question as
        typed, and with its hyphens as spaces) as whole words: "abort" is not in "aborting deployment", nor
        "node" in "nodegoat"."""
        return any(
            len(k) > 3 and (_said_in(k, t) or (k.endswith("s") and " " in k and _said_in(k[:-1], t)))
            for k in entry.keywords
            for t in texts
        )  # a plural keyword phrase said in the singular: "database connection" says "database connections"

    @staticmethod
    def _specific_words(words: set[str], status_of: Answer | None = None) -> set[str]:
        """The words of a question that narrow it down: not vague, not a platform, not a status number
        or its usual company ("http", "status code", "err", the status's own reason phrase)."""
        said = words - _STOPWORDS - _VAGUE_WORDS - _PLATFORM_WORDS - _STATUS_WORDS
        if status_of is not None:
            said = {w for w in said if not w.isdigit()}
        return {w for w in said if len(w) >= 3}

    @staticmethod
    def _of_api(entry: Entry, platform: str | None) -> bool:
        """The entry is one of the named AI API's errors (its own, or a type name it shares)."""
        return platform in _AI_PLATFORMS and (
            entry.platform == platform
            or (platform in _PROVIDER_NAMES and (entry.code in _SHARED_TYPES or platform in entry.elsewhere))
        )

    def _candidates(self, matches: Sequence[Match], platform: str | None) -> tuple[Match, ...]:
        """Two or three entries to offer when unsure: the best matches, topped up with the codes people
        hit most on that platform."""
        picked = list(matches[:3])
        common = _USUAL.get(platform or "", ()) + tuple(sorted(_COMMON, key=lambda c: -_COMMON[c]))
        for code in common:
            entry = self.get(code)
            if len(picked) >= 3 or entry is None:
                break
            if entry not in [m.entry for m in picked] and (
                platform is None or entry.platform in (platform, "general") or self._of_api(entry, platform)
            ):
                picked.append(Match(entry, 0.0))
        return tuple(picked[:3])

    def _said(self, text: str, question: str) -> Entry | None:
        """An entry whose exact wording is in the question: an API error as the paste reader sees it (a
        documented sentence, `Excon::Error::TooManyRequests`, `Error ID: forbidden`) or an alias ("too many
        connections for role")."""
        from bot.apierrors import find_api_signals  # the signature table imports this module

        signals = find_api_signals(question[:2000], self.api_labels)
        said = self.get(signals[0].code or "") if signals else None
        if said:
            # A provider's own wording ("That model is currently overloaded") is explained as that provider's.
            return said.for_provider(signals[0].api)
        # As cleaned, as typed (before "timed out" became "timeout"), and with typos corrected ("connection eror").
        texts = (text, question[:2000].lower(), " ".join(map(self._correct, _WORD.findall(text))))
        return next(
            (
                entry
                for alias, entry in self._aliases
                for said_as in texts
                if alias in said_as and re.search(rf"(?<![\w]){re.escape(alias)}(?![\w])", said_as)
            ),
            None,
        )

    def _codes_in(self, text: str) -> tuple[list[Entry], list[str]]:
        found: list[Entry] = []
        unknown: list[str] = []
        candidates: list[tuple[int, str]] = []
        for m in _HEROKU_CODE.finditer(text):
            candidates.append((m.start(), f"{m.group(1).upper()}{int(m.group(2)):02d}"))
        for m in _FLY_CODE.finditer(text):
            candidates.append((m.start(), f"P{m.group(1).upper()}{int(m.group(2)):02d}"))
        for word in set(_WORD.findall(text)):
            label = self._label(word) if "_" in word else None
            if label:
                candidates.append((text.find(word), label.upper()))
        for code in self._hyphenated:  # "HTTP-503", "AI-429", "exit-137" written as they are
            written = re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text) if code in text else None
            if written:
                candidates.append((written.start(), code.upper()))
        for label in self.api_labels:  # an API error's name written out: "rate limit error"
            spaced = label.replace("_", " ")
            # A longer wording that holds the name is another error's ("Request too large for gpt-4o in
            # organization" is OpenAI's tokens-per-minute limit, not Anthropic's 413): `_said` decides.
            if (
                label.count("_") >= 2
                and re.search(rf"\b{spaced}\b", text)
                and not any(spaced in alias and alias in text for alias, _ in self._aliases)
                and not (label in _SAID_BY_OTHERS and _SAID_BY_OTHERS[label].search(text))
            ):
                candidates.append((text.find(spaced), label.upper()))
        for _, code in sorted(candidates):
            entry = self.by_code.get(code)
            if entry is None:
                unknown.append(code)
            elif entry not in found:
                found.append(entry)
        if len(found) > 1:
            # An error body names its family and its kind ('type': 'invalid_request_error', 'code':
            # 'invalid_api_key'): the kind says what went wrong, so it comes first.
            found.sort(key=lambda e: e.code.lower() in FAMILY_TYPES)
        return found, unknown

    def _label(self, word: str) -> str | None:
        """The API error label a snake_case word is, misspelt or not ("Insufficent_quota")."""
        from rapidfuzz import fuzz, process

        if word.upper() in self.by_code:
            return word
        # Long labels only: a letter off in "rate_limit" is another word ("rate_limits" in a config key).
        best = (
            process.extractOne(word, self._labels, scorer=fuzz.ratio, score_cutoff=92)
            if len(word) > 12
            else None
        )
        return best[0] if best else None

    def _platform_of(self, code: str) -> str:
        return "Fly.io" if code.startswith("P") else "Heroku"

    def _nearest(self, code: str, n: int = 3) -> list[Entry]:
        prefix = code.rstrip("0123456789")
        number = int(code[len(prefix) :] or 0)
        same = [
            e
            for e in self.entries
            if e.code.rstrip("0123456789") == prefix and e.code[len(prefix) :].isdigit()
        ]
        if not same:  # an unknown family ("PZ99"): offer the platform's codes nearest by number
            same = [
                e
                for e in self.entries
                if e.code[:1] == code[:1] and e.code[-2:].isdigit() and e.platform in ("heroku", "fly")
            ]
            prefix = ""
            same.sort(key=lambda e: (abs(int(e.code[-2:]) - number % 100), e.retired, e.code))
            return same[:n]
        same.sort(key=lambda e: (abs(int(e.code[len(prefix) :]) - number), e.retired, e.code))
        return same[:n]

    def _family(self, text: str, words: set[str]) -> Answer | None:
        # "all R codes", "list fly tls errors", "every PC code", "heroku runtime errors list"
        # Only when a list is asked for: "all R codes", "list fly tls errors", "every PC code" ("all Claude
        # models" and "every month" are not).
        # "list" only beside codes or errors: "loading list of posts (is it fly.io?)" asks for no list.
        if not re.search(
            r"\b(?:all|every|list)\b(?:\s+\S+){0,3}?\s+(?:codes?|errors?)\b|\b(?:codes?|errors?)\s+list\b"
            r"|\b(?:family|families)\b",
            text,
        ) and not re.search(r"\b(?:[hrl]|p[pucmtaerl])[ -]?(?:codes|errors|family)\b", text):
            return None
        m = re.search(r"\b(p[pucmtaerl]|[hrl])[ -]?(?:codes?|errors?|family|series|\d?x+)\b", text)
        prefix = m.group(1).upper() if m else None
        if prefix is None:
            fly = "fly" in words or any(w in words for w in ("tls", "ssl", "proxy"))
            table = _FLY_FAMILIES if fly else _HEROKU_FAMILIES
            prefix = next((table[w] for w in words if w in table), None)
            if prefix is None and fly:
                prefix = "P"
            if prefix is None and (words & {"ai", "inference"}):
                entries = [e for e in self.entries if e.platform == "heroku-ai"]
                return Answer(text, "family", tuple(Match(e, 1.0) for e in entries), "Heroku AI errors")
        if prefix is None:
            return None
        entries = [
            e
            for e in self.entries
            if e.code.startswith(prefix)
            and e.code[len(prefix) : len(prefix) + 1].isalnum()
            and e.platform in ("heroku", "fly")
            and e.kind != "page"
        ]
        if prefix in ("H", "R", "L"):
            entries = [e for e in entries if e.code[1:].isdigit()]
        if not entries:
            return None
        return Answer(text, "family", tuple(Match(e, 1.0) for e in entries), f"{prefix} codes")

    def _status(self, text: str, platform: str | None) -> Answer | None:
        # The first error status: "status code not equals 200, code is 401" is about the 401.
        m = next((s for s in _STATUS.finditer(text) if int(s.group(1)) >= 400), None)
        # A reason phrase only on a named platform: "Too Many Requests" alone is any API's.
        reason = None if m else _REASON.search(text)
        if not m and not reason:
            return None
        status = int(m.group(1)) if m else _REASONS[reason.group(0)]  # type: ignore[union-attr]
        if status < 400:
            return None
        ranked: list[Match] = []
        if platform in _AI_PLATFORMS:
            # That API's own error types first (best match for the rest of the question on top), then
            # Heroku AI's status and types, which use the same names.
            own = [
                e
                for e in self.entries
                if (e.platform == platform or platform in e.elsewhere) and status in e.statuses
            ]
            if platform != "heroku-ai" and own:
                words = {m.entry.code: m.score for m in self.search(text, limit=40, platform=platform)}
                own.sort(key=lambda e: (-words.get(e.code, 0), -_COMMON.get(e.code, 1.0)))
            first = self.get(f"AI-{status}")
            pool = [
                e
                for e in self.entries
                if e.platform == "heroku-ai" and status in e.statuses and e is not first
            ]
            ai = ([first] if first else []) + pool
            ordered = ai if platform == "heroku-ai" else own + ai
            if not ordered:  # "GitHub Models API error 413" (OpenAI-style): another AI API's meaning of it
                ordered = [e for e in self.entries if e.platform in _AI_PLATFORMS and status in e.statuses]
                # ... in the named API's own words: an OpenAI 402 ("credits") is its insufficient_quota.
                names = {"openai": _OPENAI_NAMES, "anthropic": _ANTHROPIC_NAMES}.get(platform or "", {})
                ordered = [self.get(names[e.code]) or e if e.code in names else e for e in ordered]
            ranked = [Match(e, 1.0 if i == 0 else 0.8) for i, e in enumerate(dict.fromkeys(ordered))]
        else:
            pool = [e for e in self.entries if status in e.statuses and e.platform in ("heroku", "fly")]
            if platform in ("heroku", "fly"):
                pool = [e for e in pool if e.platform == platform]
                if not pool:
                    # Fly's proxy codes carry no fixed status: the rest of the question decides (and
                    # may leave the bot unsure).
                    return None
            severity = {s: i for i, s in enumerate(SEVERITIES)}
            from bot.signatures import providers_in  # the signature table imports this module

            # A Platform API client's failure ("PlatformAPI::Addon#info (404)") is the API's error id; else
            # the status page entry first: it lists the codes behind the status.
            api = "heroku-platform" in providers_in(text)
            pool.sort(
                key=lambda e: (
                    api and e.kind != "api",
                    e.kind != "page",
                    e.retired,
                    -severity[e.severity],
                    e.code,
                )
            )
            ranked = [Match(e, 1.0 if i == 0 else 0.8) for i, e in enumerate(pool)]
        if not ranked:
            return None
        return Answer(text, "status", tuple(ranked[:8]), f"HTTP {status}")


def _platform_hint(text: str) -> str | None:
    from bot.signatures import providers_in  # the signature table imports this module

    evidence = providers_in(text)
    ai = [p for p in evidence if p in _AI_PLATFORMS]
    if ai:
        return ai[0]
    if "heroku-platform" in evidence:
        return "heroku"
    words = f" {' '.join(_WORD.findall(text.replace('.', '')))} "

    def said(hints: Iterable[str]) -> bool:
        return any(f" {' '.join(_WORD.findall(h.replace('.', '')))} " in words for h in hints)

    # A platform's own name before the words that only suggest it: "Heroku memory quota killing machine" is
    # about Heroku, whatever "machine" suggests.
    for platform, hints in _PLATFORM_HINTS.items():
        if said(h for h in hints if h in _PLATFORM_NAMES):
            return platform
    for platform, hints in _PLATFORM_HINTS.items():
        if said(hints):
            return platform
    if re.search(r"\b(?:sonnet|opus)\b", text):
        return "anthropic"  # "Sonnet [1M] returns rate_limit": Claude's models by their family names
    if _GATEWAY.search(text) or re.search(r"\bllms?\b", text):
        # "Getting litellm Connection Issue", "Can't connect to any LLM": the gateways speak OpenAI's API and
        # errors, and so do most apps that call "an LLM".
        return "openai"
    return None


# What may follow a word and keep it the same word: "rate limits", "crashed", "timing out".
_INFLECTION = re.compile(r"(?:s|es|d|ed|ing)?(?![a-z0-9])")


def _said_in(phrase: str, text: str) -> bool:
    """`phrase` is in `text` as whole words, inflections allowed (a substring test would find "ram" in
    "program")."""
    start = text.find(phrase)
    while start != -1:
        before = text[start - 1] if start else " "
        if not before.isalnum() and _INFLECTION.match(text, start + len(phrase)):
            return True
        start = text.find(phrase, start + 1)
    return False


def _stem(word: str) -> str:
    """A crude stem, enough to let "timeouts", "crashes" and "wakes" meet "timeout", "crash" and "wake"."""
    if word.endswith(("shes", "ches", "xes", "zes")) and len(word) > 5:
        return word[:-2]
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word
