"""`KnowledgeBase.lookup` and `dynodoc ask`: what people type -> the right first match."""

from __future__ import annotations

import json

import pytest
from realquestions import load_questions

from bot.__main__ import main
from bot.context import fixes_for
from bot.render.text import answer_json, render_answer

# (what a person types, the code that must come first, the kind of answer)
PHRASINGS = [
    # codes in any case, spacing and noise
    ("what is R15?", "R15", "code"),
    ("h12??", "H12", "code"),
    ("r 14", "R14", "code"),
    ("H-12", "H12", "code"),
    ("H12s", "H12", "code"),
    ("code=H12", "H12", "code"),
    ("[PC01]", "PC01", "code"),
    ("wat is h13", "H13", "code"),
    ("PC01 on fly", "PC01", "code"),
    ("how do i fix h10", "H10", "code"),
    ("seeing lots of pm05s", "PM05", "code"),
    ("what is pc1", "PC01", "code"),
    ("<@U024BE7LH> what's L10?", "L10", "code"),
    ("insufficient_quota", "insufficient_quota", "code"),
    ("getting overloaded_error from claude", "overloaded_error", "code"),
    # statuses with context
    ("why 503 on heroku", "HTTP-503", "status"),
    ("got a 429 from Heroku AI", "AI-429", "status"),
    ("429 from heroku ai", "AI-429", "status"),
    ("status=499 in router logs", "H27", "status"),
    ("heroku ai 401", "AI-401", "status"),
    ("inference api returns 403", "AI-403", "status"),
    ("HTTP 502 on heroku", "HTTP-502", "status"),
    # titles, phrases and symptoms, with typos
    ("backlog too deep", "H11", "search"),
    ("what does backlog too deep mean", "H11", "search"),
    ("backlog to deap", "H11", "search"),
    ("memory quota exceeded", "R14", "search"),
    ("memory quota vastly exceeded", "R15", "search"),
    ("no healthy machines", "PR01", "search"),
    ("boot timeout", "R10", "search"),
    ("websocket keeps dropping", "H15", "search"),
    ("app not listening", "fly-not-listening", "search"),
    ("idle connection", "H15", "search"),
    ("maintenance mode", "H80", "search"),
    ("no web dynos running", "H14", "search"),
    ("requests timing out after 30s", "H12", "search"),
    ("drain buffer overflow", "L10", "search"),
    ("exit timeout", "R12", "search"),
    ("dyno hours used up", "H82", "search"),
    ("failed to bind to $PORT", "R10", "search"),
    ("model not provisioned", "authorization_error", "search"),
    ("openai quota exceeded", "insufficient_quota", "search"),
    ("insufficent quota", "insufficient_quota", "search"),
    ("client closed connection", "H27", "search"),
    ("instance refused connection", "PC01", "search"),
    ("could not find a good candidate within 40 attempts at load balancing", "PR04", "search"),
    ("tls handshake failed", "PT04", "search"),
    ("openai 429 quota", "insufficient_quota", "status"),
    ("anthropic 529", "overloaded_error", "status"),
    ("exit status 137", "exit-137", "search"),
    ("no such app heroku api", "no-such-app", "search"),
    ("heroku token expired", "unauthorized", "search"),
    ("why are my logs missing", "L10", "search"),
]


@pytest.mark.parametrize("question, code, kind", PHRASINGS, ids=[p[0] for p in PHRASINGS])
def test_first_match(kb, question, code, kind):
    answer = kb.lookup(question)
    assert answer.kind == kind
    assert answer.matches[0].entry.code == code


def test_there_are_at_least_forty_phrasings():
    assert len(PHRASINGS) >= 40


@pytest.mark.parametrize(
    "question, codes",
    [
        ("difference between H12 and H15", ["H12", "H15"]),
        ("r14 vs r15", ["R14", "R15"]),
        ("what's the difference between R14, R15 and H12", ["R14", "R15", "H12"]),
    ],
)
def test_comparisons_show_both_side_by_side(kb, question, codes):
    answer = kb.lookup(question)
    assert answer.kind == "compare"
    assert [m.entry.code for m in answer.matches] == codes
    text = render_answer(answer)
    for code in codes:
        assert code in text.splitlines()[1]  # the header row of the side-by-side table
        assert kb.get(code).title in text


@pytest.mark.parametrize(
    "question, prefix, count",
    [
        ("list fly tls errors", "PT", 9),
        ("all R codes", "R", 9),
        ("pc codes", "PC", 8),
        ("all fly routing errors", "PR", 5),
        ("list heroku L codes", "L", 6),
    ],
)
def test_families(kb, question, prefix, count):
    answer = kb.lookup(question)
    assert answer.kind == "family"
    codes = [m.entry.code for m in answer.matches]
    assert len(codes) == count and all(c.startswith(prefix) for c in codes)


def test_a_list_of_something_else_is_not_a_family(kb):
    # https://github.com/galori/aitah-player/issues/34 : "list" beside something other than codes or errors
    assert kb.lookup("slow when loading list of posts (is it fly.io?)").kind != "family"
    assert kb.lookup("heroku runtime errors list").kind == "family"


@pytest.mark.parametrize(
    "question, unknown, nearest",
    [
        ("what is H42?", "H42", "H34"),
        ("PC09??", "PC09", "PC08"),
        ("what is R11", None, None),  # retired but known
    ],
)
def test_unknown_codes_get_the_nearest_real_ones(kb, question, unknown, nearest):
    answer = kb.lookup(question)
    if unknown is None:
        assert answer.kind == "code"
        assert "retired" in render_answer(answer)
        return
    assert answer.kind == "unknown_code"
    assert f"{unknown} is not a known" in render_answer(answer)
    assert answer.matches[0].entry.code == nearest


@pytest.mark.parametrize("question", ["hi", "thanks!", "hello there", "", "   ", "?!", "ok cool"])
def test_small_talk_gets_help(kb, question):
    answer = kb.lookup(question)
    assert answer.kind == "help"
    assert "what is R15?" in render_answer(answer)


def test_status_answers_list_the_codes_behind_it(kb):
    answer = kb.lookup("why 503 on heroku")
    codes = [m.entry.code for m in answer.matches]
    assert codes[0] == "HTTP-503"
    assert {"H10", "H12"} <= set(codes)
    assert all(m.entry.platform == "heroku" for m in answer.matches)


def test_every_answer_has_title_meaning_side_fixes_related_and_docs(kb):
    entry = kb.get("R15")
    text = render_answer(kb.lookup("what is R15?"))
    assert entry.title in text
    assert entry.summary in text
    assert entry.blame_words in text
    assert fixes_for(entry.fixes[:1], None)[0] in text  # the example dyno left for the reader to fill in
    assert "--dyno <dyno>" in text and "--dyno worker.1" not in text.split("Looks like:")[0]
    assert "Related: " + ", ".join(entry.related) in text
    assert entry.docs in text


def test_json_contract(kb):
    data = answer_json(kb.lookup("what is R15?"))
    assert data["query"] == "what is R15?"
    assert data["matches"][0] == {
        "code": "R15",
        "platform": "heroku",
        "title": kb.get("R15").title,
        "score": 1.0,
    }
    assert "R15" in data["answer"]


def test_search_scores_are_best_first(kb):
    scores = [m.score for m in kb.lookup("memory problems on my dyno").matches]
    assert scores == sorted(scores, reverse=True) and len(scores) >= 2


