"""One story once: near-duplicate versions folded into one hit, and counted once.

The reindex saves the groups (index/duplicates.py, stories.json); here they
become a column (article document number -> story number, -1 for an article
with no other version) that ranking folds with: the first version of a story
in the order asked for is its hit, the others its `versions`.
"""

from __future__ import annotations

import numpy as np

from searchsvc.index import store
from searchsvc.index.indexer import STORIES_FILE

NO_STORY = -1


def story_column(searcher, generation_path) -> np.ndarray:
    """Document number -> story number for the article index `searcher` reads."""
    column = np.full(searcher.doc_count_all(), NO_STORY, dtype=np.int32)
    stories = store.read_json(generation_path / STORIES_FILE) or {}
    for number, (_representative, ids) in enumerate(sorted(stories.items())):
        for article_id in ids:
            docnum = searcher.document_number(id=article_id)
            if docnum is not None:
                column[docnum] = number
    return column


def has_stories(column: np.ndarray) -> bool:
    """Whether any article of this generation has another version."""
    return bool(len(column)) and int(column.max()) != NO_STORY


def with_every_version(entries, matched: np.ndarray, column: np.ndarray):
    """`entries` of fold() with each story's matching versions that ranked too deep to
    be seen added after those seen (in index order)."""
    if not entries:
        return entries
    stories = column[matched]
    complete = []
    for docnum, score, others in entries:
        story = int(column[docnum])
        if story != NO_STORY:
            seen = {docnum, *others}
            others = others + [int(d) for d in matched[stories == story] if int(d) not in seen]
        complete.append((docnum, score, others))
    return complete


def fold(top: list[tuple[int, float | None]], column: np.ndarray, wanted: int):
    """The first `wanted` stories of `top` (ranked documents, best first), each as
    (docnum, score, [the other versions' docnums in rank order]); and whether `top`
    held that many."""
    stories: list[tuple[int, float | None, list[int]]] = []
    at: dict[int, int] = {}  # story number -> its place in `stories`
    for docnum, score in top:
        story = int(column[docnum]) if docnum < len(column) else NO_STORY
        if story != NO_STORY and story in at:
            stories[at[story]][2].append(docnum)
            continue
        if len(stories) >= wanted:
            # A later version of a story already listed may still follow; only new
            # stories past `wanted` are not needed.
            continue
        if story != NO_STORY:
            at[story] = len(stories)
        stories.append((docnum, score, []))
    return stories, len(stories) >= wanted


def one_per_story(matched: np.ndarray, column: np.ndarray) -> np.ndarray:
    """`matched` (sorted document numbers) with each story's versions after its first
    left out: the documents that count and facet as stories."""
    if not len(matched) or not len(column):
        return matched
    stories = column[matched]
    grouped = stories != NO_STORY
    if not grouped.any():
        return matched
    _, first = np.unique(stories[grouped], return_index=True)
    keep = ~grouped
    keep[np.flatnonzero(grouped)[first]] = True
    return matched[keep]


def collapse_page(ranking, rerank, page: int, size: int, column: np.ndarray, asked: int):
    """The requested page of stories from `ranking` (an arrayrank Ranking whose top was
    asked for `asked` documents): ranked deeper with rerank(k) until the page is full or
    fewer than asked came back (all are ranked). Returns (page entries, the ranking used)."""
    wanted = page * size
    while True:
        entries, enough = fold(ranking.top, column, wanted)
        if enough or len(ranking.top) < asked:
            return entries[(page - 1) * size : wanted], ranking
        # Versions take places in the ranking: ask for half as many again, and more.
        asked = max(asked * 2, wanted + wanted // 2 + 16)
        ranking = rerank(asked)
