"""Every paste in tests/data/pastes gives the codes, counts, primary and blame a careful SRE would.

Each `NN-name.txt` is a paste as people really send it; `NN-name.expected.yml` says what it means.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.diagnose import diagnose
from bot.render.text import diagnosis_json, render_diagnosis

PASTES = Path(__file__).parent / "data" / "pastes"
CASES = sorted(p.stem for p in PASTES.glob("*.txt"))


def test_the_corpus_is_there():
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", CASES)
def test_paste(kb, name):
    text = (PASTES / f"{name}.txt").read_text(encoding="utf-8")
    expected = yaml.safe_load((PASTES / f"{name}.expected.yml").read_text(encoding="utf-8"))
    d = diagnose(text, kb)
    found = {f.code: f.count for f in d.findings}
    assert found == {str(k): v for k, v in (expected.get("codes") or {}).items()}
    assert (d.primary.code if d.primary else None) == expected.get("primary")
    assert d.blame == expected.get("blame")
    causes = {c.cause for c in d.correlations}
    assert causes == set(expected.get("causes") or []), causes  # exactly: a false correlation fails too
    assert d.redacted >= expected.get("redacted_at_least", 0)
    rendered = render_diagnosis(d)
    said = (d.summary + " " + " ".join(d.observations) + " " + " ".join(d.notes)).lower()
    for needle in expected.get("summary_contains") or []:
        assert needle.lower() in said, needle
    if d.redacted:
        assert "rotate" in rendered
    diagnosis_json(d)  # the JSON contract renders for every paste


def test_an_anthropic_error_is_explained_as_anthropics(kb):
    text = (
        "anthropic.RateLimitError: Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', "
        "'message': 'This request would exceed the rate limit for your organization'}}"
    )
    [finding] = diagnose(text, kb).findings
    assert finding.api.api == "anthropic" and finding.entry.platform == "anthropic"
    assert "Heroku" not in finding.entry.summary and "Anthropic" in finding.entry.summary
