"""One rule at a time: codes found by their own marks in any envelope, API errors in any notation,
failures without a code. The lines are short; the real pastes they stand for are in tests/data/real."""

from __future__ import annotations

import re

import pytest

from bot.apierrors import AMBIGUOUS_SDK, find_api_signals, providers_in
from bot.diagnose import diagnose
from bot.failures import find_failures
from bot.logs import parse_line


@pytest.mark.parametrize(
    "line, code, where",
    [
        ("Mar 14 02:11:09 shop-prod heroku/web.2:  Error R14 (Memory quota exceeded)", "R14", "web.2"),
        (
            "131 <45>1 2019-03-14T02:11:09.123456+00:00 host heroku web.2 - Error R14 (Memory quota exceeded)",
            "R14",
            "web.2",
        ),
        ("heroku web.2 - - Error R14 (Memory quota exceeded)", "R14", "web.2"),
        ("    2019-03-14T02:11:09+00:00 heroku[web.2]: Error R14 (Memory quota exceeded)", "R14", "web.2"),
        (
            " Error L10 (output buffer overflow): 45 messages dropped since 2019-03-14T02:11:09+00:00.",
            "L10",
            None,
        ),
        (
            '2019-03-14T02:11:09+00:00 heroku[router]: http_error="Invalid HTTP status line" at=error code=H17 '
            'desc="Poorly formatted HTTP response"',
            "H17",
            None,
        ),
        ('Error: code=H14 desc="No web processes running" method=GET path="/"', "H14", None),
        ("`[PC01] instance refused connection. is your app listening on 0.0.0.0:8080?`", "PC01", None),
        ('"message": "[PC01] instance refused connection"', "PC01", None),
        ("could not find a good candidate within 40 attempts at load balancing", "PR04", None),
        ("since the deploy we get Error R14 (Memory quota exceeded) on web.2", "R14", None),
        ("getting error code H11 (Backlog too deep) at peak", "H11", None),
    ],
)
def test_codes_are_found_in_any_envelope(line, code, where):
    e = parse_line(line)
    assert e.code == code
    if where:
        assert e.where == where


@pytest.mark.parametrize(
    "line",
    [
        "heroku router - meaning our app did not answer",  # prose that happens to say "heroku router -"
        "we named our tag H12 after heroku's, sorry",
        'log.warning("slow", tag="H12")',
        "2024-09-12T10:14:03Z app[9080e4d1a45187] ord [info][PR01] retrying payment",
        "request_id=5f1c-R14-aa path=/R10/items",
    ],
)
def test_look_alikes_are_not_codes(line):
    assert parse_line(line).code is None


@pytest.mark.parametrize(
    "text, label, provider",
    [
        (
            "openai.RateLimitError: Error code: 429 - {'error': {'message': 'x', 'type': 'requests', 'param': None, "
            "'code': 'rate_limit_exceeded'}}",
            "rate_limit_exceeded",
            "openai",
        ),
        (
            "error: { type: 'overloaded_error', message: 'Overloaded' } anthropic",
            "overloaded_error",
            "anthropic",
        ),
        (
            'body: "{\\"id\\":\\"forbidden\\",\\"message\\":\\"no\\"}" from api.heroku.com',
            "forbidden",
            "heroku-platform",
        ),
        (
            "openai.error.RateLimitError: You exceeded your current quota, please check your plan and billing details",
            "insufficient_quota",
            "openai",
        ),
        ("This model's maximum context length is 8192 tokens", "context_length_exceeded", "openai"),
        ("Incorrect API key provided: sk-abc***", "invalid_api_key", "openai"),
        (
            "anthropic.AuthenticationError: Error code: 401 - invalid x-api-key",
            "authentication_error",
            "anthropic",
        ),
        ("Your credit balance is too low to access the Anthropic API.", "billing_error", "anthropic"),
        (" »   Error ID: verification_required", "verification_required", "heroku-platform"),
        (
            "Excon::Error::TooManyRequests (Expected([200]) <=> Actual(429 Unknown)) heroku",
            "rate_limit",
            "heroku-platform",
        ),
        (
            "map[code:model_not_found message:The model does not exist type:invalid_request_error] gpt-4o",
            "model_not_found",
            "openai",
        ),
        ("openai.APIConnectionError: Connection error.", "connection_error", "openai"),
    ],
)
def test_api_errors_in_every_notation(kb, text, label, provider):
    [error] = find_api_signals(text, kb.api_labels)
    assert (error.code, error.api) == (label, provider)


