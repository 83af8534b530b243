"""`python -m benchmarks.duplicates`: near-duplicate stories in Reuters and BBC.

Per corpus: the time and memory to sign every article and to group them; the
groups and their sizes at several thresholds, with and without the date window,
greedy groups (what searchsvc keeps) against connected components (which chain);
and datasketch's own MinHashLSH over the same signatures, for time and for the
same candidates; the Jaccard rule alone against Jaccard or containment, and how
many of the pairs the rules admit the bands propose, against a wider net.
--sample, --near and --added write TSV files of random pairs (fixed seed) to
judge by hand: pairs grouped at the threshold, pairs just below it, and pairs
only the containment rule makes near-duplicates.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import math
import random
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from datasketch import LeanMinHash, MinHashLSH

from searchsvc.index import duplicates
from searchsvc.ingest.corpus import CorpusFile, discover, read_file
from searchsvc.model.articles import Article

ROOT = Path(__file__).resolve().parent.parent
CORPORA = {
    "reuters": ROOT.parent / "shared" / "corpora" / "reuters21578.jsonl",
    "bbc": ROOT.parent / "shared" / "corpora" / "bbc",
}
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
SEED = 16
# The bands before the containment rule, and a wider net (a pair at Jaccard 0.25 is
# proposed with p 0.98) to count what the bands in use miss.
OLD_BANDS = (25, 5)
WIDE_BANDS = (64, 2)


def read_articles(root: Path) -> list[Article]:
    """Every article the corpus readers make of root (problems are passed over)."""
    found = []
    for item in discover([root]):
        if isinstance(item, CorpusFile):
            found.extend(a for a in read_file(item) if isinstance(a, Article))
    return found


def timed(function, *args):
    """(result, CPU seconds, wall seconds)."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = function(*args)
    return result, time.process_time() - cpu, time.perf_counter() - wall


def peak_mb(function, *args) -> float:
    """Peak Python and numpy allocations while function runs, in MB."""
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def components(signatures: duplicates.Signatures, threshold: float) -> dict[str, str]:
    """Connected components of the near-duplicate pairs: id -> smallest id in it."""
    parent = {id_: id_ for id_ in signatures.ids}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _ in duplicates.pairs(signatures, threshold):
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    return {id_: root(id_) for id_ in signatures.ids}


def members(grouping: dict[str, str]) -> list[list[str]]:
    """The groups of two or more, each a sorted list of ids."""
    return list(duplicates.by_group(grouping).values())


def similarity(signatures: duplicates.Signatures, a: str, b: str) -> float:
    row = {id_: k for k, id_ in enumerate(signatures.ids)}
    return float((signatures.values[row[a]] == signatures.values[row[b]]).mean())


def chained(signatures: duplicates.Signatures, group_list, threshold: float) -> tuple[int, int]:
    """(groups with two members less similar than threshold, groups with two below 0.3)."""
    row = {id_: k for k, id_ in enumerate(signatures.ids)}
    loose = unrelated = 0
    for group in group_list:
        values = signatures.values[[row[i] for i in group]]
        least = min(
            (values[x] == values[y]).mean()
            for x in range(len(group))
            for y in range(x + 1, len(group))
        )
        loose += least < threshold
        unrelated += least < 0.3
    return loose, unrelated


def sizes(group_list) -> str:
    counts = Counter(len(g) for g in group_list)
    return " ".join(f"{size}x{counts[size]}" for size in sorted(counts))


def lsh_candidates(signatures: duplicates.Signatures) -> set[tuple[int, int]]:
    """Candidate pairs as datasketch's MinHashLSH finds them, by insert and query."""
    lsh = MinHashLSH(threshold=duplicates.CANDIDATE_THRESHOLD, num_perm=duplicates.NUM_PERM)
    sketches = [
        LeanMinHash(seed=duplicates.SEED, hashvalues=row, scheme="affine32")
        for row in signatures.values
    ]
    signed = [k for k, row in enumerate(signatures.values) if (row != 0xFFFFFFFF).any()]
    with lsh.insertion_session() as session:
        for k in signed:
            session.insert(k, sketches[k], check_duplication=False)
    return {(min(k, c), max(k, c)) for k in signed for c in lsh.query(sketches[k]) if c != k}


