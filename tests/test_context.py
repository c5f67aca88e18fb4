"""Commands filled in from what a question or a paste says: the dyno, the process type, the app, the machine."""

from __future__ import annotations

from bot.context import Where, fill, fixes_for, where_in
from bot.diagnose import diagnose
from bot.render.text import diagnosis_json, render_answer


def test_the_place_is_read_from_a_question():
    assert where_in("R15 on web.2 of heroku -a shop-prod") == Where(
        dyno="web.2", process="web", app="shop-prod"
    )
    assert where_in("R14 on our sidekiq dyno").process == "sidekiq"
    assert where_in("PC01 on machine 148ed6e1f7d248").machine == "148ed6e1f7d248"
    assert not where_in("what is R15?").known


def test_templates_are_filled():
    where = Where(dyno="web.2", process="web", app="shop-prod", machine="148ed6e1f7d248")
    assert fill("`heroku logs --dyno worker.1 -a APP`", where) == "`heroku logs --dyno web.2 -a shop-prod`"
    assert fill("`heroku ps:resize worker=performance-m`", where) == "`heroku ps:resize web=performance-m`"
    assert fill("`fly logs -i <machine-id>`", where) == "`fly logs -i 148ed6e1f7d248`"


def test_web_concurrency_is_not_advice_for_a_worker():
    fixes = ["Lower `WEB_CONCURRENCY`.", "Resize with `heroku ps:resize web=standard-2x`."]
    assert fixes_for(fixes, Where(process="sidekiq")) == [
        "Resize with `heroku ps:resize sidekiq=standard-2x`."
    ]
    # With no dyno or process known, the example dyno is not handed over as if it were the one.
    assert fixes_for(fixes, None) == [
        "Lower `WEB_CONCURRENCY`.",
        "Resize with `heroku ps:resize <type>=standard-2x`.",
    ]
    assert fixes_for(["See `heroku logs --dyno worker.1`."], None) == ["See `heroku logs --dyno <dyno>`."]
    # Scaling names the type the fix adds, whatever dyno is in trouble.
    scale = ["Move the export to a worker: `heroku ps:scale worker=1`."]
    assert fixes_for(scale, None) == scale == fixes_for(scale, Where(dyno="web.2", process="web"))


def test_an_answer_uses_the_dyno_the_question_names(kb):
    text = render_answer(kb.lookup("R15 on web.1"))
    todo = text.split("What to do:")[1].split("Looks like:")[0]  # the example log line stays as it is
    assert "--dyno web.1" in todo and "worker.1" not in todo and "ps:resize web=" in todo


def test_a_diagnosis_uses_the_dyno_the_lines_name(kb):
    d = diagnose("2024-05-14T03:07:20+00:00 heroku[web.3]: Error R15 (Memory quota vastly exceeded)", kb)
    fixes = diagnosis_json(d)["findings"][0]["fixes"]
    assert any("web.3" in f for f in fixes) and not any("worker.1" in f for f in fixes)