def test_the_provider_comes_from_evidence_and_is_not_guessed():
    assert providers_in("POST https://api.anthropic.com/v1/messages") == ("anthropic",)
    assert providers_in("INFERENCE_URL=https://us.inference.heroku.com") == ("heroku-ai",)
    assert providers_in('{"error": {"code": 429, "type": "rate_limit_error"}}') == ()


def test_env_vars_and_products_are_evidence_of_their_provider():
    # https://github.com/openai/codex/issues/7323 and https://github.com/peakflo/20x/issues/211
    assert providers_in("401 Unauthorized when using OPENAI_API_KEY") == ("openai",)
    assert providers_in("Codex error (other): unexpected status 401 Unauthorized") == ("openai",)
    assert providers_in("export ANTHROPIC_API_KEY=... then 401") == ("anthropic",)
    assert providers_in("myopenaiclone returned 401") == ()


def test_an_sdk_class_alone_is_read_as_openais_and_marked_ambiguous(kb):
    # https://github.com/zhayujie/bot-on-anything/issues/367 : the class name is the whole title
    [error] = find_api_signals("RateLimitError", kb.api_labels)
    assert (error.code, error.api) == ("rate_limit_exceeded", AMBIGUOUS_SDK)
    [anthropic_only] = find_api_signals("OverloadedError", kb.api_labels)
    assert (anthropic_only.code, anthropic_only.api) == ("overloaded_error", "anthropic")


def test_a_sentence_is_never_a_code(kb):
    d = diagnose('{"error": "Upstream exploded, try later"}', kb)
    assert all(" " not in f.code for f in d.findings)


@pytest.mark.parametrize(
    "text, cause",
    [
        ("[  412.338210] Out of memory: Killed process 513 (node)", "oom"),
        (
            "WARNING The app is not listening on the expected address and will not be reachable by fly-proxy.",
            "not-listening",
        ),
        ("2018-03-29T21:59:28+00:00 heroku[web.1]: State changed from starting to crashed", "crash"),
        ("machine has reached its max restart count of 10", "crash"),
        ("--> v0 failed - Failed due to unhealthy allocations", "health-check"),
    ],
)
def test_failures_without_a_code(text, cause):
    assert find_failures(text)[0].cause == cause
    d = diagnose(text)
    assert d.root == cause and "No platform error codes found" not in d.summary


@pytest.mark.parametrize(
    "text",
    [
        "heroku[web.1]: Process exited with status 143",  # an ordinary SIGTERM stop
        "heroku[web.1]: State changed from crashed to starting",
        "Main child exited normally with code: 0",
    ],
)
def test_ordinary_stops_are_not_failures(text):
    assert find_failures(text) == ()


def test_a_fly_proxy_code_that_only_reports_an_unreachable_machine_yields_to_the_machines_own_failure(kb):
    text = (
        "2023-06-01T10:00:00Z runner[3d8d9e1b] iad [info]machine has reached its max restart count of 10\n"
        "2023-06-01T10:00:01Z proxy[3d8d9e1b] iad [error]failed to connect to machine: gave up after 15 attempts"
    )
    d = diagnose(text, kb)
    assert {f.code for f in d.findings} == {"PM05"} and d.root == "crash"


@pytest.mark.parametrize(
    "text, paste",
    [
        ("openai.RateLimitError: Error code: 429 - {'error': {'type': 'insufficient_quota'}}", True),
        (" »   Error ID: verification_required", True),
        ("Mar 14 02:11:09 shop-prod heroku/web.2:  Error R14 (Memory quota exceeded)", True),
        ("Excon::Error::TooManyRequests (Expected([200]) <=> Actual(429 Unknown))", True),
        ("openai 429 error", False),
        ("what does backlog too deep mean", False),
    ],
)
def test_sdk_errors_and_syslog_lines_are_diagnosed_as_pastes(text, paste):
    from bot.reply import looks_like_paste

    assert looks_like_paste(text) is paste