def test_cli_ask_json_puts_r15_first(capsys):
    assert main(["ask", "--json", "what is R15?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["matches"][0]["code"] == "R15"
    assert set(data) >= {"query", "matches", "answer"}


def test_cli_ask_plain(capsys):
    assert main(["ask", "r14", "vs", "r15"]) == 0
    out = capsys.readouterr().out
    assert "R14" in out and "R15" in out and "Side by side" in out


@pytest.mark.parametrize(
    "junk",
    [
        "\x00\x01\x02",
        "a" * 100_000,
        "H" * 5000 + "12",
        "💥" * 1000,
        "<@U1|x>" * 500,
        "what is " + "h12 " * 2000,
    ],
)
def test_any_input_answers_without_raising(kb, junk):
    render_answer(kb.lookup(junk))


@pytest.mark.parametrize(
    "question, code, platform",
    [
        ("invalid x-api-key 401", "authentication_error", "anthropic"),
        ("Anthropic rate limit error 429", "rate_limit_error", "anthropic"),
        ("Hitting a Rate Limit error for OpenAI", "rate_limit_exceeded", "openai"),
        ("429 from heroku ai", "AI-429", "heroku-ai"),
    ],
)
def test_the_named_provider_gets_its_own_explanation(kb, question, code, platform):
    best = kb.lookup(question).best
    assert (best.code, best.platform) == (code, platform)
    if platform != "heroku-ai":
        assert "Heroku" not in best.summary and "INFERENCE_KEY" not in " ".join(best.fixes)


@pytest.mark.parametrize(
    "question",
    [
        "our fly deploy is broken",
        "is heroku down",
        "getting 5xx on the app",
        "app crashes",
        "How 2 fix",
        "Process exited with status 132",
    ],
)
def test_vague_questions_get_an_honest_not_sure(kb, question):
    answer = kb.lookup(question)
    assert answer.kind == "unsure" and answer.matches == () and 2 <= len(answer.candidates) <= 3
    assert "paste a log line" in render_answer(answer).lower()


@pytest.mark.parametrize("word", ["reachable", "crashes", "wakes"])
def test_the_typo_corrector_leaves_real_words_alone(kb, word):
    assert kb._correct(word) == word


def test_the_common_code_wins_a_tie(kb):
    assert kb.lookup("heroku timeouts").best.code == "H12"
    assert kb.lookup("memory quota exceeded on heroku").best.code == "R14"


def test_claude_alone_is_anthropics_and_the_answer_says_heroku_ai_serves_it_too(kb):
    answer = kb.lookup("claude rate limit error")
    assert answer.best.code == "rate_limit_error" and answer.best.platform == "anthropic"
    assert "Anthropic's own API and on Heroku AI" in answer.note
    # https://github.com/anthropics/claude-code/issues/47459 : a status beside Claude is Anthropic's, not a Heroku page
    assert (
        kb.lookup("[BUG] API Error: 500 on running prompt - Claude Max completely unusable").best.code
        == "api_error"
    )
    assert kb.lookup("claude on heroku ai: 429").best.platform == "heroku-ai"


# Real question titles (held-out sets, read after their blind figure was recorded); each pins one general cause.
@pytest.mark.parametrize(
    "question, first",
    [
        # https://github.com/erming/shout-website/pull/4 : idle apps sleeping is the Eco topic, not H28's idle client
        ("Added note about heroku killing idle apps", "eco-sleeping"),
        # https://github.com/breatheco-de/breatheco-de/issues/9997 : a typo inside a title still names it
        ('Revisar que son estos "client request interrumped" y repararlos', "H27"),
        # https://github.com/heroku/platform-api/issues/91 : a Platform API client's 404 is the API's not_found
        ("Failure (404) PlatformAPI::Addon#info_by_app()", "not_found"),
        # https://github.com/waffleio/waffle.io/issues/2405 : the symptom said in full beats the status page
        ("Intercept long running requests before heroku responds with 503", "H12"),
        # https://github.com/HeyPuter/puter/issues/1977 : OpenAI's quota sentence, however it is conjugated
        ("429 You exceed your current quota", "insufficient_quota"),
        # https://github.com/OpenBMB/ChatDev/issues/26 : a bare "rate limit" is not Fly's TLS handshake limit
        ("Rate limit.", "rate_limit_exceeded"),
        # https://github.com/cline/cline/issues/5437 : OpenAI's tokens-per-minute wording holds Anthropic's
        # "request too large"; the longer wording decides
        ('API Request Failed "Request too large for gpt-5 in organization..."', "rate_limit_exceeded"),
        ("request too large", "request_too_large"),
        # https://github.com/ayushteke/Torrent_2_Gdrive_mirrorbot/issues/18 : Heroku's own state line for H82
        ("Idling because quota is exhausted", "H82"),
        # https://github.com/constructive-io/constructive/issues/262 : PostgreSQL's "too many clients already" without its "sorry,"
        ("Too Many Clients Already / Connection Slot Exhaustion", "postgres-connections"),
        # https://github.com/heroku/legacy-cli/issues/930 : the CLI's sentence for the 5-app cap
        ("You've reached the limit of 5 apps for unverified accounts.", "verification_required"),
        # Held-out set 24, none in English: the words that carry them are translated, whatever surrounds them
        # https://github.com/Chanzhaoyu/chatgpt-web/issues/1128 : "can GPT3.5 only be called 60 times a minute?"
        ("各位大佬。GPT3.5现在一分钟只能调用60次吗？", "rate_limit_exceeded"),
        # https://github.com/DaoChen6/Heroku-v2ray/issues/33 : "account suspended today"
        ("今天被暂停账号使用", "suspended"),
        # https://github.com/moeik/Heroku_aria2/issues/5 : "deployed to heroku, the account was banned at once"
        ("这东西一部署到keroku，heroku账号直接被封了。。。", "suspended"),
        # https://github.com/dev-hato/hato-bot/issues/23 : "deployed with the heroku button, dies after 60 s"
        ("herokuボタンでデプロイすると60秒後に鳩が死ぬ", "R10"),
        # Held-out set 25, other languages again: longer phrases are read before the words inside them
        # https://baza-nomerov.ru/blog/posts/kak-reshit-problemu-s-oshibkoj-openai-vi-previsili-tekushuyu-kvotu---poleznie-soveti
        ("Как избавиться от ошибки OpenAI о превышении квоты с полезными советами", "insufficient_quota"),
        # https://github.com/Flowseal/zapret-discord-youtube/issues/7657 : "what to run for ChatGPT in Russia"
        ("Что запускать для работы ChatGpt в РФ", "unsupported_country_region_territory"),
        # https://apidog.com/es/blog/claude-api-rate-limits-2 : "límites de frecuencia" before "límite"
        (
            "¿Alcanzando los límites de frecuencia de la API de Claude? Esto es lo que debes hacer",
            "rate_limit_error",
        ),
        # https://codigofonte.org/?p=16909 : "keep your apps from falling asleep"
        ("tl; dr => evita que seus aplicativos adormecem com KeepAwake", "eco-sleeping"),
        # https://xn--b1afbosiaouc3h.xn--p1ai/q/ispravit-oshibku-ogranicheniya-skorosti-openai-novyy-uchetnaya-zapis :
        # OpenAI named, so its own rate limit entry, not the type name Anthropic and Heroku AI use
        (
            "Почему я получаю ошибку “Превышен лимит запросов” при использовании библиотеки OpenAI PHP Laravel "
            "с новым аккаунтом?",
            "rate_limit_exceeded",
        ),
        # Held-out set 29, AI API errors in agent repositories
        # https://github.com/langgenius/dify/issues/13036 : a body cut off before its `code`; the family type
        # is named, the error's own sentence says which error it is
        (
            "[openai] Bad Request Error, Error code: 404 - {'error': {'message': 'The model o1-2024-12-17 does "
            "not exist or you do not have access to it.', 'type': 'invalid_request_error', 'param': None, 'code': '",
            "model_not_found",
        ),
        # https://github.com/Aider-AI/aider/issues/957 : LiteLLM wraps Anthropic's 529 as an InternalServerError
        (
            "Unexpected error: litellm.InternalServerError: AnthropicException - Overloaded",
            "overloaded_error",
        ),
        # https://github.com/whatwewant/chatgpt-for-chatbot-feishu/issues/52 : Node's fetch failing to reach OpenAI
        (
            "request to https://api.openai.com/v1/chat/completions failed, reason: read ECONNRESET",
            "connection_error",
        ),
        # https://github.com/TencentCloudADP/youtu-agent/issues/93 : OpenAI named, so not H12's "Request timeout"
        ("Openai request timeout?", "connection_error"),
        # https://github.com/crewAIInc/crewAI-examples/issues/240 : "Open AI" written as two words
        ("Getting error while using Open AI key ( Sk-proj--)", "invalid_api_key"),
        # https://github.com/tashfeenahmed/freellmapi/issues/426 : a 413 from an OpenAI-style API that OpenAI's
        # own entries do not cover
        (
            "[Bug]GitHub Models API error 413: Request body too large for gpt-4.1 model. Max size: 8000 tokens.",
            "request_too_large",
        ),
        # Held-out sets 27-28
        # https://trend-tracer.com/heroku-application-error/ : the page's own name, nothing more specific said
        ("Herokuで突然「Application error」の画面が出た時に確認したい事", "HTTP-503"),
        # https://github.com/Gottwik/Enduro/issues/300 : a crash said beside the page's name is H10
        ("App crashed. Heroku Application Error", "H10"),
        # http://www.bqtyf.cn/mysql/heroku-redis-connection-limit-application-errors-in-producti-1765898246.html
        ("Heroku redis connection limit application errors in production", "redis-connections"),
        # https://apidog.com/fr/blog/claude-api-rate-limits-6
        (
            "Vous atteignez les limites de débit de l'API Claude ? Voici ce que vous devez faire.",
            "rate_limit_error",
        ),
        # https://185fy.com/znzsdfi/19297.html : the code's name cut short
        (
            "ChatGPT 接口错误: unsupported_country_region 是什么原因导致的?如何解决?",
            "unsupported_country_region_territory",
        ),
        # https://github.com/rq/django-rq/issues/76 : not Fly's "Exceeded rate limit for SNI"
        ("Connection limit exceeded", "H22"),
        # https://github.com/ElricLiu/AutoGPT-Next-Web/issues/189 : an app's wrapper message for an unreachable API
        (
            'BUG：When using it, the error is reported "Error connecting to OpenAI API. Please check the API key, or '
            'try again later."',
            "connection_error",
        ),
        # Held-out set 35
        # https://github.com/PndaMan/cortex/issues/5 : a key "not working" is rejected (401), not short of
        # permissions (403) and not Heroku's own API token
        ("Api key not working", "invalid_api_key"),
        # https://github.com/fidelthomet/where2/issues/1 : a timeout while starting is the boot timeout
        ("long startup time results in timeout on heroku", "R10"),
        # Held-out set 31, Chinese, Japanese and Korean blog titles: their words translated
        # https://github.com/fuzhengwei/chatbot-api/issues/2
        ("关于open ai接口超时的问题", "connection_error"),
        # https://apidog.com/jp/blog/claude-api-rate-limits-jp
        ("クロードAPIのレート制限に達しましたか?やるべきことはこれです", "rate_limit_error"),
        # https://blog.gitcode.com/97763d62df3786e2db666a02e2a433d5.html
        ("airda项目中OpenAI API配额不足问题的分析与解决", "insufficient_quota"),
        # https://www.jplopsoft.idv.tw/discuz2024/show_the_postdata.php?extra=page%3D53&tid=68270
        ("痛點:Dyno 內存不斷膨脹卻無法即時回收", "R14"),
        # https://cloud.tencent.cn/developer/information/%E8%B6%85%E5%87%BAHeroku%E9%83%A8%E7%BD%B2API%E9%80%9F%E7%8E%87%E9%99%90%E5%88%B6
        ("超出Heroku部署API速率限制", "rate_limit"),
        # https://github.com/netease-youdao/LobsterAI/issues/334
        ("Claude Sonnet 4.6提示余额太低", "billing_error"),
        # https://github.com/nextai-translator/nextai-translator/issues/726
        ("chrome插件，使用API KEY，提示地区限制？", "unsupported_country_region_territory"),
        # https://jplopsoft.idv.tw/discuz2024/show_the_postdata.php?action=printable&tid=70100
        ("Heroku Dyno 冷啟動成本陷阱", "eco-sleeping"),
    ],
)
def test_real_titles_land_on_their_entry(kb, question, first):
    assert kb.lookup(question).matches[0].entry.code == first


@pytest.mark.parametrize(
    "question",
    [
        "503 errors",  # https://github.com/thechangelog/changelog.com/issues/509 : a status alone
        "Fix 500 internal error on fly",  # https://github.com/jarlah/JourniPlan/issues/20
        '"heroku logs" doesn\'t show recent logs',  # https://github.com/heroku/cli/issues/1358
    ],
)
def test_a_status_or_logs_alone_is_not_sure(kb, question):
    answer = kb.lookup(question)
    assert answer.kind == "unsure" and not answer.matches and answer.candidates


def test_a_named_hosting_platform_keeps_ai_statuses_out(kb):
    # https://github.com/christiangenco/dbinbox/issues/40 : on Heroku, "service unavailable" is the router's page
    answer = kb.lookup('"service unavailable" in Heroku instance')
    offered = [m.entry for m in answer.matches or answer.candidates]
    assert offered[0].code == "HTTP-503" and all(e.platform == "heroku" for e in offered[:2])


def test_a_keyword_inside_another_word_is_not_said(kb):
    # https://github.com/StewShack/PersonalWebsite/issues/91 : "node" is not H13, "Node" is not a symptom
    assert [m.entry.code for m in kb.lookup("Deployed Node App does not work on Heroku").matches][:1] != [
        "H13"
    ]
    # "nodegoat.herokuapp.com" (heldout questions-6) says nothing about a missing app
    assert "no-such-app" not in [
        m.entry.code for m in kb.lookup("nodegoat.herokuapp.com not working").matches
    ]


# Held-out sets 10 and 11, read after their blind figures (82.0 %, 62.0 %) were recorded; one general cause each.
@pytest.mark.parametrize(
    "question, first",
    [
        # https://github.com/openai/codex/issues/7323 : an env var names its provider
        (
            "ERROR: exceeded retry limit, last status: 401 Unauthorized when using OPENAI_API_KEY",
            "invalid_api_key",
        ),
        # https://github.com/peakflo/20x/issues/211 : Codex is OpenAI's
        ("Codex error (other): unexpected status 401 Unauthorized: Incorrect API", "invalid_api_key"),
        # https://github.com/sbounmy/hongbao_bitcoin/issues/497 : OpenAI's spending-cap sentence
        ("[Paper Generation] Billing hard limit has been reached", "insufficient_quota"),
        # https://github.com/shroominic/codeinterpreter-api/issues/82 : openai-python 0.x's connection error
        ("Error communicating with OpenAI", "connection_error"),
        # https://github.com/nodejs/node/issues/35340 : V8 aborts on a full heap; the core dump is SIGABRT's
        ("Core dump due to javascript out of memory", "exit-134"),
        # https://github.com/langchain-ai/open_deep_research/issues/30 : the provider's name is not the topic
        ("Rate limits with anthropic causes error", "rate_limit_error"),
    ],
)
def test_provider_evidence_and_real_wordings(kb, question, first):
    assert kb.lookup(question).matches[0].entry.code == first


def test_an_sdk_class_alone_is_openais_and_says_anthropics_sdk_has_it_too(kb):
    # https://github.com/zhayujie/bot-on-anything/issues/367
    answer = kb.lookup("RateLimitError")
    assert answer.best.code == "rate_limit_exceeded"
    assert "both raise `RateLimitError`" in answer.note and "OpenAI's meaning" in answer.note
    named = kb.lookup("anthropic.RateLimitError: rate limited")
    assert named.best.code == "rate_limit_error" and "both raise" not in named.note


@pytest.mark.parametrize(
    "question, first, heroku",
    [
        # https://github.com/TheR1D/shell_gpt/issues/334
        ("HTTPError: 429 Client Error: Too Many Requests", "rate_limit_exceeded", "rate_limit"),
        # https://github.com/njerschow/openai-api/issues/67
        (
            "Error: Uncaught (in promise) Error: Request failed with status code 401",
            "invalid_api_key",
            "unauthorized",
        ),
    ],
)
def test_a_429_or_401_with_no_api_named_is_an_ai_apis_first(kb, question, first, heroku):
    answer = kb.lookup(question)
    codes = [m.entry.code for m in answer.matches]
    # The router and the proxy never send these; the Platform API's meaning stays in the first three.
    assert codes[0] == first and heroku in codes[:3]
    assert "never send" in answer.note and f"`{heroku}`" in answer.note
    assert kb.lookup("heroku api returns 429").best.code == "rate_limit"


def test_words_and_phrases_as_people_type_them(kb):
    # https://github.com/openai-rs/gptpal/issues/2 : a URL's parts ("api", "v1") are not words of the question
    url = "Request error: https://api.openai.com/v1/chat/completions: Connection Failed: Connect error"
    assert kb.lookup(url).best.code == "connection_error"
    # https://github.com/zed-industries/zed/issues/57059 : "rate-limited" says the keyword "rate limit"
    zed = kb.lookup(
        "Anthropic API request from Zed gets rate-limited with fresh API key, while same key works in other "
        "AI harnesses"
    )
    assert "rate_limit_error" in [m.entry.code for m in zed.matches][:2]
    # https://github.com/interagent/pliny/issues/230 (questions-13): a plural keyword said in the singular, and
    # "connection" alone is not a Fly proxy code
    assert kb.lookup("Database connection issues").best.code == "postgres-connections"
    # https://github.com/chathub-dev/chathub/issues/126 : every error has a message; it narrows nothing
    assert kb.lookup("Message error").kind == "unsure"


@pytest.mark.parametrize(
    "question",
    [
        "The fly.io is really awesome platform, however unstable.",  # https://github.com/fly-apps/hello-fly/issues/4
        "openai api error",  # https://github.com/semanser/codel/issues/45 : "API error" names no entry
        "Error: GPT-5.4 Pro - Unknown error",  # https://github.com/continuedev/continue/issues/12911
        # https://github.com/telegraf/telegraf/issues/350 (questions-12): the bot is what is hosted, not H22's bots
        "Bot not working on Heroku",
    ],
)
def test_words_every_error_has_leave_it_unsure(kb, question):
    assert kb.lookup(question).kind == "unsure"


@pytest.mark.parametrize(
    "question",
    [
        # https://github.com/openai/openai-cua-sample-app/issues/54
        "500 error from API. Unable to get any prompts to complete. Several steps run, but never completes.",
        # https://github.com/father-bot/chatgpt_telegram_bot/issues/56
        "[Error] Something went wrong during completion. 'Internal server error'",
    ],
)
def test_prompts_and_completions_put_a_status_on_an_ai_api(kb, question):
    answer = kb.lookup(question)
    assert answer.best.code == "server_error" and "AI API" in answer.note
    # The hosting platform's page stays on offer.
    assert "HTTP-500" in [m.entry.code for m in answer.matches][:3]


def test_a_russian_crash_on_heroku_is_a_crash(kb):
    # https://github.com/samdark/yiiframework-ru/issues/150 (questions-12)
    answer = kb.lookup("У меня крашится телеграм бот на Heroku. Кто знает как исправить?")
    assert answer.best.code in ("H10", "crash-loop")


def test_openais_documented_messages_name_their_entry(kb):
    # https://github.com/gaboolic/vercel-reverse-fast/issues/45
    assert kb.lookup("Error: Country, region, or territory not supported").best.code == (
        "unsupported_country_region_territory"
    )
    # https://github.com/continuedev/continue/issues/11449 : OpenAI's only 403
    assert kb.lookup("Error: GPT-5 - 403").best.code == "unsupported_country_region_territory"
    # https://github.com/openai/openai-python/issues/229 (held-out questions-13)
    assert kb.lookup("Why not open to China").best.code == "unsupported_country_region_territory"
    # OpenAI's 503 wording as apps print it (chatanywhere's README quotes the body with type server_error)
    overloaded = "That model is currently overloaded with other requests. You can retry your request"
    assert kb.lookup(overloaded).best.code == "server_error"
    assert kb.lookup(overloaded).best.platform == "openai"


def test_the_confidence_of_each_kind_of_evidence_is_what_real_questions_measure(kb):
    from pathlib import Path

    from bot.knowledge import CONFIDENCE

    sets = [Path(__file__).parent / "data" / "real-questions.yml"]
    sets += sorted((Path(__file__).parent / "data" / "heldout").glob("questions*.yml"))
    asked: dict[str, int] = {}
    right: dict[str, int] = {}
    for path in sets:
        for q in load_questions(path):
            answer = kb.lookup(q.q)
            if answer.evidence:
                asked[answer.evidence] = asked.get(answer.evidence, 0) + 1
                right[answer.evidence] = right.get(answer.evidence, 0) + (answer.best.code in q.expect)
    assert set(asked) == set(CONFIDENCE)
    for evidence, n in asked.items():
        assert n >= 50, evidence  # enough answers for the figure to mean something
        assert abs(right[evidence] / n - CONFIDENCE[evidence]) <= 0.1, (evidence, right[evidence], n)


def test_a_guess_from_words_says_so_and_an_exact_code_does_not(kb):
    from bot.knowledge import CONFIDENCE

    # https://github.com/puma/puma/issues/1047 (held-out questions-5): matched on words alone
    guess = kb.lookup("Memory usage keeps increasing")
    assert guess.evidence == "words" and guess.confidence < 0.85
    assert render_answer(guess).startswith(
        f"Best guess from your words (right {CONFIDENCE['words']:.0%} of the time)"
    )
    sure = kb.lookup("what is R15?")
    assert (sure.evidence, sure.confidence, sure.guess_note) == ("code", 1.0, "")
    assert not render_answer(sure).startswith("Best guess")
    assert (
        answer_json(guess)["evidence"] == "words" and answer_json(guess)["confidence"] == CONFIDENCE["words"]
    )


def test_slack_answers_every_real_question_as_dynodoc_ask_does(kb):
    # Slack's path lower-cased a question before the lookup, so an SDK class ("RateLimitError",
    # https://github.com/zhayujie/bot-on-anything/issues/367) was read in `dynodoc ask` and missed in Slack.
    from pathlib import Path

    from bot.reply import respond

    sets = [Path(__file__).parent / "data" / "real-questions.yml"]
    sets += sorted((Path(__file__).parent / "data" / "heldout").glob("questions*.yml"))
    for path in sets:
        for q in load_questions(path):
            reply = respond(f"<@U0BOT> {q.q}", kb)
            if reply.answer is None:
                continue  # read as a paste: diagnosed, as a paste is
            asked = kb.lookup(q.q)
            assert [m.entry.code for m in reply.answer.matches] == [m.entry.code for m in asked.matches], q.q


@pytest.mark.parametrize(
    "message, first",
    [
        # https://github.com/sbehrends/Live-WorldCup-Notification-for-Slack/issues/8 : a log line as a question
        ("Process exited with status 143", "exit-143"),
        # https://github.com/Aurora-Admin-Panel/deploy/issues/10 (held-out questions-4)
        (
            "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) FATAL: sorry, too many clients already",
            "postgres-connections",
        ),
    ],
)
def test_one_error_line_with_no_code_is_answered_as_the_question_it_is(kb, message, first):
    from bot.reply import respond

    reply = respond(f"<@U0BOT> {message}", kb)
    assert reply.diagnosis is None and reply.answer.best.code == first


def test_a_paste_with_a_code_or_several_lines_is_still_diagnosed(kb):
    from pathlib import Path

    import yaml

    from bot.reply import respond

    # https://github.com/sbehrends/Live-WorldCup-Notification-for-Slack/issues/8 names a code: diagnosed
    assert respond("Error R14 (Memory quota exceeded)", kb).diagnosis is not None
    # https://github.com/mrluanma/shadowsocks-heroku/issues/3 : the same exit 143 inside a deploy's log lines
    case = Path(__file__).parent / "data" / "real" / "mixed-026-clean-redeploy-sigterm-143.yml"
    reply = respond(yaml.safe_load(case.read_text())["text"], kb)
    assert reply.diagnosis is not None and reply.diagnosis.findings == ()


@pytest.mark.parametrize(
    "question",
    [
        "JHipster app on Heroku fails to startup in 120s",  # https://github.com/jhipster/generator-jhipster/issues/1601
        # https://github.com/jhipster/generator-jhipster/issues/5190
        "Unable to deploy a simple microservice to Heroku (90sec timeout)",
        "App fails to deploy under 60sec in heroku",  # https://github.com/jhipster/generator-jhipster/issues/1763
    ],
)
def test_a_minute_or_more_to_start_is_the_boot_timeout(kb, question):
    answer = kb.lookup(question)
    assert [m.entry.code for m in answer.matches] == ["R10", "H20"] and answer.evidence == "phrase"


def test_the_routers_30_seconds_are_not_a_boot_window(kb):
    # https://github.com/Novacer/alpharithmic-trading/issues/22 (questions-5)
    assert kb.lookup("Heroku has a hard coded API response timeout of 30s.").best.code == "H12"
    # A Fly app is not given R10, whatever the number.
    fly = kb.lookup("fly deploy fails to start in 60 seconds").best
    assert fly is None or fly.code != "R10"


@pytest.mark.parametrize(
    "question, code",
    [
        # https://github.com/james-6-23/codex2api/issues/56 : "country and region not supported, why?"
        ("国家地区不支持是怎么回事？", "unsupported_country_region_territory"),
        # https://github.com/aurora-develop/Duck2api/issues/33 : "they seem to have started restricting regions"
        ("似乎开始限制地区了", "unsupported_country_region_territory"),
        (
            "Note to decrease ws timeout for Heroku deployment",
            "H15",
        ),  # https://github.com/phoenixframework/phoenix_guides/pull/491
        (
            "Heroku: Script Fails If App Name is Taken",
            "invalid_params",
        ),  # https://github.com/saasbook/courseware/issues/129
        ("Problem with my secret key", "invalid_api_key"),  # https://github.com/ekkinox/yai/issues/98
    ],
)
def test_wordings_from_blind_sets_15_and_16(kb, question, code):
    assert kb.lookup(question).best.code == code


def test_a_bug_report_with_no_symptom_is_not_a_guess(kb):
    # https://github.com/anthropics/claude-code/issues/4064
    assert kb.lookup("[BUG]").best is None


def test_timesout_in_one_word_is_a_timeout(kb):
    # https://github.com/gradio-app/gradio/issues/3789
    codes = [m.entry.code for m in kb.lookup("Gradio timesout when Deployed on Heroku").matches]
    assert "H12" in codes[:3]


@pytest.mark.parametrize(
    "question",
    [
        "push rejected",  # https://github.com/AdmitHub/meteor-buildpack-horse/issues/80
        "2.3.5 herokuにpushしたけど",  # https://github.com/leonapo/toy_app/issues/9 : "I pushed to heroku, but"
    ],
)
def test_a_push_is_not_a_blank_app(kb, question):
    """H81 is an app nothing was ever pushed to; a push that went wrong says nothing about which error."""
    assert kb.lookup(question).best is None


@pytest.mark.parametrize(
    "question, code",
    [
        # https://www.duoke360.com/post/22521 : "reached the max number of clients on Heroku and Redistogo Nano"
        ("在Heroku和Redistogo Nano上达到最大客户端数", "redis-connections"),
        # https://blog.mktia.com/en/how-to-avoid-to-sleep-the-application-on-heroku : "avoid the free tier's sleep"
        ("Heroku無料枠のスリープを回避する", "eco-sleeping"),
        # https://qiita.com/reinopo/items/2d8d7f1052160bc45b84 : "memory use above 100% from the start"
        (
            "Heroku で Railsアプリをデプロイできたはいいものの、最初からメモリ使用量が100%を超えている…。",
            "R14",
        ),
        # https://github.com/7836246/cursor2api/issues/65 : "the model keeps saying it does not exist"
        ("大佬，模型一直提示不存在是为什么，能麻烦您指导下嘛", "model_not_found"),
        # https://github.com/dunossauro/fastapi-do-zero/issues/288 : "set fly.io to 512M of memory"
        ("Alterar configuração do fly.io para 512M de memória", "fly-oom"),
        # https://github.com/Significant-Gravitas/AutoGPT/issues/4361 : OpenAI's sentence, cut short
        ("The server had an error while processing", "server_error"),
    ],
)
def test_wordings_from_blind_sets_17_and_18(kb, question, code):
    assert kb.lookup(question).best.code == code


def test_an_error_body_is_answered_by_its_code_before_its_family(kb):
    # https://siteproxy.ruqli.workers.dev:443/https/wenku.csdn.net/answer/73wm17xccv (questions-17): openai-python's error, a Python dict
    question = (
        "API调用失败: Error code: 401 - {'error': {'message': 'Incorrect API key provided: sk-3ff50****"
        "*******************7942. You can find your API key at https://siteproxy.ruqli.workers.dev:443/https/platform.openai.com/"
        "account/api-keys.', 'type': 'invalid_request_error', 'param': None, 'code': 'invalid_api_key'}}"
    )
    assert [m.entry.code for m in kb.lookup(question).matches] == ["invalid_api_key", "invalid_request_error"]


@pytest.mark.parametrize(
    "question, family",
    [
        ("SSL error", "PT"),  # https://github.com/hitsz-ids/airda/issues/19
        (
            "Railsbump down? Cloudflare SSL handshake fails",
            "PT",
        ),  # https://github.com/railsbump/app/issues/74
        # https://community.fly.io/t/fly-proxy-is-not-respecting-soft-limit-one-machine-saturates-while-a-healthy-idle-machine-is-ignored/27681
        ("I’m seeing what appears to be incorrect routing behaviour in Fly Proxy.", "PR"),
    ],
)
def test_words_that_fit_a_family_of_fly_codes_alike_are_not_one_of_them(kb, question, family):
    answer = kb.lookup(question)
    assert answer.kind == "unsure" and f"{family}xx" in answer.note
    assert [c.entry.code[:2] for c in answer.candidates] == [family] * 3


def test_machines_and_a_503_on_fly_fit_three_routing_codes_alike(kb):
    # Once answered PR04 by a hair (13.2 against 13.1 and 13.0): a coin toss, now said as one.
    answer = kb.lookup("fly.io machines 503")
    assert answer.kind == "unsure" and {c.entry.code for c in answer.candidates} == {"PR01", "PR03", "PR04"}


def test_a_fly_codes_own_title_said_in_full_is_still_that_code(kb):
    assert kb.lookup("TLS handshake failed").best.code == "PT04"  # PT04's title, not a family's words


def test_a_router_limit_said_in_seconds_names_its_code(kb):
    # https://github.com/js-platform/p2p/issues/9 : 55 s is the router's idle window (H15), not H28
    answer = kb.lookup("Heroku routing mesh terminates connections after 55 seconds of inactivity")
    assert answer.best.code == "H15" and answer.evidence == "phrase"
    # https://github.com/MozillaFoundation/mofo-devops/issues/155 : a slow first byte, nothing cut off at 30 s
    assert kb.lookup("TTFB can be ~30s for Thimble servers").best is None


def test_exit_status_0_says_the_process_ended_on_its_own(kb):
    # https://github.com/jondot/sneakers/issues/361 (real-questions)
    answer = kb.lookup("process exits with status 0 in heroku")
    assert answer.kind == "unsure" and "ended on its own" in answer.note
    assert answer.candidates[0].entry.code == "crash-loop"


@pytest.mark.parametrize(
    "question, code",
    [
        (
            "Heroku dyno using too much memory",
            "R14",
        ),  # https://github.com/appu1232/Discord-Selfbot/issues/376
        ("Heroku falls asleep", "eco-sleeping"),  # https://github.com/telegraf/telegraf/issues/611
        ("No dynos", "H14"),  # https://github.com/Brucewastaken/minecraft-server-on-heroku-template/issues/4
        # https://github.com/Ayanaminn/N46Whisper/issues/39 : "I checked, there is quota left; why the error?"
        ("看了下额度也有，为什么就会报错呢？", "insufficient_quota"),
        # https://github.com/binary-husky/gpt_academic/issues/1956 : "OpenAI refuses, saying the quota ran out"
        ("[Bug]: OpenAI以账户额度不足为由拒绝服务", "insufficient_quota"),
        (
            "Heroku instantly bans account on deploying",
            "suspended",
        ),  # https://github.com/maple3142/aria2c-ariang/issues/76
        # https://github.com/Aider-AI/aider/issues/747 : LiteLLM names the provider in its exception's class
        ("litellm.NotFoundError: AnthropicException", "not_found_error"),
        (
            "claude-sonnet-4-20250514 not recognized!",
            "not_found_error",
        ),  # https://github.com/aristoteleo/PantheonOS/issues/6
    ],
)
def test_wordings_from_blind_sets_19_and_20(kb, question, code):
    assert kb.lookup(question).best.code == code


def test_the_other_hosting_platforms_entry_is_never_the_answer(kb):
    # https://github.com/nightscout/cgm-remote-monitor/issues/7811 : Fly asks for a card too, but Heroku's
    # verification_required is not about Fly; nor are its candidates Heroku's or an AI API's.
    answer = kb.lookup("Fly requesting payment information")
    assert answer.kind == "unsure"
    assert all(c.entry.platform in ("fly", "general") for c in answer.candidates)


@pytest.mark.parametrize(
    "question, code",
    [
        (
            "why it always display connection error?",
            "connection_error",
        ),  # https://github.com/TheR1D/shell_gpt/issues/600
        # https://github.com/aiwaves-cn/agents/issues/73
        ("Getting Connection error while running in Local", "connection_error"),
        # https://github.com/apache/texera/issues/3525 : a database named, so the database's connections
        ("Postgres max connection error on heavy load", "postgres-connections"),
    ],
)
def test_connection_error_is_the_api_clients_unless_a_database_is_named(kb, question, code):
    assert kb.lookup(question).best.code == code


@pytest.mark.parametrize(
    "question, code",
    [
        ("Anthropic Rate issues", "rate_limit_error"),  # https://github.com/BoltAI/BoltAI/issues/338
        (
            "Getting auth error running it",
            "authentication_error",
        ),  # https://github.com/Doriandarko/claude-engineer/issues/29
        (
            "Cannot authenticate anthropic max plan",
            "authentication_error",
        ),  # https://github.com/can1357/oh-my-pi/issues/38
    ],
)
def test_short_forms_of_rate_limit_and_authentication(kb, question, code):
    assert kb.lookup(question).best.code == code


def test_a_token_limit_in_japanese_is_openai_s_token_limit(kb):
    # https://dev-solve.com/ja/posts/47e7581 : "OpenAI API token limit error"; both labelers accept either
    first = kb.lookup("OpenAI APIトークン制限エラーの解決策").matches[0].entry.code
    assert first in ("context_length_exceeded", "rate_limit_exceeded")


@pytest.mark.parametrize(
    "question",
    [
        "Timeout error",  # https://github.com/SCTY-Inc/agentcy-cli/issues/5 : whose timeout is not said
        "超时超时！",  # https://github.com/limaoyi1/Auto-PPT/issues/31 : "timeout timeout!"
    ],
)
def test_a_bare_timeout_on_no_platform_is_not_sure_and_offers_one_of_each_kind(kb, question):
    answer = kb.lookup(question)
    assert answer.kind == "unsure" and not answer.matches
    platforms = {m.entry.platform for m in answer.candidates}
    assert "heroku" in platforms and "fly" in platforms and platforms & {"openai", "anthropic", "heroku-ai"}
    assert kb.lookup("heroku timeout error").matches[0].entry.code == "H12"  # a platform named decides


def test_a_vague_question_naming_an_ai_api_offers_that_api_s_errors(kb):
    # https://github.com/zhayujie/CowAgent/issues/1866 : not a process's exit status
    answer = kb.lookup("claude Exception: Error code")
    assert answer.kind == "unsure" and not answer.matches
    assert [m.entry.code for m in answer.candidates] == [
        "overloaded_error",
        "rate_limit_error",
        "authentication_error",
    ]
    assert all(
        "Anthropic" in m.entry.summary for m in answer.candidates
    )  # Anthropic's meaning, not Heroku AI's


@pytest.mark.parametrize(
    "question",
    [
        # https://github.com/zhukunpenglinyutong/jetbrains-cc-gui/issues/1293 : English wording glued to Chinese
        "[Question] 总是出现Prompt is too long，使用的是Claude code cli，版本是o.4.4",
        # https://github.com/liliMozi/openhanako/issues/955
        "最近新版本使claude的第三方API，频繁出现input is too long的提示",
    ],
)
def test_claude_s_prompt_too_long_inside_cjk_text_is_the_context_limit_in_anthropic_s_words(kb, question):
    answer = kb.lookup(question)
    assert answer.matches[0].entry.code == "context_length_exceeded"
    assert "Anthropic" in answer.matches[0].entry.summary and "/compact" in " ".join(
        answer.matches[0].entry.fixes
    )


def test_cannot_connect_to_openai_in_chinese(kb):
    # https://github.com/tuangtalk/chatgpt-wecom/issues/23 : "can't connect to openai"
    assert kb.lookup("连不上openai").matches[0].entry.code == "connection_error"


def test_a_low_balance_in_chinese_is_the_named_provider_s(kb):
    # The words translated are not Anthropic's own sentence: with OpenAI named, OpenAI's quota error.
    assert kb.lookup("gpt4 提示余额不足").matches[0].entry.code == "insufficient_quota"
    assert kb.lookup("claude 余额不足").matches[0].entry.code == "billing_error"


def test_alternatives_far_below_the_first_search_hit_are_not_offered(kb):
    # https://github.com/eduardoboucas/staticman/issues/402 : "application" brushed the Platform API's
    # not_acceptable (its Accept header), which was offered as "Or did you mean"
    answer = kb.lookup("Heroku Application Error")
    codes = [m.entry.code for m in answer.matches]
    assert codes[:2] == ["HTTP-503", "H10"]
    assert "not_acceptable" not in codes
    # Ranked by hand (a status): kept whatever their scores.
    assert len(kb.lookup("Heroku 503 errror App crashed").matches) >= 3


@pytest.mark.parametrize(
    ("question", "code"),
    [
        # https://github.com/cline/cline/issues/154 : the Anthropic SDK raises APIConnectionError too
        ("Anthropic API Connection Request Failed on VS Code", "connection_error"),
        # https://www.qqiyuan.cn/jie-jue-claude-wu-fa-lian-jie-anthropic-fu-wu-de-shi-zhan-zhi-nan-cong-zhen-duan-dao-xiu-fu/
        ("解决Claude无法连接Anthropic服务的实战指南:从诊断到修复", "connection_error"),
        # https://github.com/anthropics/claude-code/issues/6169 : "anthropic" among api_error's keywords
        # outweighed the "not found" the question said
        ('Anthropic API Error: Invalid Model "opus-4" Not Found', "not_found_error"),
    ],
)
def test_the_named_ai_api_s_name_is_not_a_phrase_an_entry_matches(kb, question, code):
    answer = kb.lookup(question)
    assert answer.best is not None and answer.best.code == code
    assert answer.best.platform == "anthropic"  # explained in Anthropic's words


def test_a_connection_error_named_with_anthropic_gets_anthropic_s_fixes(kb):
    entry = kb.lookup("Anthropic API Connection Request Failed on VS Code").best
    assert entry is not None
    assert "api.anthropic.com" in entry.summary and "ANTHROPIC_BASE_URL" in " ".join(entry.fixes)


def test_an_app_stopped_at_the_boot_timeout_s_mark_on_heroku_is_r10(kb):
    # https://github.com/anasty17/mirror-leech-telegram-bot/issues/1428
    assert kb.lookup("App stops after 60s in heroku").best.code == "R10"  # type: ignore[union-attr]


def test_an_outage_names_nothing_that_failed(kb):
    # https://github.com/anthropics/claude-code/issues/12401
    assert kb.lookup("[BUG] service outage").kind == "unsure"


def test_a_short_snake_case_word_one_letter_off_a_label_is_not_that_label(kb):
    # "rate_limits" is a setting's name as often as it is Heroku's rate_limit: only long labels are corrected
    assert kb._label("rate_limits") is None
    assert kb._label("insufficent_quota") == "insufficient_quota"


def test_an_error_body_s_family_and_its_own_sentence_are_not_the_same_entry_twice(kb):
    # https://github.com/poe-platform/poe-code/issues/56 : invalid_request_error was offered twice
    answer = kb.lookup(
        '│ API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":"Invalid model: '
        '\'anthropic/claude-opus-4.6\'. Please check the model name."},"request_id":"req_poe_55f5539d654541bc84d'
    )
    codes = [m.entry.code for m in answer.matches]
    assert codes and codes[0] == "invalid_request_error"
    assert len(codes) == len(set(codes))


def test_request_too_large_without_tpm_is_still_the_413(kb):
    # https://github.com/anthropics/claude-quickstarts/issues/254
    assert kb.lookup("Computer-Use: Request too large").best.code == "request_too_large"  # type: ignore[union-attr]


def test_a_program_missing_from_the_build_is_named_in_the_answer(kb):
    # https://github.com/kuharan/IPL-ML-2018/issues/3
    answer = kb.lookup("Heroku bash: gunicorn: command not found")
    assert answer.best is not None and answer.best.code == "crash-loop"
    assert "`gunicorn`" in answer.note and "dependencies" in answer.note


def test_a_missing_program_with_the_shell_name_cut_off_is_still_the_shell_not_an_apis_404(kb):
    # https://github.com/srid/chronicle/issues/37 : it had answered Anthropic's not_found_error. With no
    # platform named it may be a laptop's shell: both labelers said "not sure", so the crash loop is offered.
    answer = kb.lookup("spas: command not found")
    assert answer.kind == "unsure" and answer.candidates[0].entry.code == "crash-loop"
    assert "`spas`" in answer.note


def test_the_platform_cli_missing_on_a_laptop_is_not_a_crash(kb):
    # https://github.com/heroku/legacy-cli/issues/1297
    answer = kb.lookup(
        "But when I execute heroku in the shell, it throws back bash: heroku: command not found"
    )
    assert answer.best is None or answer.best.code != "crash-loop"


@pytest.mark.parametrize(
    "question",
    [
        "Git, Heroku:预接收钩子被拒绝",  # https://duoke360.com/post/29159
        "无法推送一些引用到 git@heroku.com",  # https://www.duoke360.com/post/29253
        "Error al hacer git push heroku main",  # https://github.com/IIC2143/Syllabus-2022-2/issues/58
    ],
)
def test_a_rejected_git_push_is_not_the_blank_app_page(kb, question):
    # A push the build rejected has no entry of its own: H81 (an app with no code yet) is not it.
    answer = kb.lookup(question)
    assert answer.best is None or answer.best.code != "H81"


def test_an_upload_is_not_the_router_s_idle_client_connection(kb):
    # https://github.com/strapi/strapi/issues/12601 : an upload that times out is the request timeout
    assert kb.lookup("[Heroku] S3 upload timeout and workaround").best.code == "H12"  # type: ignore[union-attr]
    # https://github.com/fossasia/open-event-server/issues/88 , https://github.com/jaydenseric/graphql-upload/issues/122
    for question in ("error during uploading files to heroku server", "upload video with heroku server"):
        answer = kb.lookup(question)
        assert answer.best is None or answer.best.code != "H28"


@pytest.mark.parametrize(
    ("question", "codes"),
    [
        # https://github.com/dbashford/mimosa/issues/178 : a crash while starting is a crash, not H20
        ("Crashes on startup when deployed to Heroku", {"H10", "crash-loop"}),
        # http://www.misselsoft.com.br/blog/tag/requisicoes/ : keeping an app "always online" is about sleep
        ("Kaffeine – Como manter seu app sempre online no Heroku?", {"eco-sleeping"}),
        # https://github.com/songquanpeng/one-api/issues/823 : an OpenAI-style gateway calls its key a token
        ("未提供令牌", {"invalid_api_key", "AI-401"}),
    ],
)
def test_wordings_from_blind_sets_47_and_48(kb, question, codes):
    answer = kb.lookup(question)
    assert answer.best is not None and answer.best.code in codes


def test_a_platform_named_outweighs_a_word_that_only_suggests_the_other(kb):
    # http://pawelgoscicki.com/categories/hosting/heroku/ : "machine" suggests Fly, "Heroku" says Heroku
    answer = kb.lookup("Heroku memory quota killing machine")
    assert answer.best is not None and answer.best.code in ("R14", "R15")


@pytest.mark.parametrize(
    ("question", "wrong"),
    [
        # https://github.com/PostgREST/postgrest-heroku/issues/3 : "hangs" is not Node's "socket hang up" (H13)
        ("Heroku image hangs on request", "H13"),
        # https://github.com/Aider-AI/aider/issues/1869
        ("Aider never hangs and did not recover after this issue", "H13"),
        # https://github.com/mattermost/mattermost/issues/8538 : "version" is not the Platform API's Accept header
        ("Cannot install latest version on Heroku", "not_acceptable"),
    ],
)
def test_a_word_inside_another_entry_s_phrase_is_not_that_entry(kb, question, wrong):
    answer = kb.lookup(question)
    assert answer.best is None or answer.best.code != wrong


def test_an_invalid_model_name_said_of_claude_is_anthropic_s_not_found(kb):
    # https://github.com/anomalyco/opencode/issues/1188
    answer = kb.lookup("BUG: Claude Opus 4 - AI_APICallError: system: Invalid model name")
    assert answer.best is not None and answer.best.code == "not_found_error"


@pytest.mark.parametrize(
    ("question", "code"),
    [
        # https://github.com/matrixgpt/matrix-chatgpt-bot/issues/217 : an error label misspelt
        ("Insufficent_quota", "insufficient_quota"),
        # https://github.com/resque/resque/issues/1559 : a setting's name says its words (shutdown timeout)
        ("[BUG] RESQUE_PRE_SHUTDOWN_TIMEOUT not working at all on Heroku", "R12"),
        # https://github.com/ChatGPTNextWeb/NextChat/issues/3195
        ("[Bug] max_token is too large", "context_length_exceeded"),
        # https://github.com/Significant-Gravitas/AutoGPT/issues/198 : "time out" in two words
        ("Open Ai api TIME OUT", "connection_error"),
        # https://github.com/YaleComputerSociety/Yalies-Legacy/issues/208 : no log named, so not a log buffer
        ("Fix scraper overflowing Heroku memory and being terminated", "R14"),
        # https://github.com/erikras/react-redux-universal-hot-example/issues/1129
        ("[Heroku] Error: listen EADDRINUSE :::23043", "exit-1"),
        # https://github.com/Chanzhaoyu/chatgpt-web/issues/1400 : "timed out" is the entries' "timeout"
        ("OpenAI timed out waiting for response", "connection_error"),
        # https://github.com/Together-Java/TJ-Bot/issues/839 : an AI API named, so not an exit status
        ("chatgpt command timeouts too early", "connection_error"),
        # https://github.com/HaroldPetersInskipp/node-red-contrib-chatgpt/issues/22 : a retired model
        ("Model deprecated: text-davinci-003", "model_not_found"),
        # https://github.com/just-every/code/issues/421 : OpenAI's tokens-per-minute limit says "Request too large"
        ('Stuck at "Request too large TPM limit"', "rate_limit_exceeded"),
        # https://github.com/kuharan/IPL-ML-2018/issues/3 : the shell's "command not found", not the Platform
        # API's not_found
        ("Heroku bash: gunicorn: command not found", "crash-loop"),
        # https://github.com/metabase/metabase/issues/15412 : "longer than 30s" is the router's limit
        ('queries that run longer than 30s get infinite "doing science" on heroku', "H12"),
        # https://github.com/kharvd/gpt-cli/issues/33 : "not found" with no status number is the symptom
        ("Model GPT-4 not found", "model_not_found"),
        # https://github.com/marcolardera/chatgpt-cli/issues/29 : OpenAI's 404 is model_not_found, not the
        # type Anthropic uses
        ("Some models are missing (e.g. gpt-4)", "model_not_found"),
        # https://github.com/Cerlancism/chatgpt-subtitle-translator/issues/34
        ("ERROR max_tokens", "context_length_exceeded"),
        # https://github.com/patterns-ai-core/langchainrb/issues/628 : a reason phrase glued into a class name
        ("TooManyRequestsError when calling OpenAI API", "rate_limit_exceeded"),
        # https://github.com/mckaywrigley/chatbot-ui/issues/695 : OpenAI's billing_not_active
        (
            "Your account is not active, please check your billing details on our website.",
            "insufficient_quota",
        ),
        # https://blog.gitcode.com/c09fd5ecfa03487d1e8814aba0756fda.html
        ("Langroid项目中GPT-4模型上下文长度超限问题解析", "context_length_exceeded"),
        # https://github.com/chatboxai/chatbox/issues/410
        ("OpenAI API被限速了怎么办？", "rate_limit_exceeded"),
        # https://blog.gitcode.com/21bdcc3912be87e27b376fa0f3015705.html
        ("PrivateGPT项目中的OpenAI上下文长度限制问题分析与解决方案", "context_length_exceeded"),
        # https://github.com/volpe28v/DevHub/issues/35
        ("heroku に上げたら初期ロード時間が長いので、対策必要。", "eco-sleeping"),
        # https://github.com/rksm/org-ai/issues/43 : the API's host never answered
        ("stuck on Contacting host: api.openai.com:443", "connection_error"),
        # https://github.com/ogx-ai/ogx/issues/2536 : LiteLLM's class for the context limit
        ("RAG sometimes fails with ContextWindowExceededError", "context_length_exceeded"),
        # https://github.com/open-wa/wa-automate-deploy-heroku/issues/125
        ("App keep crashing at startup", "crash-loop"),
        # https://github.com/lyfe00011/whatsapp-bot-md/issues/117 : Heroku's state change, cut short
        ("starting to crashed", "crash-loop"),
        # https://github.com/n3d1117/chatgpt-telegram-bot/issues/434
        ("Cannot use model gpt-4", "model_not_found"),
        # https://github.com/siddartha19/investormate/issues/3 : OpenAI's label in words, Anthropic named
        ("Anthropic model not found error", "not_found_error"),
        # https://docs.typingmind.com/troubleshooting/error-429:-claude-rate-limit-exceeded
        ("Error 429: Claude Rate Limit Exceeded", "rate_limit_error"),
        # https://github.com/riverscuomo/spotkin_server/issues/32 : "timout", and the router's 30 s
        ("work around heroku 30 sec timout", "H12"),
    ],
)
def test_wordings_from_blind_sets_39_to_52(kb, question, code):
    answer = kb.lookup(question)
    assert answer.best is not None and answer.best.code == code


@pytest.mark.parametrize(
    "question",
    [
        # https://github.com/davila7/claude-code-templates/issues/99
        "getting 404 while using the plugin",
        # https://github.com/microsoft/JARVIS/issues/72 : the app's own 404, not Heroku's "no such app" page
        "I seems to have deploy the server successfully, but a 404 error is returned in the web API",
        # https://community.fly.io/t/serverless-cold-start-causes-nginx-502-bad-gateway-fastapi-nginx-docker/24457
        "For about 2–3 seconds, I consistently get 502 Bad Gateway (nginx) errors.",
    ],
)
def test_a_status_on_no_platform_with_words_that_fit_none_of_its_entries_is_not_sure(kb, question):
    answer = kb.lookup(question)
    assert answer.kind == "unsure" and answer.candidates


def test_a_status_with_words_that_name_one_of_its_entries_is_still_answered(kb):
    # https://github.com/rsimon/immarkus/issues/338
    assert kb.lookup("Claude Opus model is giving a 404").best.code == "not_found_error"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "question",
    [
        "postgres-ha or postgres-flex?",  # https://github.com/fly-apps/postgres-flex/issues/116
        "ERROR WHEN I CHAT WITH THE BOT",  # https://github.com/Zero6992/chatGPT-discord-bot/issues/443
        # https://github.com/sidekiq/sidekiq/issues/4278
        "Sidekiq is not running in Heroku dyno and there are no errors in logs",
        "Error Could not resolve App",  # https://github.com/lyz7805/v2ray4flyio/issues/3
    ],
)
def test_a_question_that_names_a_subject_but_no_failure_is_not_sure(kb, question):
    # "postgres" (postgres-connections), "chat" (a chat completion's 400), "could" (PU04's "could not build")
    # matched one word of an entry that is about something else going wrong.
    assert kb.lookup(question).kind == "unsure"


def test_request_timed_out_is_an_api_clients_timeout_unless_heroku_is_named(kb):
    # https://github.com/perplexityai/api-discussion/issues/255 : the OpenAI and Anthropic SDKs' words
    # (APITimeoutError); Heroku's router writes "Request timeout".
    answer = kb.lookup('[Bug] <Brief description> "request timed out. please try again."')
    assert answer.best.code == "connection_error"  # type: ignore[union-attr]
    assert kb.lookup("Request timeout on Heroku").best.code == "H12"  # type: ignore[union-attr]
    assert kb.lookup("request timed out on heroku").best.code == "H12"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "question",
    [
        "是不是不能用apikey调用chatgptle，一直报错Failed to fetch",  # https://github.com/chathub-dev/chathub/issues/378
        "TypeError: fetch failed",  # https://github.com/upstash/redis-js/issues/1322
    ],
)
def test_a_fetch_that_got_no_answer_is_a_connection_error(kb, question):
    # A browser's "Failed to fetch" and Node's "fetch failed" mean no HTTP answer came back at all.
    assert kb.lookup(question).best.code == "connection_error"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("question", "code"),
    [
        # https://apidog.com/pt/blog/openai-api-user-rate-limits-pt : "limites de taxa" is Portuguese for rate limits
        ("Limites de Taxa de Usuários da API OpenAI: Explicado", "rate_limit_exceeded"),
        # https://github.com/Aider-AI/aider/issues/2812 : LiteLLM is a gateway that speaks OpenAI's API
        ("Getting litellm Connection Issue", "connection_error"),
        # https://github.com/cline/cline/issues/3414 : an alias read with its typo corrected
        ("Api request fail, connection eror", "connection_error"),
    ],
)
def test_ai_api_questions_read_through_language_gateway_and_typos(kb, question, code):
    answer = kb.lookup(question)
    assert answer.best.code == code  # type: ignore[union-attr]
    # With an AI API named, no hosting platform's code is offered beside it (it had offered Fly's PC03).
    assert not {m.entry.platform for m in answer.matches} & {"heroku", "heroku-platform", "fly"}


