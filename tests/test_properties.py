"""Property-based tests (hypothesis): normalisation, accents, chunking, the conversation service and
every HTTP endpoint of the web channel and the web admin, on arbitrary text, arbitrary bytes and huge inputs.

Examples are derandomised (the same on every run) and bounded, so the file runs in seconds.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import unicodedata
from collections import Counter
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.accents import AccentRestorer
from bot.backoff import backoff
from bot.contests.chat import COMMANDS as CONTEST_COMMANDS
from bot.conversation.service import COMMANDS
from bot.relay.commands import COMMANDS as RELAY_COMMANDS
from bot.chat.types import IncomingMessage, OutgoingMessage
from bot.knowledge import plaintext
from bot.relay import commands as relay
from bot.textnorm import clean, expand_abbreviations, fold, nfc, strip_markup
from bot.webadmin import auth
from tests.web_server import database_url, make_service, serve
from tests.test_webadmin import PASSWORD, login, session_csrf

FAST = settings(
    max_examples=150, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SLOW = settings(FAST, max_examples=40)  # examples that embed a question or go over HTTP
HUGE = settings(FAST, max_examples=3)  # a 1,000-character question (the engine's cut) takes seconds to embed

VIETNAMESE_LETTERS = (
    "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
)
VIETNAMESE = VIETNAMESE_LETTERS + VIETNAMESE_LETTERS.upper()
WORD = re.compile(r"[^\W_]+")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

any_text = st.text(max_size=400)
# Text as people type it: Vietnamese letters (composed or decomposed), digits, punctuation, emoji.
vietnamese_word = st.text(alphabet=VIETNAMESE + "0123456789", min_size=1, max_size=8)
separator = st.sampled_from([" ", "  ", ", ", ". ", "? ", "!\n", "\n", "\t", " - ", " 😀 ", " (", ") ", " 2/2025 "])
vietnamese_text = st.lists(st.tuples(vietnamese_word, separator), max_size=40).map(
    lambda parts: "".join(w + s for w, s in parts)
)


# -- bot/textnorm.py -----------------------------------------------------------------------------


@FAST
@given(any_text)
def test_nfc_is_idempotent_and_composed(text):
    once = nfc(text)
    assert nfc(once) == once
    assert unicodedata.is_normalized("NFC", once)


@FAST
@given(st.one_of(any_text, vietnamese_text, vietnamese_text.map(lambda t: unicodedata.normalize("NFD", t))))
def test_fold_has_no_combining_marks_and_vietnamese_letters_become_ascii(text):
    folded = fold(text)
    assert not any(unicodedata.combining(c) for c in folded)
    assert fold(folded) == folded
    letters = [c for c in unicodedata.normalize("NFC", text) if c in VIETNAMESE]
    assert all(fold(c).isascii() and len(fold(c)) == 1 for c in letters)


@FAST
@given(st.one_of(any_text, st.text(alphabet=st.characters(max_codepoint=0x3000), max_size=400)))
def test_clean_never_leaves_control_characters_or_edges(text):
    cleaned = clean(text)
    assert not CONTROL.search(cleaned)
    assert cleaned == cleaned.strip()
    assert "\t" not in cleaned and "  " not in cleaned


@FAST
@given(st.one_of(any_text, vietnamese_text))
def test_expand_abbreviations_never_raises_and_keeps_unknown_words(text):
    expanded = expand_abbreviations(text)
    assert isinstance(expanded, str)
    assert expand_abbreviations(text) == expanded  # pure
    assert "không" in expand_abbreviations(f"{text} ko")


# -- bot/accents.py ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def restorer() -> AccentRestorer:
    r = AccentRestorer()
    r.learn("Kích hoạt tài khoản định danh điện tử mức 2 tại cơ quan Công an. Bạn bán hàng ở chợ.")
    return r


def non_letters(text: str) -> list[str]:
    return re.findall(r"[\W_]+", text)


@FAST
@given(text=st.one_of(vietnamese_text, vietnamese_text.map(fold)))
def test_restore_keeps_words_and_everything_between_them(restorer, text):
    source = nfc(text)
    restored = restorer.restore(text)
    assert len(WORD.findall(restored)) == len(WORD.findall(source))
    assert non_letters(restored) == non_letters(source)
    assert [fold(w) for w in WORD.findall(restored)] == [fold(w) for w in WORD.findall(source)]


@FAST
@given(text=any_text, refold=st.booleans())
def test_restore_never_raises_on_arbitrary_text(restorer, text, refold):
    assert isinstance(restorer.restore(text, refold=refold), str)


# -- bot/knowledge/plaintext.py ------------------------------------------------------------------

# Words of a plan; 'TT'/'STT' are left out here: they open appendix tables, tested separately.
plan_word = st.one_of(
    vietnamese_word.filter(lambda w: w.lower() not in plaintext._TABLE_HEADER),
    st.sampled_from(["I.", "II.", "1.", "2.1.", "a)", "-", "•", "NỘI", "DUNG", "UBND"]),
)
plan_separator = st.sampled_from([" ", " ", " ", ". ", "; ", "\n", "\n\n", "\r\n", "\t", " <br> ", "<td>", "</td>\t", "&nbsp;"])
plan_text = st.lists(st.tuples(plan_word, plan_separator), max_size=300).map(lambda parts: "".join(w + s for w, s in parts))


def sentences(chunk: str) -> list[str]:
    return re.split(r"(?<=[.;!?])\s+", chunk)


@FAST
@given(raw=st.one_of(any_text, plan_text, st.text(alphabet="<>/\t\n\r &;ab.", max_size=300)))
def test_repair_and_sections_never_raise(raw):
    paragraphs = plaintext.repair(raw)
    assert all(p and "\n" not in p for p in paragraphs)
    for section in plaintext.sections(paragraphs):
        assert section.text.strip()


@FAST
@given(raw=plan_text)
def test_chunks_stay_within_the_limit_and_lose_no_word(raw):
    paragraphs = plaintext.repair(raw)
    chunks = [s.text for s in plaintext.sections(paragraphs)]
    for chunk in chunks:  # longer than the limit only when it is a single sentence
        assert len(chunk) <= plaintext._MAX_CHUNK or ("\n" not in chunk and len(sentences(chunk)) == 1), chunk
    expected = Counter(WORD.findall(strip_markup(nfc(raw))))
    got = Counter(WORD.findall("\n".join(chunks)))
    assert not expected - got, f"lost: {expected - got}"


@FAST
@given(rows=st.lists(st.lists(vietnamese_word.filter(lambda w: not w.isdigit()), min_size=3, max_size=3), min_size=1, max_size=6))
def test_tab_tables_keep_every_cell_of_every_row(rows):
    raw = "STT\tTên nhiệm vụ\tCơ quan chủ trì\tThời gian\n" + "".join(
        f"{i}\t" + "\t".join(cells) + "\n" for i, cells in enumerate(rows, 1)
    )
    text = "\n".join(s.text for s in plaintext.sections(plaintext.repair(raw)))
    for cells in rows:
        for word in WORD.findall(nfc(" ".join(cells))):
            assert word in WORD.findall(text)


# -- the conversation service --------------------------------------------------------------------

_message_ids = itertools.count(1)
CHANNELS = ["test", "web", "zalo", "telegram"]
button_data = st.one_of(
    st.text(max_size=80),
    st.tuples(
        st.sampled_from(["fb", "rq", "esc", "tp", "fq", "sub", "qa", *sorted(relay.BUTTONS)]),
        st.text(alphabet="0123456789:-abc", max_size=12),
    ).map(lambda t: f"{t[0]}:{t[1]}"),
)
incoming = st.builds(
    IncomingMessage,
    channel=st.sampled_from(CHANNELS),
    user_id=st.sampled_from(["p1", "p2", "p3"]),
    chat_id=st.sampled_from(["p1", "p2", "g1"]),
    kind=st.sampled_from(["text", "command", "button", "poll_answer", "other", "unsupported", "nonsense"]),
    text=st.one_of(any_text, vietnamese_text, st.sampled_from(["1", "2", "B", "kich hoat vneid", "#1 cảm ơn"])),
    command=st.one_of(st.sampled_from(sorted({*COMMANDS.words(), *RELAY_COMMANDS.words(), *CONTEST_COMMANDS})), st.text(max_size=20)),
    data=button_data,
    poll_id=st.one_of(st.text(max_size=10), st.integers(0, 5).map(str)),
    option=st.integers(-3, 6),
    message_id=st.one_of(st.just(""), st.builds(lambda: str(next(_message_ids)))),
    display_name=st.text(max_size=60),
    chat_type=st.sampled_from(["private", "group"]),
    buttons=st.booleans(),
)


@pytest.fixture(scope="module")
def service(small_engine, tmp_path_factory):
    return make_service(small_engine, database_url(tmp_path_factory.mktemp("props")), flood_limit=10**6)


@SLOW
@given(msg=incoming)
def test_service_answers_any_message_with_text(service, msg):
    out = service.handle(msg)
    assert isinstance(out, list) and all(isinstance(m, OutgoingMessage) for m in out)
    assert all(m.text.strip() for m in out)
    if not (msg.kind == "poll_answer" and msg.channel == "telegram"):  # Telegram shows quiz results itself
        assert out, msg


@HUGE
@given(piece=st.one_of(any_text.filter(bool), st.sampled_from(["😀", "<b>x</b>", "\x00\u200b", "kich hoat "])),
       size=st.integers(5000, 12000))
def test_service_answers_huge_text(service, piece, size):
    text = (piece * (size // len(piece) + 1))[:size]
    (out,) = service.handle(IncomingMessage("test", "huge", "huge", "text", text=text))
    assert out.text.strip()


# -- every HTTP endpoint of the web channel ------------------------------------------------------

BODY_LIMIT = 16_384
content_type = st.one_of(
    st.sampled_from(["application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
                     "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", ""]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=200),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
api_object = st.dictionaries(
    st.sampled_from(["question", "text", "button", "extra"]),
    st.one_of(json_value, st.text(max_size=300), vietnamese_text, st.sampled_from(["/start", "/quiz", "/", "fb:1:1"])),
    max_size=3,
)
body = st.one_of(
    st.binary(max_size=2000),
    api_object.map(lambda o: json.dumps(o).encode()),
    api_object.map(lambda o: json.dumps(o, ensure_ascii=False).encode()),
    json_value.map(lambda v: json.dumps(v).encode()),
)
ENDPOINTS = [("POST", "/api/ask"), ("POST", "/api/chat"), ("GET", "/healthz"), ("GET", "/"), ("GET", "/widget.js"),
             ("GET", "/static/chat.js")]


@pytest.fixture(scope="module")
def base(small_engine, tmp_path_factory):
    web_service = make_service(small_engine, database_url(tmp_path_factory.mktemp("props-web")), flood_limit=10**6)
    with serve(web_service, max_body_bytes=BODY_LIMIT) as url:
        yield url


@pytest.fixture(scope="module")
def client(base):
    with httpx.Client(base_url=base, timeout=60) as c:
        yield c


@SLOW
@given(endpoint=st.sampled_from(ENDPOINTS), method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD"]),
       payload=body, kind=content_type, cookie=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=";,"), max_size=40))
def test_no_endpoint_answers_5xx_to_arbitrary_requests(client, endpoint, method, payload, kind, cookie):
    _, path = endpoint
    response = client.request(method, path, content=payload, headers={"content-type": kind, "cookie": f"bdhvs_visitor={cookie}"})
    assert response.status_code < 500, (method, path, response.status_code, response.text[:300])


@SLOW
@given(endpoint=st.sampled_from(["/api/ask", "/api/chat"]), payload=api_object)
def test_json_api_answers_any_object_with_200_or_4xx_json(client, endpoint, payload):
    response = client.post(endpoint, json=payload)
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text[:300]
    data = response.json()
    if response.status_code == 200:
        assert data.get("answer") if endpoint == "/api/ask" else all(m["text"] for m in data["messages"])
    else:
        assert data["error"] and data["message"]


@SLOW
@given(path=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?#"), max_size=80),
       query=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="#"), max_size=80))
def test_arbitrary_paths_and_queries_are_never_5xx(client, path, query):
    response = client.get(f"/{path}?{query}")
    assert response.status_code < 500, (path, query, response.status_code)


# -- the web admin (bot/webadmin) ------------------------------------------------------------------

ADMIN_POSTS = ["/admin/login", "/admin/faq/save", "/admin/faq/retire/thanhtoan-ma-qr", "/admin/faq/retire/khong-co",
               "/admin/history/rollback/1", "/admin/history/rollback/999", "/admin/drafts/reject/1",
               "/admin/inbox/1/claim", "/admin/inbox/1/reply", "/admin/inbox/1/savefaq", "/admin/inbox/1/xyz"]
FORM_KEYS = ["mode", "id", "topic", "question", "alternatives", "answer", "source", "source_url", "tags", "text", "name",
             "password", "next", "csrf"]
form_value = st.one_of(st.text(max_size=300), vietnamese_text, st.sampled_from(["edit", "new", "vneid", "", "thanhtoan-ma-qr"]),
                       st.text(max_size=3).map(lambda t: t * 5000))


@pytest.fixture(scope="module")
def admin(small_engine, small_kb, tmp_path_factory):
    """A logged-in admin's client on a bot serving a copy of the small knowledge base."""
    kb = Path(shutil.copytree(small_kb, tmp_path_factory.mktemp("props-admin") / "kb"))
    web_service = make_service(small_engine, database_url(tmp_path_factory.mktemp("props-admin-db")), flood_limit=10**6)
    with web_service.db.session() as s:
        auth.create_account(s, "props", PASSWORD, "admin", [], "cli:test")
    with serve(web_service, knowledge_dir=kb) as base:
        client, response = login(base, "props")
        assert response.status_code == 303
        yield client
        client.close()