@pytest.mark.parametrize(
    "text, cause",
    [
        ("2013-04-29T02:33:01+00:00 app[web.1]: bash: node: command not found", "crash"),
        ("thread 'main' panicked at src/main.rs:12:5:", "crash"),
        ("Error: listen EADDRINUSE: address already in use :::3000", "crash"),
        ("standard_init_linux.go:228: exec user process caused: exec format error", "crash"),
        ("it keeps exiting/crashing and then runs out of restarts after a while", "crash"),
        (
            "--> v2 failed - Failed due to unhealthy allocations\n"
            "2022-02-10T03:39:24Z app[f483df71] maa [info] Error: UnhandledIoError(Os { code: 13 })",
            "crash",
        ),
        (
            "Error: timeout reached waiting for healthchecks to pass for machine 1781",
            "health-check",
        ),
    ],
)
def test_what_a_process_that_cannot_start_looks_like(text, cause):
    assert find_failures(text)[0].cause == cause


def test_exit_137_alone_is_a_kill_not_an_oom():
    assert [f.cause for f in find_failures("heroku[web.1]: Process exited with status 137")] == ["crash"]


@pytest.mark.parametrize(
    "text, codes",
    [
        ("getting error code H11 (Backlog too deep)", ["H11"]),
        ("H12 errors all day", ["H12"]),
        ("H12 request timeout at peak", ["H12"]),  # its title's words
        ("the H12 code", ["H12"]),
        ("we saw H12", []),  # a bare name is not yet an error code
        ("H55 errors", []),  # no such code
        ("PC01 errors", []),  # a Fly.io code needs its own words
        ("PC01 when the machine refused connection on port 8080", ["PC01"]),
        ("H18 errors, plus occasional H13", ["H18", "H13"]),
        # A code named twice, only the second time as an error: still an error code, listed once.
        ("we saw H12. The H12 errors started after the deploy", ["H12"]),
    ],
)
def test_codes_named_in_prose(text, codes):
    from bot.signatures import default

    assert default().prose_codes(text) == codes


def test_the_signature_table_is_built_from_the_knowledge_base(kb):
    from bot.signatures import build

    sig = build()
    shape = re.compile(r"[HRL]\d\d|P[A-Z]\d\d")
    assert {"H10", "H12", "R14", "L10", "PC01", "PR04"} <= sig.codes
    assert sig.codes == {
        e.code for e in kb.entries if shape.fullmatch(e.code)
    }  # API error labels are not codes
    assert sig.titles["H12"] == frozenset({"timeout"})  # "Request timeout", less the generic "request"
    assert sig.titles["R14"] == frozenset({"memory", "exceeded"})  # "quota" is generic
    assert {"refused", "connection", "listening"} <= sig.fly_words["PC01"] and "error" not in sig.fly_words[
        "PC01"
    ]
    assert "H12" not in sig.fly_words  # words of Fly.io codes only
    assert ("could not find an instance to route to", "PR01") in sig.phrases
    assert [len(p) for p, _ in sig.phrases] == sorted((len(p) for p, _ in sig.phrases), reverse=True)


@pytest.mark.parametrize(
    "text, code",
    [
        ("code=H12 status=503", "H12"),
        ("code=**H27** desc=x", "H27"),
        ("code=H12", None),  # no router field beside it
        ("code=H55 at=error", None),  # no such code
        ("foo.code=H12 at=error", None),  # another field's name
    ],
)
def test_router_code(text, code):
    from bot.signatures import default

    assert default().router_code(text) == code


@pytest.mark.parametrize(
    "text, code",
    [
        ("Error H55 (x) then Error R14 (y)", "R14"),  # the first known code
        ("Error: R14 boom", "R14"),
        ("x" * 2000 + "Error R14 (Memory quota exceeded)", None),  # only the head of a line is read
        ("ErrorR14", None),
    ],
)
def test_error_code(text, code):
    from bot.signatures import default

    m = default().error_code(text)
    assert (m.group("code") if m else None) == code


@pytest.mark.parametrize(
    "text, trusted, code",
    [
        ("[PC01] upstream went away", False, None),  # a tag without its own words
        ("[PC01] upstream went away", True, "PC01"),  # but the proxy's own line is trusted
        ("[PC01] instance refused connection", False, "PC01"),
        ("[PZ99] x", True, None),  # no such code
        ("could not find an instance to route to", False, "PR01"),  # an uncoded wording
        ("x" * 2000 + "[PC01] instance refused connection", True, None),
    ],
)
def test_fly_code(text, trusted, code):
    from bot.signatures import default

    assert default().fly_code(text, trusted=trusted) == code