@pytest.mark.parametrize(
    "question",
    [
        "I am getting this error ⏺ API Error: 500 Internal server...",  # https://github.com/anthropics/claude-code/issues/70344
        "[BUG] 살려주세요 API Error: 500",  # https://github.com/anthropics/claude-code/issues/11851
    ],
)
def test_api_error_with_a_status_and_no_platform_is_an_ai_apis_status(kb, question):
    # "API Error: 500" is how Claude Code and most AI clients print a failed call; Heroku's router never says it.
    answer = kb.lookup(question)
    assert 500 in answer.best.statuses  # type: ignore[union-attr]
    # The note says "OpenAI's meaning first": the card explains it in OpenAI's words, not Heroku AI's.
    assert "OpenAI" in answer.note and answer.best.platform == "openai"  # type: ignore[union-attr]


def test_a_crash_with_its_cause_named_is_about_the_cause(kb):
    # https://github.com/EtherWorld/EtherWorld/issues/51 : both labelers answered the Redis connection limit
    answer = kb.lookup("Heroku crashing due to redis connection error")
    assert answer.best.code == "redis-connections"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "question",
    [
        # https://github.com/etkecc/baibot/issues/13
        'Anthropic agent failure: \'roles must alternate between "user" and "assistant", but found multiple '
        '"user" roles in a row\'',
        # https://github.com/FlowiseAI/Flowise/issues/3147
        '[BUG] Claude Sonnet 3.5 based Software Team (from Marketplace) consistently fails with "found multiple '
        'assistant roles in a row"',
    ],
)
def test_turns_that_do_not_alternate_are_anthropics_invalid_request(kb, question):
    answer = kb.lookup(question)
    assert answer.best.code == "invalid_request_error" and answer.evidence == "wording"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "question",
    [
        "Connection refused when I try to modify data",  # https://github.com/jhipster/jhipster-online/issues/295
        # https://github.com/CoderBounty/coderbounty/issues/336 : the database refused, not Fly's proxy
        'OperationalError: could not connect to server: Connection refused Is the server running on host "ec2-'
        '107-22-250-212.compute-1.amazonaws.com" (10.181.107.223) and accepting TCP/IP connections on port 5',
    ],
)
def test_a_network_failure_with_fly_not_named_is_not_one_of_flys_proxy_codes(kb, question):
    # Fly's proxy codes are named after plain network failures; with Fly not named they are only candidates.
    answer = kb.lookup(question)
    assert answer.kind == "unsure"


