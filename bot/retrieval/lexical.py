"""BM25 over diacritic-folded syllables and syllable bigrams.

Folding makes 'kich hoat' match 'kích hoạt'; bigrams ('kich_hoat') keep two-syllable words
together so 'tài khoản' does not match every 'tài' and every 'khoản'.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from bot.textnorm import fold, fold_tokens, lexical_terms, words

# Words that carry no topic: question words, politeness, pronouns (folded). They are not matched
# alone, only inside a bigram with a topic word, and do not count when judging coverage.
# Folded syllables that are also topic words ('tai' = tài/tải, 'ho' = hộ, 'ban' = bán) stay out.
STOPWORDS = frozenset(
    """
    cho bac hoi minh em anh oi a ad admin nhe nha voi thi la ma va cua co khong duoc gi sao nao
    nhu lam can phai muon biet xin cam on vay roi nay kia do day o trong ve de khi neu se da hay
    hoac cac nhung mot rat qua ra vao di den tu theo chu ha u nhi ak ah vui long giup huong dan
    """.split()
)


def query_terms(text: str) -> list[str]:
    """Terms of a question: topic syllables, and every bigram with at least one topic syllable."""
    tokens = fold_tokens(text)
    unigrams = [t for t in tokens if t not in STOPWORDS]
    bigrams = [f"{a}_{b}" for a, b in zip(tokens, tokens[1:]) if a not in STOPWORDS or b not in STOPWORDS]
    return unigrams + bigrams


def document_terms(text: str) -> list[str]:
    return lexical_terms(fold_tokens(text))


def accented_terms(text: str) -> list[str]:
    """Syllables and syllable pairs with their diacritics: 'bảo mật' and 'báo mất' stay apart."""
    return lexical_terms(words(text))


def content_terms(tokens: list[str]) -> list[str]:
    """The topic syllables of a question, each once (question words and politeness left out)."""
    return list(dict.fromkeys(t for t in tokens if fold(t) not in STOPWORDS))


class LexicalIndex:
    """BM25 (k1=1.2, b=0.75) over documents given as term lists."""

    def __init__(self, documents: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.size = len(documents)
        self._lengths = np.array([len(d) for d in documents], dtype=np.float32)
        self._avg = float(self._lengths.mean()) if self.size else 1.0
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for doc_id, terms in enumerate(documents):
            for term, tf in Counter(terms).items():
                postings[term].append((doc_id, tf))
        self._postings = {
            t: (np.array([d for d, _ in p], dtype=np.int32), np.array([f for _, f in p], dtype=np.float32))
            for t, p in postings.items()
        }
        self.idf = {t: math.log(1 + (self.size - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()}
        self.max_idf = math.log(1 + (self.size + 0.5) / 0.5)

    def term_idf(self, term: str) -> float:
        """IDF of a term; a term the index has never seen weighs as much as the rarest."""
        return self.idf.get(term, self.max_idf)

    def scores(self, terms: list[str]) -> np.ndarray:
        scores = np.zeros(self.size, dtype=np.float32)
        norm = self.k1 * (1 - self.b + self.b * self._lengths / self._avg)
        for term, qtf in Counter(terms).items():
            posting = self._postings.get(term)
            if posting is None:
                continue
            docs, tf = posting
            weight = self.idf[term] * (1.0 if "_" not in term else 1.5)
            scores[docs] += qtf * weight * tf * (self.k1 + 1) / (tf + norm[docs])
        return scores
