"""Near-duplicate detection: shingles, signatures on disk, groups, and the real corpora."""

from __future__ import annotations

import math
import random
import sys
import tempfile
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHashLSH
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchsvc.index import duplicates
from searchsvc.index.duplicates import SignatureFileError, groups, signatures_for
from searchsvc.ingest.corpus import CorpusFile, discover, read_file
from searchsvc.model.articles import Article

VOCABULARY = [f"w{n}" for n in range(300)]


@dataclass
class Doc:
    id: str
    text: str
    date: str | None = None
    title: str = ""
    paragraphs: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.paragraphs = [self.text] if self.text else []


def story(seed: int, words: int = 60) -> list[str]:
    return random.Random(seed).choices(VOCABULARY, k=words)


def edited(words: list[str], changes: dict[int, str]) -> str:
    return " ".join(changes.get(n, w) for n, w in enumerate(words))


BASE = story(1)
OTHER = " ".join(story(2))


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 0), ("...", 0), ("oil", 1), ("oil prices", 1), ("oil prices rise", 1),
     ("oil prices rise in London", 3)],
)  # fmt: skip
def test_shingles_are_runs_of_three_words_or_the_whole_short_text(text, count):
    assert len(duplicates.shingle_hashes(Doc("a", text))) == count


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("Oil prices RISE, traders say.", "oil prices rise traders say", True),
        ("oil prices rise", "rise prices oil", False),
        ("oil prices rise", "oil prices rose", False),
        ("caf\u00e9 au lait", "CAF\u00c9 AU LAIT", True),
        ("lone \ud800 surrogate here", "lone \ud800 surrogate here", True),
    ],
)
def test_shingles_ignore_case_and_punctuation_but_not_order(first, second, same):
    a, b = (duplicates.shingle_hashes(Doc("x", t)) for t in (first, second))
    assert np.array_equal(a, b) is same


def test_a_signature_depends_on_its_article_alone():
    alone = signatures_for([Doc("a", OTHER)])
    among = signatures_for([Doc("b", " ".join(BASE)), Doc("a", OTHER), Doc("c", "x y z")])
    assert np.array_equal(alone.values[0], among.values[among.ids.index("a")])


def test_two_articles_with_one_id_are_refused():
    with pytest.raises(ValueError, match="'a'"):
        signatures_for([Doc("a", "one"), Doc("a", "two")])


# Texts of 60 words: one word changed keeps about 0.9 of the shingles, ten about 0.5.
@pytest.mark.parametrize(
    ("second", "first_date", "second_date", "grouped"),
    [
        (" ".join(BASE), None, None, True),
        (edited(BASE, {30: "changed"}), None, None, True),
        (edited(BASE, {n: "changed" for n in range(0, 60, 6)}), None, None, False),
        (OTHER, None, None, False),
        (" ".join(BASE), "1987-03-02T09:00:00", "1987-03-03T20:00:00", True),  # 35 hours
        (" ".join(BASE), "1987-03-02T09:00:00", "1987-03-03T22:00:00", False),  # 37 hours
        (" ".join(BASE), "1987-03-02", "1987-03-09", False),
        (" ".join(BASE), "1987-03-02", None, True),  # no date: the text decides
        (" ".join(BASE), "1987-03", "1987-06", True),  # not to the day: the text decides
        # 34 hours apart on the clocks, 58 in UTC
        (" ".join(BASE), "1987-03-02T00:00:00+12:00", "1987-03-03T10:00:00-12:00", False),
    ],
)
def test_near_duplicates_are_similar_texts_close_in_time(second, first_date, second_date, grouped):
    articles = [Doc("a", " ".join(BASE), first_date), Doc("b", second, second_date)]
    grouping = groups(signatures_for(articles))
    assert (grouping["a"] == grouping["b"]) is grouped
    assert grouping["a"] == "a"  # a group's key is one of its ids; alone, its own


LONG = story(3, 160)


