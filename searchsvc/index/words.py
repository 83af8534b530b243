"""The word counts a generation keeps (words.json), for spelling and completion."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from searchsvc.index import store
from searchsvc.text.vocabulary import article_words

WORDS_FILE = "words.json"


def count_words(reader) -> Counter:
    """The words of every article an article index's reader holds, from its stored records."""
    counts: Counter = Counter()
    for fields in reader.all_stored_fields():
        counts.update(article_words(json.loads(fields["record"])))
    return counts


def save_word_counts(generation_path: Path, counts: Counter) -> None:
    kept = {word: count for word, count in counts.items() if count > 0}
    store.write_json(generation_path / WORDS_FILE, kept)


def load_word_counts(generation_path: Path) -> Counter | None:
    """The counts saved with a generation; None when it has none (or they are unreadable)."""
    counts = store.read_json(generation_path / WORDS_FILE)
    return Counter(counts) if counts is not None else None