def report(name: str, articles: list[Article]) -> duplicates.Signatures:
    signatures, sign_cpu, sign_wall = timed(duplicates.signatures_for, articles)
    grouping, group_cpu, group_wall = timed(duplicates.groups, signatures)
    memory = peak_mb(lambda: duplicates.groups(duplicates.signatures_for(articles)))
    print(f"\n{name}: {len(articles)} articles")
    print(f"  sign {sign_cpu:.2f} s CPU ({sign_wall:.2f} wall); "
          f"group {group_cpu:.2f} s CPU ({group_wall:.2f} wall); peak {memory:.0f} MB traced; "
          f"signatures {signatures.values.nbytes / 1e6:.1f} MB")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / duplicates.FILE_NAME
        _, save_cpu, _ = timed(duplicates.save, path, signatures)
        loaded, load_cpu, _ = timed(duplicates.load, path)
        print(f"  {duplicates.FILE_NAME}: {path.stat().st_size / 1e6:.1f} MB, saved in "
              f"{save_cpu:.2f} s CPU, loaded in {load_cpu:.2f} s"
              f"{'' if loaded == signatures else ' DIFFERENT'}")  # fmt: skip
    (i, j), band_cpu, _ = timed(duplicates.candidate_pairs, signatures.values)
    ours = set(zip(i.tolist(), j.tolist(), strict=True))
    theirs, lsh_cpu, _ = timed(lsh_candidates, signatures)
    same = "the same pairs" if ours == theirs else f"DIFFERENT: {len(theirs)} pairs"
    print(f"  candidates: {len(ours)} from the bands in {band_cpu:.2f} s CPU; "
          f"MinHashLSH insert+query {lsh_cpu:.2f} s CPU, {same}")  # fmt: skip
    # loose: groups holding two articles less similar than the threshold; far: below 0.3.
    print("  threshold  pairs(no window)  groups  in groups  sizes  loose far"
          "  | components  loose far")  # fmt: skip
    for threshold in THRESHOLDS:
        found = duplicates.pairs(signatures, threshold)
        unbounded = duplicates.pairs(signatures, threshold, window=math.inf)
        greedy = members(duplicates.groups(signatures, threshold))
        joined = members(components(signatures, threshold))
        print(f"  {threshold:.2f}  {len(found):6d}({len(unbounded):5d})  {len(greedy):5d}  "
              f"{sum(map(len, greedy)):6d}  {sizes(greedy):14s} "
              "{:3d} {:3d}  | {:5d}  {:3d} {:3d}".format(
                  *chained(signatures, greedy, threshold), len(joined),
                  *chained(signatures, joined, threshold)))  # fmt: skip
    split = sum(grouping[a] != grouping[b] for a, b, _ in duplicates.pairs(signatures))
    print(f"  at {duplicates.THRESHOLD}: {split} near-duplicate pairs end in different groups")
    compare_rules(signatures)
    return signatures


def compare_rules(signatures: duplicates.Signatures) -> None:
    """Jaccard alone against Jaccard or containment; what each band shape proposes."""
    for label, containment in (("Jaccard only", math.inf), ("or containment", None)):
        (found, grouping), cpu, _ = timed(pairs_and_groups, signatures, containment)
        group_list = members(grouping)
        print(f"  {label:15s} pairs {len(found):4d}  groups {len(group_list):4d}  "
              f"in groups {sum(map(len, group_list)):5d}  {sizes(group_list)}  "
              f"(pairs+groups {cpu:.2f} s CPU)")  # fmt: skip
    wide = rule_pairs(signatures, WIDE_BANDS)
    only_jaccard = rule_pairs(signatures, WIDE_BANDS, math.inf)
    added = wide - only_jaccard
    for shape in (OLD_BANDS, duplicates.band_shape()):
        proposed = rule_pairs(signatures, shape)
        print(f"  bands {shape[0]}x{shape[1]}: propose {len(proposed & wide)} of the "
              f"{len(wide)} pairs the rules admit among a {WIDE_BANDS[0]}x{WIDE_BANDS[1]} "
              f"net's candidates; {len(proposed & added)} of the {len(added)} "
              "only containment admits")  # fmt: skip


def pairs_and_groups(signatures, containment: float | None):
    """Pairs and groups by the rules in use, or with this containment (inf: none)."""
    extra = {} if containment is None else {"containment": containment}
    return duplicates.pairs(signatures, **extra), duplicates.groups(signatures, **extra)


def rule_pairs(signatures, shape, containment=duplicates.CONTAINMENT) -> set[tuple[int, int]]:
    """Row pairs near-duplicate by the rules among the candidates of this band shape."""
    i, j = duplicates.candidate_pairs(signatures.values, shape)
    i, j, _ = duplicates.confirmed(signatures, i, j, containment=containment)
    return set(zip(i.tolist(), j.tolist(), strict=True))


def added_pairs(signatures, name) -> list[tuple]:
    """Pairs the containment rule makes near-duplicates and the Jaccard rule alone does not."""
    before = {(a, b) for a, b, _ in duplicates.pairs(signatures, containment=math.inf)}
    return [(name, a, b) for a, b, _ in duplicates.pairs(signatures) if (a, b) not in before]