@pytest.mark.parametrize(
    "text, providers",
    [
        ("openai gpt-4o at api.openai.com", ("openai",)),
        ("heroku ps:scale web=1", ("heroku-platform",)),
        ("claude-3-5-sonnet-20241022 says hi", ("anthropic",)),
        ("INFERENCE_KEY and claude", ("heroku-ai",)),  # claude alone names no provider
        ("a gptx model", ()),
    ],
)
def test_providers_in(text, providers):
    assert providers_in(text) == providers


def test_an_api_wording_is_tried_only_when_its_first_long_word_is_there():
    from bot.signatures import API_WORDINGS

    assert [(w.trigger, w.label, w.provider) for w in API_WORDINGS[:2]] == [
        ("exceeded", "insufficient_quota", "openai"),
        ("maximum", "context_length_exceeded", "openai"),
    ]
    assert API_WORDINGS[0].pattern.search("You  exceeded\nyour current   quota")  # any run of white space


def test_every_kind_of_failure_in_a_paste_is_found_most_specific_first_with_its_line():
    text = (
        "2024-01-02T03:04:05Z app[6e82] iad [info][  12.3] Out of memory: Killed process 513 (node)\n"
        "2024-01-02T03:04:06Z app[6e82] iad [info]Main child exited normally with code: 137\n"
        "2024-01-02T03:04:07Z runner[6e82] iad [info]machine has reached its max restart count of 10\n"
        "WARNING The app is not listening on the expected address and will not be reachable by fly-proxy.\n"
        "--> v3 failed - Failed due to unhealthy allocations"
    )
    found = find_failures(text)
    assert [(f.cause, f.quote) for f in found] == [
        ("oom", "2024-01-02T03:04:05Z app[6e82] iad [info][  12.3] Out of memory: Killed process 513 (node)"),
        (
            "not-listening",
            "WARNING The app is not listening on the expected address and will not be reachable by fly-proxy.",
        ),
        ("crash", "2024-01-02T03:04:06Z app[6e82] iad [info]Main child exited normally with code: 137"),
        ("health-check", "--> v3 failed - Failed due to unhealthy allocations"),
    ]
    assert [f.title for f in found] == [
        "the out-of-memory kill",
        "the app not listening where the platform expects",
        "the crash",
        "the failing health checks",
    ]
    assert found[0].why.startswith("The process was killed for running out of memory")
    assert found[3].why.startswith(
        "The platform's health checks fail, so the new version is not taken into service."
    )


@pytest.mark.parametrize(
    "app_error",
    [
        "2024-01-02T03:04:05Z app[6e82] iad [info]Error: Cannot connect to DATABASE_URL",
        "2018-03-29T21:59:28+00:00 app[web.1]: sqlalchemy.exc.NoSuchModuleError: Can't load plugin",
    ],
)
def test_health_checks_failing_while_the_app_prints_an_error_at_start_are_a_crash_first(app_error):
    found = find_failures(app_error + "\n--> v3 failed - Failed due to unhealthy allocations")
    assert [(f.cause, f.quote) for f in found] == [
        ("crash", app_error),
        ("health-check", "--> v3 failed - Failed due to unhealthy allocations"),
    ]
    # The error on the last line of a paste is quoted whole.
    last = find_failures("Health check on port 8080 has failed\n" + app_error)
    assert [(f.cause, f.quote) for f in last] == [
        ("crash", app_error),
        ("health-check", "Health check on port 8080 has failed"),
    ]


def test_the_crash_quoted_is_the_line_that_shows_it_not_a_clean_exit_just_before():
    text = (
        "2024-01-02T03:04:05Z app[6e82] iad [info]INFO Main child exited normally with code: 0\n"
        "2024-01-02T03:04:09Z app[6e82] iad [info]INFO Main child exited normally with code: 1"
    )
    assert [(f.cause, f.quote) for f in find_failures(text)] == [
        ("crash", "2024-01-02T03:04:09Z app[6e82] iad [info]INFO Main child exited normally with code: 1")
    ]
    many = "\n".join(["worker exit 0"] * 150 + ["web exited with code 1"])
    assert [(f.cause, f.quote) for f in find_failures(many)] == [("crash", "web exited with code 1")]


