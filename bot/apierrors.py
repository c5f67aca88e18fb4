"""JSON error bodies and `curl -i` output -> `ApiError`.

Knows Heroku Managed Inference (`{"error": {"code", "message", "type"}}` or flat), the Heroku Platform
API (`{"id", "message"}`), OpenAI-style (`{"error": {"type", "code": "insufficient_quota"}}`) and
Anthropic-style (`{"type": "error", "error": {"type": "overloaded_error"}}`) bodies, and any other
JSON object that carries a type or code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot import signatures
from bot.knowledge import FAMILY_TYPES

MAX_SCAN = 200_000  # only this much of a paste is searched for JSON bodies

_STATUS_LINE = re.compile(
    r"(?m)^\s{0,8}(?:<\s)?HTTP/[0-9.]{1,3}\s(?P<status>[1-5]\d\d)\b(?P<reason>[^\r\n]{0,60})"
)
_HEADER = re.compile(
    r"(?im)^\s{0,8}(?:<\s)?(?P<name>retry-after|x-ratelimit-[a-z-]{1,40}|ratelimit-[a-z-]{1,40}|x-request-id"
    r"|request-id|content-type)\s{0,3}:\s{0,3}(?P<value>[^\r\n]{1,200})"
)
_TYPED_CODE = re.compile(r"^[a-z][a-z0-9_]{2,60}$")


@dataclass(frozen=True)
class ApiError:
    """One error response: what the body and the status line say."""

    api: str  # "heroku-ai" | "heroku-platform" | "openai" | "anthropic" | "unknown"
    status: int | None = None  # the HTTP status (from the status line, or the body's numeric code)
    body_status: int | None = None  # the numeric code inside the body, if any
    line_status: int | None = None  # the status line of `curl -i` output, if any
    type: str | None = None  # invalid_request_error, rate_limit_error, overloaded_error ...
    code: str | None = None  # a string code: insufficient_quota, rate_limit (Heroku Platform API id) ...
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def retry_after(self) -> str | None:
        return self.headers.get("retry-after")

    @property
    def disagreement(self) -> str | None:
        """Why the status and the type (or two statuses) do not tell the same story, if they don't."""
        if self.line_status and self.body_status and self.line_status != self.body_status:
            if self.type:
                return (
                    f"the HTTP status line says {self.line_status} but the body says {self.body_status} "
                    f"({self.type}); believe the body: its type names the failure, and something between you "
                    f"and the API (a gateway, proxy or SDK wrapper) changed the status on the way"
                )
            return (
                f"the HTTP status line says {self.line_status} but the body says {self.body_status}; "
                f"believe the status line for what reached you, and look for a proxy in between"
            )
        expected = _TYPE_STATUS.get(self.type or "")
        if expected and self.status and self.status not in expected:
            return (
                f"the status is {self.status} but the type is {self.type} (normally "
                f"{' or '.join(map(str, expected))}); believe the type: it is the API's own category of the "
                f"failure, while statuses get rewritten by proxies and SDK wrappers"
            )
        return None


# What each error type usually comes with, to spot a body that contradicts its status.
_TYPE_STATUS: dict[str, tuple[int, ...]] = {
    "invalid_request_error": (400, 404, 413, 422),
    "authentication_error": (401,),
    "authorization_error": (403,),
    "permission_error": (403,),
    "rate_limit_error": (429,),
    "server_error": (500, 502, 503),
    "api_error": (500,),
    "overloaded_error": (529, 503),
    "not_found_error": (404,),
    "request_too_large": (413,),
}


