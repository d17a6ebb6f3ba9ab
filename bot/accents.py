"""Restore Vietnamese diacritics (and the usual letter case) from the knowledge base's own vocabulary.

'kich hoat tai khoan' -> 'kích hoạt tài khoản'; 'vneid' -> 'VNeID'. A syllable alone is ambiguous ('ban' is bán,
bàn, bạn), so the choice is the most likely sentence under a syllable trigram language model (interpolated
Kneser-Ney) learned from accented text: a Viterbi search over the accented forms of each typed syllable.
Syllables the vocabulary has never seen are kept as typed.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from pathlib import Path

from bot.textnorm import fold, has_diacritics, nfc

_TOKEN = re.compile(r"[^\W_]+|[\W_]+", re.UNICODE)
_SENTENCE_BREAK = re.compile(r"[.!?;:\n()\"“”,]+")
_SYLLABLE = re.compile(r"[^\W\d_]+")
_MAX_CANDIDATES = 8
_DISCOUNT = 0.6  # Kneser-Ney's absolute discount (0.5 to 0.7 did alike on folded dev questions, 0.8 worse)
_START, _END = "<s>", "</s>"

_COMMON_PHRASES = Path(__file__).with_name("data") / "common_phrases_vi.txt"


class AccentRestorer:
    """Learns from accented text; starts from a list of everyday question phrases."""

    def __init__(self) -> None:
        self._forms: dict[str, Counter[str]] = defaultdict(Counter)  # 'ban' -> {'ban': 282, 'bản': 258, ...}
        self._trigrams: Counter[tuple[str, str, str]] = Counter()  # sentences padded with <s> <s> ... </s>
        self._cased: dict[str, Counter[str]] = defaultdict(Counter)  # 'vneid' -> {'VNeID': 40}
        self._model: _Model | None = None  # the probabilities, worked out on first use after learning
        phrases = [ln for ln in _COMMON_PHRASES.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
        self.learn("\n".join(phrases))  # once: counted several times they did worse

    def learn(self, text: str) -> None:
        """Count the accented syllables and syllable triples of a text with diacritics. A sentence of
        several syllables without any diacritic (an unaccented phrasing, English) teaches letter case only."""
        if not has_diacritics(text):
            return
        self._model = None
        for sentence in _SENTENCE_BREAK.split(nfc(text)):
            typed = _SYLLABLE.findall(sentence)
            for w in typed[1:]:  # a sentence's first word is capitalised whatever it is
                self._cased[w.lower()][w] += 1
            syllables = [w.lower() for w in typed]
            if not syllables or (len(syllables) > 1 and not has_diacritics(sentence)):
                continue
            for s in syllables:
                self._forms[fold(s)][s] += 1
            padded = [_START, _START, *syllables, _END]
            for gram in zip(padded, padded[1:], padded[2:]):
                self._trigrams[gram] += 1

    def restore(self, text: str, refold: bool = False) -> str:
        """Put diacritics back on unaccented words; accented words are trusted as typed
        unless `refold` (for OCR text whose accents are noise)."""
        parts = _TOKEN.findall(nfc(text))
        if refold:
            parts = [_match_case(p, fold(p)) if p[0].isalpha() else p for p in parts]
        model = self._trained()
        stretch: list[int] = []  # positions of the words of one sentence
        for i, p in enumerate(parts + ["."]):
            if p[0].isalpha():
                stretch.append(i)
            elif _SENTENCE_BREAK.search(p) and stretch:
                best = model.best([self._candidates(parts[j]) for j in stretch])
                for j, choice in zip(stretch, best):
                    parts[j] = _match_case(parts[j], choice)
                stretch = []
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
        seen = self._forms.get(lower)
        if not seen:
            return [lower]
        return [w for w, _ in seen.most_common(_MAX_CANDIDATES)]

    def _trained(self) -> _Model:
        if self._model is None:
            self._model = _Model(self._trigrams)
        return self._model


class _Model:
    """Interpolated Kneser-Ney over syllable trigrams: P(w | u v) discounts the trigram count and gives
    the rest to P(w | v), which counts in how many contexts 'v w' occurs, and so on down to P(w)."""

    def __init__(self, trigrams: Counter[tuple[str, str, str]]) -> None:
        self.tri = trigrams
        self.tri_context: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])  # (u, v) -> [count, kinds of w]
        self.bi: Counter[tuple[str, str]] = Counter()  # (v, w) -> kinds of u before it
        for (u, v, w), n in trigrams.items():
            ctx = self.tri_context[(u, v)]
            ctx[0] += n
            ctx[1] += 1
            self.bi[(v, w)] += 1
        self.tri_context = dict(self.tri_context)
        self.bi_context: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # v -> [sum of bi, kinds of w]
        self.uni: Counter[str] = Counter()  # w -> kinds of v before it
        for (v, w), n in self.bi.items():
            ctx = self.bi_context[v]
            ctx[0] += n
            ctx[1] += 1
            self.uni[w] += 1
        self.bi_context = dict(self.bi_context)
        self.uni_total = sum(self.uni.values()) + 0.5 * (len(self.uni) + 1)

    def p_uni(self, w: str) -> float:
        return (self.uni.get(w, 0) + 0.5) / self.uni_total

    def p_bi(self, v: str, w: str) -> float:
        ctx = self.bi_context.get(v)
        if ctx is None:
            return self.p_uni(w)
        total, kinds = ctx
        return (max(self.bi.get((v, w), 0) - _DISCOUNT, 0) + _DISCOUNT * kinds * self.p_uni(w)) / total

    def p_tri(self, u: str, v: str, w: str) -> float:
        ctx = self.tri_context.get((u, v))
        if ctx is None:
            return self.p_bi(v, w)
        total, kinds = ctx
        return (max(self.tri.get((u, v, w), 0) - _DISCOUNT, 0) + _DISCOUNT * kinds * self.p_bi(v, w)) / total

    def best(self, lattice: list[list[str]]) -> list[str]:
        """The most likely sentence through the candidates of each position (Viterbi over word pairs)."""
        # (u, v) -> (log probability of the best sentence ending with u v, that sentence)
        paths: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {(_START, _START): (0.0, ())}
        for options in lattice:
            step: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {}
            for (u, v), (score, words) in paths.items():
                for w in options:
                    s = score + math.log(self.p_tri(u, v, w))
                    if (v, w) not in step or step[(v, w)][0] < s:
                        step[(v, w)] = (s, (*words, w))
            paths = step
        _, words = max(((s + math.log(self.p_tri(u, v, _END)), ws) for (u, v), (s, ws) in paths.items()), key=lambda x: x[0])
        return list(words)


def _match_case(original: str, restored: str) -> str:
    if original.isupper() and len(original) > 1:
        return restored.upper()
    if original[:1].isupper():
        return restored[:1].upper() + restored[1:]
    return restored