@SLOW
@given(path=st.sampled_from(ADMIN_POSTS), form=st.dictionaries(st.sampled_from(FORM_KEYS), form_value, max_size=8),
       valid_csrf=st.booleans())
def test_admin_forms_answer_any_input_without_5xx_and_check_csrf(admin, path, form, valid_csrf):
    token = session_csrf(admin)
    if valid_csrf and path != "/admin/login":
        form = {**form, "csrf": token}
    elif form.get("csrf") == token:
        form = {**form, "csrf": token + "x"}
    response = admin.post(path, data=form)
    assert response.status_code < 500, (path, response.status_code, response.text[:300])
    if not valid_csrf and path != "/admin/login":
        assert response.status_code in (403, 413), (path, response.status_code)  # 413: refused before reading it
    assert admin.get("/admin/faq").status_code == 200  # still logged in, still serving


@pytest.mark.parametrize("endpoint", ["/api/ask", "/api/chat"])
@pytest.mark.parametrize("size", [BODY_LIMIT + 1, 200_000, 3_000_000])
def test_huge_bodies_are_refused_with_413(client, endpoint, size):
    key = "question" if endpoint == "/api/ask" else "text"
    payload = json.dumps({key: "a" * size}).encode()
    response = client.post(endpoint, content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 413
    chunked = client.post(endpoint, content=iter([payload[i : i + 65536] for i in range(0, len(payload), 65536)]),
                          headers={"content-type": "application/json"})  # no Content-Length: refused while reading
    assert chunked.status_code == 413


@pytest.mark.parametrize("endpoint", ["/api/ask", "/api/chat"])
def test_longest_accepted_question_is_answered(client, endpoint):
    key = "question" if endpoint == "/api/ask" else "text"
    filler = "kích hoạt vneid mức 2 ở đâu 😀 <b>x</b> "
    text = (filler * (BODY_LIMIT // len(filler.encode())))[: BODY_LIMIT // 4]
    response = client.post(endpoint, json={key: text})
    assert response.status_code == 200, response.text[:300]


# -- retry backoff (bot/backoff.py) ------------------------------------------------------------------------


@given(st.integers(1, 10_000), st.floats(0.001, 1000), st.floats(0.001, 10_000))
def test_backoff_doubles_is_capped_and_jittered_within_half_to_whole(attempt, first, cap):
    ceiling = min(cap, first * 2.0 ** min(attempt - 1, 60))  # past 60 doublings every cap here is reached
    assert ceiling / 2 <= backoff(attempt, first, cap) <= ceiling