def test_flys_own_proxy_log_words_still_name_its_code_when_fly_is_not_named(kb):
    # https://github.com/Shopify/shopify-app-template-php/issues/475
    answer = kb.lookup(
        "instance refused connection. is your app listening on 0.0.0.0:8080? make sure it is not only listening "
        "on 127.0.0.1 (hint: look at your startup logs, servers often print the address they are listening on)"
    )
    assert answer.best.code == "PC01"  # type: ignore[union-attr]


def test_a_fly_toml_setting_names_fly(kb):
    # https://github.com/manavgup/wikimind/issues/594
    answer = kb.lookup("fix: set production min_machines_running = 1 to avoid cold-start timeouts")
    assert answer.best.platform == "fly"  # type: ignore[union-attr]


def test_the_first_error_status_is_read_past_a_200(kb):
    # https://github.com/869413421/wechatbot/issues/10 : "not equals 200" came first and hid the 401
    answer = kb.lookup("gtp request error: gtp api status code not equals 200,code is 401")
    assert answer.evidence == "status" and 401 in answer.best.statuses  # type: ignore[union-attr]
    assert answer.best.platform != "heroku"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("question", "code"),
    [
        # https://github.com/qkqpttgf/OneManager-php/issues/68 : "heroku.com" names Heroku
        ("在heroku.com上面部署升级到最新版后显示500错误", "HTTP-500"),
        # https://github.com/dev-hato/hato-bot/pull/4552 : 課金 (billing) 不足 (insufficient)
        ("OpenAI: 課金不足でAPIを実行できない場合のエラーメッセージ追加", "insufficient_quota"),
    ],
)
def test_heroku_dot_com_and_japanese_billing_words_are_read(kb, question, code):
    assert kb.lookup(question).best.code == code  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "question",
    [
        "Web process on Heroku idles and shuts down",  # https://github.com/hubotio/hubot/issues/236
        "herokuのアイドルタイム対応",  # https://github.com/hiyoco-connect/hiyoco-connect/issues/90
        "Heroku 检查空闲时间",  # https://imangodoc.com/D50NOUcr.html
    ],
)
def test_a_heroku_dyno_said_to_idle_is_an_eco_dyno_asleep(kb, question):
    assert kb.lookup(question).best.code == "eco-sleeping"  # type: ignore[union-attr]


