"""Packed posting blocks: what Whoosh reads through them is what whoosh3's own blocks give."""

from __future__ import annotations

import random

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader
from whoosh.fields import ID, TEXT, Schema

from searchsvc.index.codec import (
    PackedCodec,
    PackedLeafMatcher,
    PackedPerDocReader,
    PackedPositions,
)

WORDS = ["oil", "price", "rise", "opec", "cut", "output", "crude", "barrel", "talks", "gulf"]


def _schema(packed: bool) -> Schema:
    body = TEXT(phrase=True)
    if packed:
        body.format = PackedPositions()
    return Schema(id=ID(stored=True), body=body, tags=TEXT(phrase=False))


def _documents(count: int) -> list[dict]:
    rng = random.Random(7)
    documents = []
    for number in range(count):
        length = rng.choice([1, 3, 12, 40, 300])  # one word to a long text
        body = " ".join(rng.choice(WORDS) for _ in range(length))
        tags = " ".join(rng.sample(WORDS, 2))
        documents.append({"id": str(number), "body": body, "tags": tags})
    return documents


def _build(path, codec, packed: bool, documents, optimize=False):
    path.mkdir()
    index = whoosh_index.create_in(str(path), _schema(packed))
    half = len(documents) // 2
    for part in (documents[:half], documents[half:]):  # two segments
        writer = index.writer(codec=codec)
        for document in part:
            writer.add_document(**document)
        writer.commit(merge=False)
    writer = index.writer(codec=codec)
    writer.delete_by_term("id", "3")
    writer.commit(optimize=optimize, merge=False)
    return whoosh_index.open_dir(str(path))


def _walk(matcher, positions: bool):
    postings = []
    while matcher.is_active():
        found = matcher.value_as("positions") if positions else None
        postings.append((matcher.id(), matcher.weight(), found))
        matcher.next()
    return postings


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    root = tmp_path_factory.mktemp("codec")
    documents = _documents(400)
    whoosh3 = _build(root / "whoosh3", W3Codec(blocklimit=8), False, documents)
    packed = _build(root / "packed", PackedCodec(blocklimit=8), True, documents)
    return whoosh3, packed


@pytest.mark.parametrize(
    "positions",
    [[0], [7], [0, 1, 2], [3, 70_000, 70_001, 4_000_000_000], list(range(5, 9000, 13))],
)
def test_packed_positions_round_trip(positions):
    value = PackedPositions().encode(positions)
    assert len(value) == 4 * len(positions)
    assert PackedPositions().decode_positions(value) == positions
    assert PackedPositions().decode_frequency(value) == len(positions)


def test_whoosh_reads_the_same_postings_through_packed_blocks(indexes):
    whoosh3, packed = indexes
    with whoosh3.reader() as expected, packed.reader() as got:
        assert list(expected.all_terms()) == list(got.all_terms())
        for fieldname, text in expected.all_terms():
            if fieldname == "id":
                continue
            positions = fieldname == "body"
            for (old, _), (new, _) in zip(expected.leaf_readers(), got.leaf_readers(), strict=True):
                if (fieldname, text) not in old:
                    continue
                walked = _walk(old.postings(fieldname, text), positions)
                assert _walk(new.postings(fieldname, text), positions) == walked


def test_lengths_read_at_once_for_writing_are_whoosh3s(indexes):
    whoosh3, packed = indexes
    with whoosh3.reader() as expected, packed.reader() as got:
        for new, _ in got.leaf_readers():
            assert type(new._perdoc) is PackedPerDocReader
            for fieldname in ("body", "tags"):
                fast = new._perdoc.doc_field_length_reader(fieldname)
                slow = W3PerDocReader.doc_field_length_reader(new._perdoc, fieldname)
                docnums = range(new.doc_count_all())
                assert [fast(d) for d in docnums] == [slow(d) for d in docnums]
        # Block and term statistics were written from those lengths.
        for fieldname, text in expected.all_terms():
            want, have = expected.term_info(fieldname, text), got.term_info(fieldname, text)
            assert (have.min_length(), have.max_length()) == (want.min_length(), want.max_length())


def test_read_arrays_is_the_whole_list_whatever_the_matcher_position(indexes):
    _, packed = indexes
    with packed.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            for word in WORDS:
                matcher = leaf.postings("body", word)
                if type(matcher) is not PackedLeafMatcher:
                    matcher = matcher.child  # deleted documents filtered
                walked = _walk(leaf.postings("body", word), positions=True)
                walked_ids = [docnum for docnum, _, _ in walked]
                fresh = leaf.postings("body", word)
                fresh = fresh if type(fresh) is PackedLeafMatcher else fresh.child
                assert fresh.at_start()
                fresh.id()  # its first block decoded: read once more, not twice
                assert fresh.read_arrays().ids.tolist() == fresh.read_arrays().ids.tolist()
                matcher.skip_to(walked_ids[len(walked_ids) // 2])
                assert not matcher.at_start()
                arrays = matcher.read_arrays(positions=True)
                assert not matcher.is_active()
                assert arrays.ids.tolist() == fresh.read_arrays().ids.tolist()
                # Deleted documents are the FilterMatcher's to drop, not the list's.
                keep = np.isin(arrays.ids, walked_ids)
                assert arrays.ids[keep].tolist() == walked_ids
                assert arrays.weights[keep].tolist() == [weight for _, weight, _ in walked]
                starts = arrays.position_starts
                lists = [
                    arrays.positions[start : start + count].tolist()
                    for start, count in zip(starts, arrays.position_counts, strict=True)
                ]
                assert [p for p, k in zip(lists, keep, strict=True) if k] == [
                    positions for _, _, positions in walked
                ]


@pytest.mark.parametrize(
    "query",
    [
        Q.Phrase("body", ["oil", "price"]),
        Q.Phrase("body", ["crude", "oil", "price"]),
        Q.Phrase("body", ["oil", "oil"]),
        Q.Phrase("body", ["gulf", "talks"], slop=3),
        Q.And([Q.Term("body", "opec"), Q.Term("tags", "cut")]),
        Q.Or([Q.Term("body", "barrel"), Q.Term("tags", "gulf")]),
    ],
)
def test_whoosh_searches_give_the_same_hits_and_scores(indexes, query):
    whoosh3, packed = indexes
    with whoosh3.searcher() as expected, packed.searcher() as got:
        want = [(hit["id"], hit.score) for hit in expected.search(query, limit=None)]
        assert want
        assert [(hit["id"], hit.score) for hit in got.search(query, limit=None)] == want


def test_merged_segments_stay_packed(tmp_path):
    documents = _documents(120)
    merged = _build(tmp_path / "merged", PackedCodec(blocklimit=8), True, documents, True)
    whoosh3 = _build(tmp_path / "whoosh3", W3Codec(blocklimit=8), False, documents)
    with merged.reader() as got, whoosh3.searcher() as expected:
        assert len(got.leaf_readers()) == 1 and not got.has_deletions()
        assert type(got.leaf_readers()[0][0].postings("body", "oil")) is PackedLeafMatcher
        query = Q.Phrase("body", ["oil", "price"])
        want = sorted(hit["id"] for hit in expected.search(query, limit=None))
        with merged.searcher() as searcher:
            assert sorted(hit["id"] for hit in searcher.search(query, limit=None)) == want