@pytest.mark.parametrize(
    "text, codes",
    [
        ("error code H12 here", ["H12"]),  # said to be an error code before it
        ("error H12", ["H12"]),
        ("timeout on H12", ["H12"]),  # its title's word, at the very start
        ("H12 timeouts since the deploy", ["H12"]),  # a plural of its title's word
        ("we saw H12 and then an error", []),  # "error" after it, but not about it
        ("an error happened in the night, then H12", []),  # too far before it
        ("H55 errors and H12 errors", ["H12"]),  # an unknown code is passed over
    ],
)
def test_what_vouches_for_a_code_named_in_prose(text, codes):
    from bot.signatures import default

    assert default().prose_codes(text) == codes


def test_a_fly_tag_with_its_own_words_but_no_known_wording_is_its_code():
    from bot.signatures import default

    assert default().fly_code("[PC01] the machine refused our connection") == "PC01"
    assert (
        default().fly_code("[PC01] " + "x" * 400 + " refused connection") is None
    )  # its words must follow it


def test_a_table_built_afresh_reads_plurals_and_knowledge_base_wordings():
    from bot.signatures import build

    sig = build()
    assert sig.prose_codes("H14 with zero dyno up") == ["H14"]  # "No web dynos running": dynos -> dyno
    assert sig.phrase_code("2023-06-01 proxy said: instance refused connection") == "PC01"
    assert sig.fly_code("[PC01] the machine refused our connection") == "PC01"


def test_each_line_holding_a_trigger_is_tried_in_turn():
    cases = [
        ("worker exit 0\nweb exited with code 1\nworker exit 0\nbye", "web exited with code 1"),
        ("worker exit 0\nexit code 1", "exit code 1"),  # the trigger opens the line
        ("\nweb exited with code 1", "web exited with code 1"),  # after a blank first line
    ]
    for text, quote in cases:
        assert [(f.cause, f.quote) for f in find_failures(text)] == [("crash", quote)], text


def test_a_start_error_is_quoted_whole_once_and_cut_at_300_characters():
    error = "2024-01-02T03:04:05Z app[6e82] iad [info]Error: " + "e" * 400
    text = "line one\nline two\n" + error + "\nline four\n--> v3 failed - Failed due to unhealthy allocations"
    found = find_failures(text)
    assert [(f.cause, f.quote) for f in found] == [
        ("crash", error[:300]),
        ("health-check", "--> v3 failed - Failed due to unhealthy allocations"),
    ]
    crashed = find_failures(
        "web exited with code 1\n" + error + "\n--> v3 failed - Failed due to unhealthy allocations"
    )
    assert [f.cause for f in crashed] == ["crash", "health-check"]  # a crash already found is not added again


@pytest.mark.parametrize(
    ("paste", "code", "status"),
    [
        # https://github.com/home-assistant/core/issues/120072
        (
            "Sorry, I had a problem talking to OpenAI: Error code: 403 - {'error': {'code': "
            "'unsupported_country_region_territory', 'message': 'Country, region, or territory not supported', "
            "'param': None, 'type': 'request_forbidden'}}",
            "unsupported_country_region_territory",
            403,
        ),
        # https://github.com/BerriAI/litellm/issues/2743 : a 429 whose type says billing, not a rate limit
        (
            "OpenAIException - Error code: 429 - {'error': {'message': 'Your account is not active, please check "
            "your billing details on our website.', 'type': 'billing_not_active', 'param': None, 'code': "
            "'billing_not_active'}}",
            "insufficient_quota",
            429,
        ),
    ],
)
def test_openai_errors_whose_type_is_not_their_meaning(kb, paste, code, status):
    d = diagnose(paste, kb)
    assert [f.code for f in d.findings] == [code]
    assert d.findings[0].api.api == "openai" and d.findings[0].api.status == status


def test_a_diagnosis_of_an_sdk_class_alone_says_whose_meaning_it_gives(kb):
    # https://github.com/zhayujie/bot-on-anything/issues/367 : the class name is all there is
    d = diagnose("RateLimitError", kb)
    assert [f.code for f in d.findings] == ["rate_limit_exceeded"]
    assert any("both OpenAI's and Anthropic's SDKs" in n for n in d.notes)
    named = diagnose("openai.RateLimitError: Error code: 429", kb)
    assert not any("SDKs" in n for n in named.notes)
