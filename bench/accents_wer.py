"""Word error rate of the accent restorer on diacritic-folded copies of accented questions.

Usage: .venv/bin/python bench/accents_wer.py FILE_OR_DIR... [--all] [--errors] [--index DIR]

Each accented question is folded ('Làm sao' -> 'lam sao'), restored with the restorer an engine
derives from the index (bot/retrieval/engine.py `derive`), and compared word by word with the
original, in lower case (letter case is `recase`'s business, not the restorer's). By default only
the originals that the file also holds as folded copies (`variant_of`) are used, that is the
questions whose unaccented form the evaluation asks; `--all` takes every accented question.
Words without any diacritic in the original count too (restoring 'ban' as 'bạn' where 'ban' was
meant is an error). `--errors` lists each wrong word as typed -> restored (expected). `--unseen` leaves
out the questions that the knowledge base holds word for word (accents aside) as an entry's question or phrasing
(the restorer learned those sentences, so they say little about new questions).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.accents import AccentRestorer  # noqa: E402
from bot.evaluation import read_labelled  # noqa: E402
from bot.retrieval.engine import derive  # noqa: E402
from bot.retrieval.store import load_index  # noqa: E402
from bot.textnorm import clean, diacritic_ratio, fold  # noqa: E402

_WORD = re.compile(r"[^\W\d_]+")


def originals(path: Path, every: bool, known: set[str]) -> list[str]:
    rows = read_labelled(path)
    folded_of = {r.variant_of for r in rows if r.style == "unaccented" and r.variant_of}
    return [
        clean(r.question) for r in rows
        if r.style == "accented" and diacritic_ratio(r.question) >= 0.35 and (every or r.id in folded_of)
        and _key(r.question) not in known
    ]


def _key(text: str) -> str:
    return " ".join(_WORD.findall(fold(text)))


def word_errors(restorer: AccentRestorer, question: str) -> tuple[int, list[tuple[str, str, str]]]:
    """(words, [(typed, restored, expected)]) for one accented question."""
    typed = fold(question)
    restored = restorer.restore(typed)
    want, got = _WORD.findall(question.lower()), _WORD.findall(restored.lower())
    assert len(want) == len(got), (question, restored)  # restoring changes letters, never words
    return len(want), [(fold(w), g, w) for w, g in zip(want, got) if w != g]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--all", action="store_true", help="every accented question, not only those with a folded copy")
    parser.add_argument("--errors", action="store_true")
    parser.add_argument("--unseen", action="store_true", help="leave out questions the knowledge base holds as phrasings")
    parser.add_argument("--index", type=Path, default=Path("index"))
    args = parser.parse_args()
    t = time.perf_counter()
    index = load_index(args.index)
    restorer = derive(index)["restorer"]
    known = {_key(q) for c in index.chunks for q in (c.title, *c.alternatives)} if args.unseen else set()
    print(f"restorer derived from {args.index} in {time.perf_counter() - t:.1f}s")
    for path in args.paths:
        questions = originals(path, args.all, known)
        words, errors, wrong_questions = 0, Counter(), 0
        t = time.perf_counter()
        for q in questions:
            n, errs = word_errors(restorer, q)
            words += n
            wrong_questions += bool(errs)
            errors.update(errs)
        ms = (time.perf_counter() - t) * 1000 / max(len(questions), 1)
        total = sum(errors.values())
        print(f"{path}: {len(questions)} questions, {words} words, WER {total / max(words, 1):.3f} "
              f"({total} wrong), questions with an error {wrong_questions / max(len(questions), 1):.3f}, "
              f"{ms:.1f} ms per question")
        if args.errors:
            for (typed, got, want), n in errors.most_common():
                print(f"  {n:3d}  {typed} -> {got} ({want})")


if __name__ == "__main__":
    main()
