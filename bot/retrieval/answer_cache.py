"""Answers to repeated questions, from memory.

A campaign often makes hundreds of people ask the same thing within minutes; the engine then answers
from here in microseconds instead of embedding the question again. Keys are the normalised question,
the conversation context it was asked in and the index version, so a live FAQ edit (a new version)
never serves an old answer. Bounded: at most `max_entries` answers (least recently used go first);
an Answer is about 6 KB (it keeps its ranking for evaluation), so the default 2,048 entries hold
about 12 MB (measured with bench/answer_cache.py).
"""

from __future__ import annotations

import copy
import re
import threading
from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

from bot.textnorm import clean

T = TypeVar("T")
MAX_ENTRIES = 2048


def question_key(question: str) -> str:
    """The question as the engine reads it: cleaned, lower case, single spaces."""
    return re.sub(r"\s+", " ", clean(question).lower()).strip()


class AnswerCache(Generic[T]):
    """A thread-safe LRU of answers; `get` returns a deep copy, so callers may change what they get."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
        return copy.deepcopy(item)

    def put(self, key: Hashable, value: T) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._items[key] = copy.deepcopy(value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
