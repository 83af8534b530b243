"""One story once: near-duplicate versions folded into one hit, and counted once.

The reindex saves the groups (index/duplicates.py, stories.json); here they
become columns (article document number -> story number, -1 for an article
with no other version; and its place among the story's ids in order) that
ranking folds with: the first version of a story in the order asked for is its
hit, the others its `versions`. Totals and facets count a story once, as its
matching version with the first id: the same in either engine and after any
reindex, whatever the document numbers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from searchsvc.index import store
from searchsvc.index.indexer import STORIES_FILE

NO_STORY = -1


class StoryColumns(NamedTuple):
    story: np.ndarray  # document number -> story number, NO_STORY for a lone article
    place: np.ndarray  # document number -> its id's place among its story's ids


def story_columns(searcher, generation_path) -> StoryColumns:
    """The story columns of the article index `searcher` reads."""
    story = np.full(searcher.doc_count_all(), NO_STORY, dtype=np.int32)
    place = np.zeros(searcher.doc_count_all(), dtype=np.int32)
    stories = store.read_json(generation_path / STORIES_FILE) or {}
    for number, (_representative, ids) in enumerate(sorted(stories.items())):
        for at, article_id in enumerate(sorted(ids)):
            docnum = searcher.document_number(id=article_id)
            if docnum is not None:
                story[docnum], place[docnum] = number, at
    return StoryColumns(story, place)


def has_stories(columns: StoryColumns) -> bool:
    """Whether any article of this generation has another version."""
    return bool(len(columns.story)) and int(columns.story.max()) != NO_STORY


def with_every_version(entries, matched: np.ndarray, columns: StoryColumns):
    """`entries` of fold() as (docnum, score, [the story's other matching versions]), the
    versions in the order of their ids (how deep the ranking went changes nothing, nor
    does the engine)."""
    if not entries:
        return []
    stories = columns.story[matched]
    complete = []
    for docnum, score in entries:
        story = int(columns.story[docnum])
        others = []
        if story != NO_STORY:
            versions = [int(d) for d in matched[stories == story] if int(d) != docnum]
            others = sorted(versions, key=lambda d: int(columns.place[d]))
        complete.append((docnum, score, others))
    return complete


def fold(top: list, stories: list[int], wanted: int):
    """The first `wanted` stories of `top` (ranked (item, score) pairs, best first; `stories`
    their story numbers), each as its first (item, score); and whether `top` held that
    many."""
    found: list[tuple] = []
    seen: set[int] = set()
    for pair, story in zip(top, stories, strict=True):
        if len(found) >= wanted:
            break
        if story != NO_STORY:
            if story in seen:
                continue  # a later version of a story already listed
            seen.add(story)
        found.append(pair)
    return found, len(found) >= wanted


def one_per_story(matched: np.ndarray, columns: StoryColumns) -> np.ndarray:
    """`matched` (sorted document numbers) with one version of each story, the one with the
    first id: the documents that count and facet as stories."""
    if not len(matched) or not len(columns.story):
        return matched
    stories = columns.story[matched]
    grouped = np.flatnonzero(stories != NO_STORY)
    if not len(grouped):
        return matched
    # By story, then place: each story's first row is the version that counts.
    order = grouped[np.lexsort((columns.place[matched[grouped]], stories[grouped]))]
    _, first = np.unique(stories[order], return_index=True)
    keep = stories == NO_STORY
    keep[order[first]] = True
    return matched[keep]


def first_depth(wanted: int) -> int:
    """How deep to rank for `wanted` stories: half as many again and some, for versions."""
    return wanted + wanted // 2 + 16


def collapse_page(ranking, rerank, page: int, size: int, columns: StoryColumns, asked: int):
    """The requested page of stories from `ranking` (an arrayrank Ranking whose top was
    asked for `asked` documents): ranked deeper with rerank(k) until the page is full or
    fewer than asked came back (all are ranked). Returns (page entries, the ranking used)."""
    wanted = page * size
    while True:
        top = ranking.top
        numbers = columns.story[np.asarray([docnum for docnum, _ in top], dtype=np.int64)]
        entries, enough = fold(top, numbers.tolist(), wanted)
        if enough or len(top) < asked:
            return entries[(page - 1) * size : wanted], ranking
        # Versions take places in the ranking: ask for half as many again, and more.
        asked = max(asked * 2, first_depth(wanted))
        ranking = rerank(asked)