# Distinct shingles of the shorter text inside the longer: 90% at least, 40 at least, and
# a Jaccard of 0.25 at least (about a quarter of the longer's length).
@pytest.mark.parametrize(
    ("first", "second", "grouped"),
    [
        (LONG[:100], LONG[:60], True),  # a re-send cut by 40 words: Jaccard 0.59
        (LONG[:60], LONG[:100], True),
        (LONG[:100], LONG[20:80], True),  # a re-send with a new lead and a new end
        (LONG[:150], LONG[:60], True),  # Jaccard 0.39
        (LONG, LONG[:30], False),  # too short to tell: 28 shingles
        (LONG, LONG[:35], False),  # Jaccard 0.21: too small a part to estimate it
        (LONG[:100], LONG[:50] + story(4, 20), False),  # 48 of 68 shingles inside: 71%
    ],
)
def test_a_re_send_that_cuts_or_extends_the_other_is_a_version(first, second, grouped):
    articles = [Doc("a", " ".join(first)), Doc("b", " ".join(second))]
    assert (groups(signatures_for(articles))["b"] == "a") is grouped


@pytest.mark.parametrize(("hours", "grouped"), [(35, True), (37, False)])
def test_a_cut_re_send_is_a_version_only_within_the_window(hours, grouped):
    dates = ["1987-03-02T00:00:00", f"1987-03-{2 + hours // 24:02d}T{hours % 24:02d}:00:00"]
    articles = [Doc("a", " ".join(LONG[:100]), dates[0]), Doc("b", " ".join(LONG[:60]), dates[1])]
    assert (groups(signatures_for(articles))["b"] == "a") is grouped


def test_the_containment_rule_can_be_turned_off():
    signatures = signatures_for([Doc("a", " ".join(LONG[:100])), Doc("b", " ".join(LONG[:60]))])
    assert duplicates.pairs(signatures, containment=math.inf) == []
    assert [p[:2] for p in duplicates.pairs(signatures)] == [("a", "b")]


def test_sizes_count_distinct_shingles():
    repeated = " ".join(LONG[:10] * 3)  # 28 shingles, 10 of them distinct
    signatures = signatures_for([Doc("a", repeated), Doc("b", ""), Doc("c", " ".join(LONG))])
    assert signatures.sizes.tolist() == [10, 0, 158]


def test_articles_without_a_word_are_never_grouped():
    articles = [Doc("a", ""), Doc("b", "-- --"), Doc("c", "")]
    assert groups(signatures_for(articles)) == {"a": "a", "b": "b", "c": "c"}


@pytest.mark.parametrize(
    ("dates", "representative"),
    [
        ({}, "a"),  # a tie on everything but the id
        ({"b": "1987-03-02T08:00:00", "a": "1987-03-02T09:00:00"}, "b"),  # the earliest
        ({"a": "1987-03-02T08:00:00"}, "a"),  # a dated article before an undated one
    ],
)
def test_the_representative_is_the_earliest_then_the_first_id(dates, representative):
    articles = [Doc(i, " ".join(BASE), dates.get(i)) for i in ("b", "a", "c")]
    assert set(groups(signatures_for(articles)).values()) == {representative}


def test_a_chain_of_edits_does_not_join_two_stories():
    # Each step changes 3 more words: each is a near-duplicate of the next, the ends are not.
    steps = [edited(BASE, {n: f"v{n}" for n in range(3 * k)}) for k in range(8)]
    signatures = signatures_for([Doc(f"s{k}", text) for k, text in enumerate(steps)])
    similar = {(a, b) for a, b, _ in duplicates.pairs(signatures)}
    assert all((f"s{k}", f"s{k + 1}") in similar for k in range(7))  # one component
    assert ("s0", "s7") not in similar
    grouping = groups(signatures)
    assert grouping["s0"] != grouping["s7"]
    assert all((min(i, k), max(i, k)) in similar for i, k in grouping.items() if i != k)