def test_an_idle_connection_on_heroku_is_still_the_routers(kb):
    # https://github.com/RocketChat/Rocket.Chat/issues/4589 : a connection's idle timeout, not a dyno asleep
    assert kb.lookup("Heroku H15 Idle Connection Errors").best.code == "H15"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("question", "code"),
    [
        # https://github.com/YishenTu/claudian/issues/422 : Sonnet is Claude; "rate_limit" is the Platform
        # API's label, said of Anthropic's API
        ('Sonnet [1M] returns persistent "rate_limit" error while Opus/Haiku work fine', "rate_limit_error"),
        # https://github.com/jentic/standard-agent/issues/31 : a parameter the model does not take
        ("GPT-5 doesn't support temperature=0.2", "invalid_request_error"),
        # https://github.com/microsoft/vscode-copilot-release/issues/11001
        ("Server Error: Claude Sonnet 4 is currently experiencing high demand.", "overloaded_error"),
        # https://github.com/openai/openai-python/issues/2111 : typo kept as posted
        ("o3-mini is not accesible", "model_not_found"),
    ],
)
def test_newer_models_errors_are_read_as_their_apis(kb, question, code):
    assert kb.lookup(question).best.code == code  # type: ignore[union-attr]


def test_a_gateways_402_is_openais_insufficient_quota(kb):
    # https://github.com/hassanmsthf11/unlimited-claude-AI/issues/22 : OpenRouter's 402 body, no hosting
    # platform named. Heroku's 402 is a delinquent account; OpenRouter speaks OpenAI's API, and OpenAI calls
    # credits that ran out insufficient_quota (both labelers said so).
    answer = kb.lookup(
        '"error": "402 Insufficient credits. Add more using https://openrouter.ai/settings/credits"'
    )
    assert answer.best.code == "insufficient_quota"  # type: ignore[union-attr]
    assert answer.evidence == "status"


