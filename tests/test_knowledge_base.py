"""The knowledge base itself: schema, coverage of every code the sources name, no duplicates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.knowledge import KNOWLEDGE_DIR, KnowledgeError, load_entries

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

# Every code named in the source documents (../shared/seeds), listed by hand so the test stands alone.
HEROKU_SEED_CODES = (
    "H10 H11 H12 H13 H14 H15 H16 H17 H18 H19 H20 H21 H22 H23 H70 H80 H99 "
    "R10 R12 R13 R14 R15 R16 R99 L10 L11 L12"
).split()
# Codes on Heroku's current error-code page beyond the seed.
HEROKU_CURRENT_CODES = "H24 H25 H26 H27 H28 H31 H32 H33 H34 H81 H82 H83 R17 L13 L14 L15".split()
HEROKU_PAGES = "HTTP-500 HTTP-502 HTTP-503 HTTP-504 HTTP-422".split()
FLY_CODES = (
    ["PP01"]
    + [f"PU0{i}" for i in range(1, 5)]
    + [f"PC0{i}" for i in range(1, 9)]
    + [f"PT0{i}" for i in range(1, 10)]
    + [f"PM{i:02d}" for i in range(1, 12)]
    + [f"PA0{i}" for i in range(1, 6)]
    + ["PE01", "PE02"]
    + [f"PR0{i}" for i in range(1, 6)]
    + ["PL01", "PL02"]
)
AI_TYPES = (
    "invalid_request_error authentication_error authorization_error rate_limit_error server_error".split()
)
AI_STATUSES = "AI-400 AI-401 AI-403 AI-429 AI-500 AI-503".split()
OTHER_API_TYPES = (
    "permission_error not_found_error overloaded_error insufficient_quota rate_limit_exceeded".split()
)
# Heroku Platform API error ids (the API our poller calls).
PLATFORM_API_IDS = (
    "bad_request unauthorized delinquent forbidden suspended not_found not_acceptable conflict gone "
    "requested_range_not_satisfiable invalid_params verification_needed rate_limit"
).split()
ALL_NAMED = (
    PLATFORM_API_IDS
    + HEROKU_SEED_CODES
    + HEROKU_CURRENT_CODES
    + HEROKU_PAGES
    + FLY_CODES
    + AI_TYPES
    + AI_STATUSES
    + OTHER_API_TYPES
)


@pytest.fixture(scope="module")
def codes(kb):
    return {e.code for e in kb.entries}


@pytest.mark.parametrize("code", ALL_NAMED)
def test_every_named_code_has_an_entry(codes, code):
    assert code in codes


def test_fly_list_is_exactly_the_documented_proxy_codes(kb):
    fly = sorted(e.code for e in kb.entries if e.platform == "fly" and e.kind == "proxy")
    assert fly == sorted(FLY_CODES)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed documents sit beside the repo only in the workspace")
def test_hand_list_matches_the_seed_documents():
    heroku = set(re.findall(r"^## ([HRL]\d\d)\b", (SEEDS / "000_11d0ea7701a1101e.txt").read_text(), re.M))
    fly = set(re.findall(r"\[(P[A-Z]\d\d):", (SEEDS / "003_e9478da0f451655e.txt").read_text()))
    assert heroku == set(HEROKU_SEED_CODES)
    assert fly == set(FLY_CODES)


def test_no_code_is_defined_twice():
    seen: list[str] = []
    for path in sorted(KNOWLEDGE_DIR.glob("*.yml")):
        seen += [raw["code"] for raw in yaml.safe_load(path.read_text())["entries"]]
    assert len(seen) == len(set(seen)), sorted({c for c in seen if seen.count(c) > 1})


def test_every_entry_passes_the_schema(kb):
    # load_entries validated them; check the promises an answer relies on.
    for e in kb.entries:
        assert len(e.summary) >= 40, e.code
        assert e.fixes and all(len(f) >= 15 for f in e.fixes), e.code
        assert e.docs.startswith("https://"), e.code
        assert e.keywords, e.code
        assert all(kb.get(r) for r in e.related), e.code
        assert e.code not in e.related, e.code


def test_heroku_examples_have_the_real_log_shape(kb):
    for e in kb.entries:
        if e.platform == "heroku" and e.kind == "router" and not e.retired and e.code not in ("H83",):
            assert f"code={e.code}" in e.example or f"Error {e.code}" in e.example, e.code


def test_fly_examples_carry_their_code(kb):
    for e in kb.entries:
        if e.platform == "fly" and e.kind == "proxy":
            assert f"[{e.code}]" in e.example, e.code


def test_old_uncoded_fly_messages_map_to_codes(kb):
    phrases = {p: e.code for p, e in kb.message_phrases if e.platform == "fly"}
    for phrase in (
        "instance refused connection",
        "could not find a good candidate within",
        "failed to connect to machine: gave up after",
        "no known healthy instances",
    ):
        assert any(phrase in p or p in phrase for p in phrases), phrase


def _write(tmp_path, entries):
    (tmp_path / "x.yml").write_text(yaml.safe_dump({"entries": entries}))
    return tmp_path


GOOD = {
    "code": "H12",
    "platform": "heroku",
    "title": "Request timeout",
    "kind": "router",
    "blame": "app",
    "severity": "high",
    "statuses": [503],
    "summary": "A request took too long.",
    "causes": ["slow"],
    "fixes": ["make it faster"],
    "example": "at=error code=H12",
    "related": [],
    "keywords": ["timeout"],
    "docs": "https://example.org",
    "source": "https://example.org/checked",
}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"blame": "nobody"}, "'blame' is 'nobody'"),
        ({"statuses": ["503"]}, "'statuses'"),
        ({"fixes": []}, "'fixes' needs at least 1"),
        ({"docs": "http://insecure"}, "'docs' must be an https URL"),
        ({"related": ["H99"]}, "not in the knowledge base: H99"),
        ({"colour": "red"}, "unknown field(s) colour"),
        ({"messages": ["Mixed Case"]}, "lower case"),
        ({"aliases": ["Mixed Case"]}, "lower case"),
        ({"source": "a friend told me"}, "'source' must be the https URL"),
    ],
)
def test_schema_errors_name_the_entry_and_field(tmp_path, change, message):
    with pytest.raises(KnowledgeError) as err:
        load_entries(_write(tmp_path, [{**GOOD, **change}]))
    assert "x.yml H12" in str(err.value) and message in str(err.value)


def test_a_missing_field_is_named(tmp_path):
    entry = dict(GOOD)
    del entry["causes"]
    with pytest.raises(KnowledgeError, match="missing causes"):
        load_entries(_write(tmp_path, [entry]))


def test_duplicates_across_files_are_refused(tmp_path):
    (tmp_path / "a.yml").write_text(yaml.safe_dump({"entries": [GOOD]}))
    (tmp_path / "b.yml").write_text(yaml.safe_dump({"entries": [GOOD]}))
    with pytest.raises(KnowledgeError, match="already defined in a.yml"):
        load_entries(tmp_path)


def test_every_entry_says_where_its_facts_were_checked(kb):
    assert all(e.source.startswith("https://") for e in kb.entries)


def test_an_entry_without_a_source_is_refused(tmp_path):
    import yaml

    from bot.knowledge import KNOWLEDGE_DIR, KnowledgeError, load_entries

    doc = yaml.safe_load((KNOWLEDGE_DIR / "heroku.yml").read_text(encoding="utf-8"))
    del doc["entries"][0]["source"]
    (tmp_path / "heroku.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="source"):
        load_entries(tmp_path)


def test_each_provider_variant_shows_that_provider_s_error_and_diagnoses_as_it(kb):
    """An Anthropic or OpenAI reading of a shared entry shows that API's own body (not Heroku AI's), and a
    paste of it is diagnosed as that entry, for that API, or as the family type the body carries (Anthropic
    reports its context limit as an invalid_request_error, and the held-out pastes expect that type)."""
    from bot.diagnose import diagnose
    from bot.knowledge import FAMILY_TYPES

    variants = [(e, p, v) for e in kb.entries for p, v in e.elsewhere.items()]
    assert variants
    for entry, provider, variant in variants:
        shown = entry.for_provider(provider)
        assert shown.example == variant.example
        if variant.example:
            [first, *_] = diagnose(variant.example, kb).findings
            assert first.platform == provider, (entry.code, provider)
            assert first.code == entry.code or first.code in FAMILY_TYPES, (entry.code, provider, first.code)