def test_candidates_are_the_pairs_minhashlsh_finds():
    rng = random.Random(7)
    texts = [story(n, rng.randint(5, 80)) for n in range(60)]
    texts += [[w if rng.random() > 0.05 else "x" for w in t] for t in texts[:40]]
    signatures = signatures_for(Doc(f"d{n}", " ".join(t)) for n, t in enumerate(texts))
    lsh = MinHashLSH(threshold=duplicates.CANDIDATE_THRESHOLD, num_perm=duplicates.NUM_PERM)
    sketches = [LeanMinHash(seed=1, hashvalues=row, scheme="affine32") for row in signatures.values]
    for k, sketch in enumerate(sketches):
        lsh.insert(k, sketch)
    expected = {(min(k, c), max(k, c)) for k, s in enumerate(sketches) for c in lsh.query(s)}
    i, j = duplicates.candidate_pairs(signatures.values)
    found = set(zip(i.tolist(), j.tolist(), strict=True))
    assert found == {p for p in expected if p[0] != p[1]} and len(found) >= 30


def test_a_flood_of_one_text_is_grouped_in_linear_work():
    count = 3000  # pairwise: 4.5 million pairs in each of 25 bands
    articles = [Doc(f"c{n:04d}", " ".join(BASE)) for n in range(count)]
    signatures = signatures_for(articles + [Doc("other", OTHER)])
    i, _ = duplicates.candidate_pairs(signatures.values)
    assert len(i) == count - 1
    grouping = groups(signatures)
    assert set(grouping[a.id] for a in articles) == {"c0000"} and grouping["other"] == "other"


@pytest.mark.parametrize(
    ("jaccard", "least"),
    [(duplicates.THRESHOLD, 0.999), (0.5, 0.99), (0.4, 0.9), (duplicates.CONTAINED_JACCARD, 0.45)],
)  # 0.5: a re-send of half the length of the other
def test_the_bands_find_a_pair_at_the_threshold_almost_surely(jaccard, least):
    bands, rows = duplicates.band_shape()
    assert bands * rows <= duplicates.NUM_PERM
    assert 1 - (1 - jaccard**rows) ** bands > least


def test_a_huge_article_is_signed_in_bounded_memory():
    text = " ".join(f"word{n}" for n in range(100_000))
    tracemalloc.start()
    try:
        signatures_for([Doc("huge", text)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # All at once, 100,000 shingles x 128 slots x 4 bytes is 51 MB, held twice (120 MB peak).
    assert peak < 60e6


@pytest.mark.parametrize(
    ("base", "fresh", "keep", "ids"),
    [
        ("abc", "", "abc", "abc"),
        ("abc", "bd", "abcd", "abcd"),
        ("abc", "", "ac", "ac"),
        ("", "ba", "ab", "ab"),
        ("abc", "c", "cz", "c"),
    ],
)
def test_merged_and_restricted(base, fresh, keep, ids):
    old = signatures_for(Doc(i, f"old text {i}") for i in base)
    new = signatures_for(Doc(i, f"new text {i}") for i in fresh)
    result = old.merged(new).restricted(set(keep))
    assert result.ids == tuple(ids)
    for i in ids:
        source = new if i in fresh else old
        assert np.array_equal(result.values[ids.index(i)], source.values[source.ids.index(i)])


def test_signatures_survive_the_disk(tmp_path):
    articles = [Doc("b", " ".join(BASE), "1987-03-02"), Doc("a\ud800", OTHER), Doc("c", "")]
    signatures = signatures_for(articles)
    duplicates.save(tmp_path / "s.npz", signatures)
    assert duplicates.load(tmp_path / "s.npz") == signatures
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]
    duplicates.save(str(tmp_path / "e.npz"), duplicates.empty())
    assert duplicates.load(tmp_path / "e.npz") == duplicates.empty()


def _resaved(path: Path, **changes) -> None:
    with np.load(path) as data:
        arrays = dict(data)
    arrays.update(changes)
    with path.open("wb") as f:
        np.savez(f, **arrays)


def _without(path: Path, name: str) -> None:
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files if key != name}
    with path.open("wb") as f:
        np.savez(f, **arrays)