def test_a_heroku_app_that_goes_quiet_after_a_while_is_an_eco_dyno_asleep(kb):
    # https://github.com/automuteus/automuteus/issues/169
    answer = kb.lookup("Heroku bot keeps going offline after some time")
    assert [m.entry.code for m in answer.matches] == ["eco-sleeping", "exit-143"]


@pytest.mark.parametrize(
    "question",
    [
        "Newly deployed app crashes",  # https://github.com/thoughtbot/suspenders/issues/247
        # https://github.com/chrismcg/heroku-buildpack-elixir-mix-release/issues/3
        "App crashing following deployment - no child process",
        "App Crash after latest push",  # https://github.com/NodeBB/NodeBB/issues/1841
    ],
)
def test_a_crash_that_came_with_a_release_is_the_crash_loop(kb, question):
    answer = kb.lookup(question)
    assert [m.entry.code for m in answer.matches] == ["crash-loop", "H10"]


def test_a_crash_with_nothing_more_said_is_still_not_sure(kb):
    # https://github.com/heroku/heroku-repo/issues/64 : no release, no cause, no platform
    assert kb.lookup("app crashes").kind == "unsure"


@pytest.mark.parametrize(
    "question",
    [
        # https://github.com/pycaret/deployment-heroku/issues/3
        "pycaret 2.2.3 and streamlit - heroku exceeds 500MB slug size limit for Free dyno",
        "Slug size exceeds 300mb",  # https://github.com/btubbs/heroku-buildpack-shiny/issues/7
    ],
)
def test_a_slug_too_big_is_a_build_failure_no_code_covers(kb, question):
    from fakes.slack import block_problems

    from bot.render.cards import answer_card_blocks

    answer = kb.lookup(question)
    assert answer.matches == () and "500 MB" in answer.note and ".slugignore" in answer.note
    assert block_problems(answer_card_blocks(answer)) == []


def test_codes_said_beside_the_slug_size_are_still_answered(kb):
    # https://github.com/heroku/heroku-repo/issues/121
    answer = kb.lookup("R14 and R10 erro with H10 and H20 ho can i redure slug size")
    assert answer.best is not None and answer.best.code in ("R14", "R10", "H10", "H20")


def test_heroku_s_application_error_page_named_in_chinese_is_that_page(kb):
    # https://github.com/bclswl0827/v2ray-heroku/issues/33 : both labelers say the 503 page
    assert kb.lookup("应用出现错误").best.code == "HTTP-503"  # type: ignore[union-attr]