def find_json_objects(text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Every top-level JSON object in `text` (a paste may hold several, between other lines).

    Only a `{` that opens an object (`{"` or `{}`) is tried, and at most `_MAX_FAILED` tries may fail:
    each failed parse costs the length of the text before it, so unbounded retries are quadratic on a
    paste of braces.
    """
    text = text[:MAX_SCAN]
    found: list[dict[str, Any]] = []
    decoder = json.JSONDecoder()
    failed = 0
    pos = 0
    while len(found) < limit and failed < _MAX_FAILED:
        m = _OBJECT_START.search(text, pos)
        if not m:
            break
        try:
            obj, end = decoder.raw_decode(text, m.start())
        except ValueError:
            failed += 1
            pos = m.start() + 1
            continue
        except RecursionError:
            break  # absurdly deep nesting: nobody pastes that as an error body
        if isinstance(obj, dict):
            found.append(obj)
        pos = end
    return found


_OBJECT_START = re.compile(r'\{\s{0,40}["}]')
_MAX_FAILED = 64


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 100 <= value <= 599:
        return value
    if isinstance(value, str) and value.isdigit() and 100 <= int(value) <= 599:
        return int(value)
    return None


def _text(value: object) -> str:
    return value.strip()[:500] if isinstance(value, str) else ""


def _identifier(value: object) -> str | None:
    """An error type or code as an identifier. A terminal may have wrapped it ("overload     ed_error"):
    white space inside is dropped; anything that is still not an identifier (a sentence) is no code."""
    text = re.sub(r"\s+", "", value) if isinstance(value, str) else ""
    return text if _TYPED_CODE.match(text) else None


def from_body(body: dict[str, Any]) -> ApiError | None:
    """Read one JSON object as an error body; None when it carries no error."""
    inner = body.get("error")
    if isinstance(inner, dict):
        kind = _identifier(inner.get("type"))
        code_value = inner.get("code")
        status = _as_int(code_value)
        code = _identifier(code_value) if isinstance(code_value, str) and not code_value.isdigit() else None
        message = _text(inner.get("message"))
        if body.get("type") == "error":
            api = "anthropic"
        elif code or "param" in inner:
            api = "openai"
        elif status is not None:
            api = "heroku-ai"
        else:
            api = "unknown"
        return ApiError(api=api, status=status, body_status=status, type=kind, code=code, message=message)
    if isinstance(inner, str) and _TYPED_CODE.match(inner.strip()):
        # {"error": "invalid_grant", "error_description": "..."} and friends
        return ApiError(
            api="unknown",
            code=_text(inner),
            message=_text(body.get("error_description") or body.get("message")),
        )
    if (
        "id" in body
        and "message" in body
        and isinstance(body.get("id"), str)
        and _TYPED_CODE.match(body["id"])
    ):
        return ApiError(api="heroku-platform", code=body["id"], message=_text(body.get("message")))
    kind = _text(body.get("type")) or None
    status = _as_int(body.get("code")) or _as_int(body.get("status")) or _as_int(body.get("status_code"))
    code = (
        _text(body.get("code"))
        if isinstance(body.get("code"), str) and not str(body["code"]).isdigit()
        else None
    )
    if kind and not _TYPED_CODE.match(kind):
        kind = None
    if status is not None and status < 400:
        return None
    if (
        status is None
        and code is None
        and not (kind and re.search(r"error|exceeded|quota|invalid|denied", kind))
    ):
        return None  # {"type": "message"} and other ordinary JSON
    api = "heroku-ai" if kind and status is not None else "unknown"
    return ApiError(
        api=api,
        status=status,
        body_status=status,
        type=kind,
        code=code,
        message=_text(body.get("message") or body.get("detail") or body.get("error_description")),
    )


def find_api_errors(text: str) -> list[ApiError]:
    """All error bodies in a paste, with the status line and rate-limit headers of `curl -i` output."""
    text = text[:MAX_SCAN]
    line = _STATUS_LINE.search(text)
    line_status = int(line.group("status")) if line else None
    headers = {m.group("name").lower(): m.group("value").strip() for m in _HEADER.finditer(text)}
    errors: list[ApiError] = []
    for body in find_json_objects(text):
        error = from_body(body)
        if error is None:
            continue
        status = line_status or error.status
        api = error.api
        if api == "unknown" and (
            any(h.startswith("x-ratelimit") for h in headers) or "inference" in text.lower()
        ):
            api = "heroku-ai"
        errors.append(
            ApiError(
                api=api,
                status=status,
                body_status=error.body_status,
                line_status=line_status,
                type=error.type,
                code=error.code,
                message=error.message,
                headers=headers,
            )
        )
    if not errors and line and line_status and line_status >= 400:
        errors.append(
            ApiError(
                api="unknown",
                status=line_status,
                line_status=line_status,
                message=line.group("reason").strip(),
                headers=headers,
            )
        )
    return errors


# --- errors as SDKs and tools print them ------------------------------------------------------------------
#
# Most API errors are not pasted as clean JSON but as an SDK's exception line (a Python dict repr, a JS
# object literal, escaped JSON, a Go map), a message alone, or a CLI's "Error ID:". The labels come from
# the signature table; the provider from evidence in the paste, never from the label alone.

_SDK_CLASS = re.compile(
    r"\b(?:(?P<module>openai|anthropic)(?:\.error)?\.)?(?P<cls>RateLimitError|AuthenticationError"
    r"|NotFoundError|InternalServerError|APIConnectionError|BadRequestError|PermissionDeniedError"
    r"|OverloadedError|APITimeoutError)\b"
)
_SDK_CLASS_NAMES = (
    "RateLimitError",
    "AuthenticationError",
    "NotFoundError",
    "InternalServerError",
    "APIConnectionError",
    "BadRequestError",
    "PermissionDeniedError",
    "OverloadedError",
    "APITimeoutError",
)
_STATUS_IN_TEXT = re.compile(
    r"(?:Error code:|status(?: code)?:?|HTTP/[\d.]{1,3}|API Error:|Error:|Status Code:|Actual\()\s{0,3}(?P<a>[1-5]\d\d)\b"
    r"|\b(?P<b>[45]\d\d) (?:Client|Server) Error\b|^<-- (?P<c>[45]\d\d)\b"
    r"|\b(?P<d>[45]\d\d) (?:Too Many Requests|Unauthorized|Forbidden|Not Found|Bad Request|Internal Server Error"
    r"|Bad Gateway|Service Unavailable|Payment Required)\b",
    re.I | re.M,
)
_EXCON = re.compile(
    r"Excon::Error::(?:TooManyRequests|Unauthorized|Forbidden|NotFound|UnprocessableEntity)"
    r"|Expected\([^)]{0,80}\) <=> Actual\(\d{3}"
)
# What an exception class or a bare status means when nothing more specific is in the paste.
_FALLBACK: dict[str, dict[str | int, str]] = {
    "openai": {
        "RateLimitError": "rate_limit_exceeded",
        "AuthenticationError": "invalid_api_key",
        "NotFoundError": "model_not_found",
        "InternalServerError": "server_error",
        "BadRequestError": "invalid_request_error",
        "APIConnectionError": "connection_error",
        "APITimeoutError": "connection_error",
        429: "rate_limit_exceeded",
        401: "invalid_api_key",
        404: "model_not_found",
        500: "server_error",
        503: "server_error",
        400: "invalid_request_error",
    },
    "anthropic": {
        "RateLimitError": "rate_limit_error",
        "AuthenticationError": "authentication_error",
        "NotFoundError": "not_found_error",
        "InternalServerError": "api_error",
        "OverloadedError": "overloaded_error",
        "BadRequestError": "invalid_request_error",
        "PermissionDeniedError": "permission_error",
        "APIConnectionError": "connection_error",
        "APITimeoutError": "connection_error",
        429: "rate_limit_error",
        529: "overloaded_error",
        401: "authentication_error",
        400: "invalid_request_error",
        500: "api_error",
        403: "permission_error",
        404: "not_found_error",
    },
    "heroku-platform": {
        429: "rate_limit",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        422: "invalid_params",
        402: "delinquent",
    },
}
# The provider of an SDK exception class that both OpenAI's and Anthropic's SDKs define, with no other
# evidence in the text.
AMBIGUOUS_SDK = "openai-or-anthropic"
# Labels that name a family; a more specific label found beside them says more.
_GENERIC = FAMILY_TYPES
# Heroku Platform API ids are ordinary words ("not_found", "gone"): they count only as an `id` field.
_ID_ONLY = "heroku"


def providers_in(text: str) -> tuple[str, ...]:
    """The APIs a paste shows evidence of; the table is `signatures.PROVIDER_EVIDENCE`."""
    return signatures.providers_in(text)


def find_api_signals(
    text: str,
    labels: dict[str, str],
    known: frozenset[str] = frozenset(),
    evidence: tuple[str, ...] | None = None,
) -> list[ApiError]:
    """API errors in any notation. `labels` maps every API error label the knowledge base knows to its
    platform. Returns one ApiError per label, most specific first."""
    text = text[:MAX_SCAN]
    low = text.lower()
    found: dict[str, ApiError] = {}
    # The provider evidence is read only when something needs it: most pastes are plain logs.
    memo: list[tuple[str, ...]] = [] if evidence is None else [evidence]

    def proof() -> tuple[str, ...]:
        if not memo:
            memo.append(providers_in(text))
        return memo[0]

    def add(label: str, provider: str | None, message: str = "", status: int | None = None) -> None:
        if label in found or label in known:
            return
        if provider is None:
            platform = labels.get(label)
            provider = proof()[0] if proof() else ("ambiguous" if platform == "heroku-ai" else platform)
        found[label] = ApiError(api=provider or "ambiguous", status=status, code=label, message=message[:300])

    for wording in signatures.API_WORDINGS:
        m = wording.trigger in low and wording.pattern.search(text)
        if m:
            line = _line_of(text, m.start())
            status = _STATUS_IN_TEXT.search(line)  # "Error code: 403 - {... the sentence ...}"
            add(
                wording.label,
                wording.provider,
                line,
                int(next(g for g in status.groups() if g)) if status else None,
            )
    for m in signatures.HEROKU_ERROR_ID.finditer(text):
        if m.group("id") in labels:
            add(m.group("id"), "heroku-platform", _line_of(text, m.start()))
    # Fields live in objects, maps and logfmt error lines; a paste of plain log lines has none to scan.
    structured = "{" in text or "map[" in text or "error_type" in low or "error_code" in low
    fields = [
        (m.start(), m.group("key"), m.group("value"))
        for m in (signatures.API_FIELD.finditer(text) if structured else ())
        if m.group("value") in labels and (labels[m.group("value")] != _ID_ONLY or m.group("key") == "id")
    ]
    codes = [pos for pos, key, _ in fields if key in ("code", "error_code")]
    for pos, key, value in fields:
        if key in ("type", "error_type") and any(abs(pos - c) < 400 for c in codes):
            continue  # the same object's `code` is the more specific label
        add(value, None, _line_of(text, pos))
    if not found and not known:
        _fallbacks(text, proof, add)
    if any(label not in _GENERIC for label in found):
        found = {k: v for k, v in found.items() if k not in _GENERIC}
    return [e for e in found.values() if e.code in labels]


def _fallbacks(text: str, proof: Callable[[], tuple[str, ...]], add: Callable[..., None]) -> None:
    """No label in the paste: an SDK's exception class, or a status against a known API, still says what
    kind of failure it was."""
    low = text.lower()
    if (
        ("excon" in low or "expected(" in low)
        and _EXCON.search(text)
        # Excon is the Ruby client of Heroku's platform-api gem: Heroku's unless another API is named.
        and not {"openai", "anthropic", "heroku-ai"} & set(proof())
    ):
        m = re.search(r"Actual\((\d{3})", text)
        code = int(m.group(1)) if m else 429 if "TooManyRequests" in text else None
        label = _FALLBACK["heroku-platform"].get(code or 0)
        excon = _EXCON.search(text)
        if label and excon:
            add(label, "heroku-platform", _line_of(text, excon.start()), code)
            return
    m = _SDK_CLASS.search(text) if any(name in text for name in _SDK_CLASS_NAMES) else None
    provider = (
        m.group("module")
        if m and m.group("module")
        else next((p for p in proof() if p in ("openai", "anthropic", "heroku-platform")), None)
    )
    if provider is None and m is not None and m.group("cls") == "OverloadedError":
        provider = "anthropic"  # only Anthropic's SDK has it
    if provider is None and m is not None:
        # OpenAI's and Anthropic's SDKs raise the same class names. OpenAI's SDK is the one most code calls
        # (OpenAI-compatible APIs, Heroku AI's included, are called through it), so its meaning is given,
        # marked "ambiguous" so that the reader is told.
        own = "openai" if m.group("cls") in _FALLBACK["openai"] else "anthropic"
        add(_FALLBACK[own][m.group("cls")], AMBIGUOUS_SDK, _line_of(text, m.start()))
        return
    if provider is None:
        return
    status_match = _STATUS_IN_TEXT.search(text)
    status = int(next(g for g in status_match.groups() if g)) if status_match else None
    if m and m.group("cls") in _FALLBACK[provider]:
        add(_FALLBACK[provider][m.group("cls")], provider, _line_of(text, m.start()), status)
    elif status_match and status in _FALLBACK[provider]:
        add(_FALLBACK[provider][status], provider, _line_of(text, status_match.start()), status)


def _line_of(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start : end if end != -1 else len(text)].strip()