def _one_array(path: Path) -> None:
    with path.open("wb") as f:
        np.save(f, np.arange(3))


def _ids(ids) -> np.ndarray:
    return np.frombuffer(str(ids).replace("'", '"').encode(), np.uint8)


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(b"not a numpy file at all"),
        lambda p: p.write_bytes(p.read_bytes()[:200]),
        lambda p: p.write_bytes(p.read_bytes()[:-100]),
        lambda p: _one_array(p),
        lambda p: _resaved(p, params=np.array([1, 64, 1, 3])),
        lambda p: _resaved(p, params=np.array([1, 128, 1, 3])),  # the format before sizes
        lambda p: _resaved(p, params=np.array([3, 128, 1, 3])),
        lambda p: _resaved(p, ids=_ids(["b", "a"])),
        lambda p: _resaved(p, ids=_ids(["a", "a"])),
        lambda p: _resaved(p, ids=_ids(["a"])),
        lambda p: _resaved(p, ids=np.frombuffer(b"\xff\xfe", np.uint8)),
        lambda p: _resaved(p, ids=_ids({"a": 1})),
        lambda p: _resaved(p, values=np.zeros((2, 128), np.int64)),
        lambda p: _resaved(p, dates=np.zeros(3)),
        lambda p: _resaved(p, dates=None),
        lambda p: _resaved(p, sizes=np.zeros(2)),
        lambda p: _without(p, "sizes"),
        lambda p: _resaved(p, sizes=np.zeros(3, np.int64)),
        lambda p: _resaved(p, sizes=np.array([3, -1], np.int64)),
    ],
)
def test_a_damaged_or_foreign_file_is_refused_clearly(tmp_path, damage):
    path = tmp_path / "s.npz"
    duplicates.save(path, signatures_for([Doc("a", "one two three"), Doc("b", "four")]))
    damage(path)
    with pytest.raises(SignatureFileError, match="s.npz"):
        duplicates.load(path)


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        duplicates.load(tmp_path / "absent.npz")


# Articles drawn from four stories, each copy cut or not, with a few words changed, at a
# few times: enough near-duplicates, contained versions, chains and date gaps for the
# groups to have something to decide.
IDS = [f"a{n:02d}" for n in range(40)]
STORIES = [story(100 + n, 80) for n in range(4)]
CUTS = [(0, 80), (0, 60), (15, 75), (0, 45), (35, 80)]
HOURS = [None, 0, 10, 30, 50, 200]


@st.composite
def articles_for(draw, ids):
    found = []
    for id_ in ids:
        start, end = draw(st.sampled_from(CUTS))
        words = draw(st.sampled_from(STORIES))[start:end]
        edits = st.dictionaries(st.integers(0, 44), st.sampled_from(VOCABULARY[:20]), max_size=6)
        changes = draw(st.one_of(st.just({}), edits))  # often none: copies cut, not edited
        hours = draw(st.sampled_from(HOURS))
        date = None if hours is None else f"1987-03-{1 + hours // 24:02d}T{hours % 24:02d}:00:00"
        found.append(Doc(id_, edited(words, changes), date))
    return found


corpora = st.lists(st.sampled_from(IDS), unique=True, max_size=16).flatmap(articles_for)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.data())
def test_groups_depend_on_the_set_of_articles_not_their_order(data):
    articles = data.draw(corpora)
    shuffled = data.draw(st.permutations(articles))
    assert signatures_for(shuffled) == signatures_for(articles)
    assert groups(signatures_for(shuffled)) == groups(signatures_for(articles))


