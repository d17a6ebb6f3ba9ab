"""Restore Vietnamese diacritics (and the usual letter case) from the knowledge base's own vocabulary.

'kich hoat tai khoan' -> 'kích hoạt tài khoản'; 'vneid' -> 'VNeID'. A syllable alone is ambiguous ('ban' is bán,
bàn, bạn), so the choice uses syllable-pair counts from accented text (a small Viterbi over the
candidates of each syllable). Syllables the vocabulary has never seen are kept as typed.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from pathlib import Path

from bot.textnorm import fold, has_diacritics, nfc

_TOKEN = re.compile(r"[^\W_]+|[\W_]+", re.UNICODE)
_MAX_CANDIDATES = 8


_COMMON_PHRASES = Path(__file__).with_name("data") / "common_phrases_vi.txt"


class AccentRestorer:
    """Learns from accented text; starts from a short list of everyday question phrases."""

    def __init__(self) -> None:
        self._unigrams: dict[str, Counter[str]] = defaultdict(Counter)
        self._bigrams: Counter[tuple[str, str]] = Counter()
        self._cased: dict[str, Counter[str]] = defaultdict(Counter)  # 'vneid' -> {'VNeID': 40}
        phrases = [ln for ln in _COMMON_PHRASES.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
        for _ in range(5):  # as strong as a phrase seen five times in the knowledge base
            self.learn("\n".join(phrases))

    def learn(self, text: str) -> None:
        """Count the accented syllables and syllable pairs of a text with diacritics."""
        if not has_diacritics(text):
            return
        for sentence in re.split(r"[.!?;:\n()\"“”,]+", nfc(text)):
            typed = re.findall(r"[^\W\d_]+", sentence)
            for w in typed[1:]:  # a sentence's first word is capitalised whatever it is
                self._cased[w.lower()][w] += 1
            syllables = [w.lower() for w in typed]
            for s in syllables:
                self._unigrams[fold(s)][s] += 1
            self._bigrams.update(zip(syllables, syllables[1:]))

    def restore(self, text: str, refold: bool = False) -> str:
        """Put diacritics back on unaccented words; accented words are trusted as typed
        unless `refold` (for OCR text whose accents are noise)."""
        parts = _TOKEN.findall(nfc(text))
        if refold:
            parts = [_match_case(p, fold(p)) if p[0].isalpha() else p for p in parts]
        word_positions = [i for i, p in enumerate(parts) if p[0].isalpha()]
        candidates = [self._candidates(parts[i]) for i in word_positions]
        best = self._viterbi(candidates)
        for i, choice in zip(word_positions, best):
            parts[i] = _match_case(parts[i], choice)
        return "".join(parts)

    def recase(self, text: str) -> str:
        """Lower case, except words the knowledge base writes otherwise ('VNeID', 'QR'), so that
        'VNeID', 'vneid' and 'Vneid' reach the embedder alike; the first letter is capitalised."""
        def usual(m: re.Match) -> str:
            lower = m.group(0).lower()
            forms = self._cased.get(lower)
            if forms:
                form, count = forms.most_common(1)[0]
                if form != lower and count > 2 * forms.get(lower, 0):
                    return form
            return lower

        out = re.sub(r"[^\W\d_]+", usual, nfc(text))
        return out[:1].upper() + out[1:]

    def _candidates(self, word: str) -> list[str]:
        lower = word.lower()
        if has_diacritics(lower):
            return [lower]
        seen = self._unigrams.get(lower)
        if not seen:
            return [lower]
        return [w for w, _ in seen.most_common(_MAX_CANDIDATES)]

    def _viterbi(self, lattice: list[list[str]]) -> list[str]:
        if not lattice:
            return []

        def unigram(w: str) -> float:
            return math.log(1 + self._unigrams.get(fold(w), Counter()).get(w, 0))

        scores = {w: unigram(w) for w in lattice[0]}
        back: list[dict[str, str]] = []
        for options in lattice[1:]:
            new_scores, pointers = {}, {}
            for w in options:
                prev, best = max(
                    ((p, s + 3 * math.log(1 + self._bigrams.get((p, w), 0))) for p, s in scores.items()),
                    key=lambda x: x[1],
                )
                new_scores[w] = best + unigram(w)
                pointers[w] = prev
            scores = new_scores
            back.append(pointers)
        word = max(scores, key=scores.get)
        path = [word]
        for pointers in reversed(back):
            word = pointers[word]
            path.append(word)
        return path[::-1]


def _match_case(original: str, restored: str) -> str:
    if original.isupper() and len(original) > 1:
        return restored.upper()
    if original[:1].isupper():
        return restored[:1].upper() + restored[1:]
    return restored