def pairs_in_groups(signatures, name) -> list[tuple]:
    """Every pair of articles one group holds, at the threshold."""
    found = []
    for group in members(duplicates.groups(signatures)):
        for x in range(len(group)):
            for y in range(x + 1, len(group)):
                found.append((name, group[x], group[y]))
    return found


def near_pairs(signatures, name) -> list[tuple]:
    """Pairs a little below the threshold (0.1 under it), window applied."""
    low = duplicates.THRESHOLD - 0.1
    return [(name, a, b) for a, b, s in duplicates.pairs(signatures, low, containment=math.inf)
            if s < duplicates.THRESHOLD]  # fmt: skip


def write_sample(path: Path, pool: list[tuple], count: int, signed, texts) -> None:
    chosen = sorted(random.Random(SEED).sample(pool, min(count, len(pool))))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["corpus", "id_a", "id_b", "jaccard", "containment", "shingles_a",
                         "shingles_b", "hours_apart", "title_a", "title_b", "lead_a", "lead_b",
                         "only_in_a", "only_in_b"])  # fmt: skip
        for name, a, b in chosen:
            first, second = texts[name][a], texts[name][b]
            hours = ""
            if first.date and second.date and len(first.date) > 10 and len(second.date) > 10:
                gap = abs((second.sort_date - first.sort_date).total_seconds()) / 3600
                hours = f"{gap:.1f}"
            lead = [" ".join(x.paragraphs)[:300].replace("\t", " ") for x in (first, second)]
            jaccard = similarity(signed[name], a, b)
            size_a, size_b = (shingle_count(signed[name], x) for x in (a, b))
            contained = jaccard * (size_a + size_b) / (1 + jaccard) / max(min(size_a, size_b), 1)
            writer.writerow([name, a, b, f"{jaccard:.3f}", f"{contained:.2f}", size_a, size_b,
                             hours, first.title, second.title, *lead,
                             *word_diff(first, second)])  # fmt: skip
    print(f"wrote {len(chosen)} of {len(pool)} pairs to {path}")


def shingle_count(signatures: duplicates.Signatures, id_: str) -> int:
    return int(signatures.sizes[signatures.ids.index(id_)])


def word_diff(first: Article, second: Article, limit: int = 400) -> tuple[str, str]:
    """The words only one text has, run by run ("..." between runs), to judge a pair."""
    words = [" ".join([x.title, *x.paragraphs]).split() for x in (first, second)]
    only: tuple[list[str], list[str]] = ([], [])
    matcher = difflib.SequenceMatcher(None, *words, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag != "equal":
            only[0].append(" ".join(words[0][a0:a1]))
            only[1].append(" ".join(words[1][b0:b1]))
    return tuple(" ... ".join(r for r in runs if r)[:limit] for runs in only)  # type: ignore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.duplicates", description=__doc__)
    parser.add_argument("--sample", type=Path, help="TSV of random pairs grouped together")
    parser.add_argument("--near", type=Path, help="TSV of random pairs just below the threshold")
    parser.add_argument("--added", type=Path, help="TSV of random pairs only containment makes")
    parser.add_argument("--count", type=int, default=100, help="pairs per TSV (default 100)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in CORPORA.values() if not p.exists()]
    if missing:
        print(f"not here: {', '.join(missing)}", file=sys.stderr)
        return 2
    hours = duplicates.WINDOW_SECONDS / 3600
    print(f"{duplicates.NUM_PERM} permutations, seed {duplicates.SEED}, "
          f"{duplicates.SHINGLE_WORDS}-word shingles, threshold {duplicates.THRESHOLD}, "
          f"window {hours:g} h, bands x rows {duplicates.band_shape()}")  # fmt: skip
    print(f"or containment >= {duplicates.CONTAINMENT} with Jaccard >= "
          f"{duplicates.CONTAINED_JACCARD} and the shorter >= {duplicates.MIN_SHINGLES} "
          "shingles")  # fmt: skip
    signed, texts, grouped, near, added = {}, {}, [], [], []
    for name, root in CORPORA.items():
        articles = read_articles(root)
        texts[name] = {a.id: a for a in articles}
        signed[name] = report(name, articles)
        grouped += pairs_in_groups(signed[name], name)
        near += near_pairs(signed[name], name)
        added += added_pairs(signed[name], name)
    if args.sample:
        write_sample(args.sample, grouped, args.count, signed, texts)
    if args.near:
        write_sample(args.near, near, args.count, signed, texts)
    if args.added:
        write_sample(args.added, added, args.count, signed, texts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