@SETTINGS
@given(st.data())
def test_an_incremental_run_gets_the_groups_of_a_full_rebuild(data):
    before = data.draw(corpora)
    ids = [a.id for a in before]
    removed = data.draw(st.sets(st.sampled_from(ids))) if ids else set()
    kept = [i for i in ids if i not in removed]
    changed = data.draw(
        articles_for(sorted(data.draw(st.sets(st.sampled_from(kept))) if kept else []))
    )
    unused = st.sampled_from([i for i in IDS if i not in ids])  # never empty: 16 of 40 at most
    added = data.draw(articles_for(data.draw(st.lists(unused, unique=True, max_size=6))))
    fresh = {a.id: a for a in changed + added}
    after = [fresh.pop(a.id, a) for a in before if a.id not in removed] + list(fresh.values())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / duplicates.FILE_NAME
        duplicates.save(path, signatures_for(before))
        carried = duplicates.load(path).merged(signatures_for(changed + added))
    carried = carried.restricted({a.id for a in after})
    rebuilt = signatures_for(after)
    assert carried == rebuilt
    grouping = groups(carried)
    assert grouping == groups(rebuilt)
    similar = {(a, b) for a, b, _ in duplicates.pairs(rebuilt)}
    assert all((min(i, k), max(i, k)) in similar for i, k in grouping.items() if i != k)


def _read(root: Path) -> list[Article]:
    return [
        a
        for item in discover([root])
        if isinstance(item, CorpusFile)
        for a in read_file(item)
        if isinstance(a, Article)
    ]


@pytest.fixture(scope="module")
def reuters_groups():
    from conftest import SHARED

    path = SHARED / "corpora" / "reuters21578.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is not here; this test needs the shared corpora")
    return groups(signatures_for(_read(path)))


@pytest.mark.shared
@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("reuters-9712", "reuters-9777", True),  # TRADE SURPLUS CUT WOULD BENEFIT JAPAN - SUMITA
        ("reuters-175", "reuters-190", True),  # BANKS EXPRESS GRAVE CONCERN ON BRAZIL DEBT MOVE(S)
        ("reuters-3676", "reuters-4239", True),  # INSITUFORM ... and its correction
        ("reuters-1971", "reuters-7031", False),  # the same Bundesbank text two weeks apart
        ("reuters-522", "reuters-3164", False),  # the Fed's repurchases a week apart
        ("reuters-175", "reuters-9712", False),
    ],
)
def test_known_reuters_pairs(reuters_groups, first, second, same):
    assert (reuters_groups[first] == reuters_groups[second]) is same


@pytest.mark.shared
def test_known_bbc_pairs(shared_dir):
    sport = _read(shared_dir / "corpora" / "bbc" / "sport")
    grouping = groups(signatures_for(sport))
    assert grouping["467"] == grouping["471"]  # Capriati to miss Melbourne / ... out of ...
    assert grouping["467"] != grouping["444"]


def test_the_benchmark_runs_on_small_corpora(tmp_path, monkeypatch, capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import duplicates as bench

    wire = tmp_path / "wire.jsonl"
    lines = [
        f'{{"id": "r{n}", "title": "T{n % 5}", "date": "1987-03-0{1 + n % 3}",'
        f' "body": "{edited(story(n % 5), {n: "edit"})}"}}'
        for n in range(20)
    ]
    wire.write_text("\n".join(lines) + "\n")
    texts = tmp_path / "bbc"
    texts.mkdir()
    for n in range(6):
        (texts / f"{n}.txt").write_text(f"Headline {n % 2}\n\n{' '.join(story(n % 2))}\n")
    monkeypatch.setattr(bench, "CORPORA", {"reuters": wire, "bbc": texts})
    assert bench.main(["--sample", str(tmp_path / "s.tsv"), "--count", "3"]) == 0
    output = capsys.readouterr().out
    assert "the same pairs" in output and "DIFFERENT" not in output
    rows = (tmp_path / "s.tsv").read_text().splitlines()
    assert rows[0].startswith("corpus\tid_a\tid_b") and len(rows) == 4
