"""Near-duplicate stories: a MinHash signature per article, groups from all of them.

A signature depends on its article alone (word 3-shingles of the headline and
text, datasketch MinHash, 128 permutations, seed 1, and the number of distinct
shingles, from which containment is estimated). Groups are recomputed from
the whole set of signatures on every run, so they are a function of the set of
articles only: an incremental reindex that carries unchanged signatures over
gets exactly the groups a full rebuild gets.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from datasketch import MinHash, MinHashLSH

from searchsvc.model.articles import parse_date

NUM_PERM = 128
SEED = 1
SHINGLE_WORDS = 3
# Measured on hand-judged Reuters and BBC pairs (benchmarks/duplicates.py and the report).
THRESHOLD = 0.7
# A re-send with a paragraph cut or added: at least CONTAINMENT of the shorter text's
# shingles are in the longer. Estimated from Jaccard and the two sizes, which is too
# noisy below CONTAINED_JACCARD (the shorter under about a quarter of the longer) and
# below MIN_SHINGLES (a one-line flash is quoted inside round-ups of other stories).
CONTAINMENT = 0.9
CONTAINED_JACCARD = 0.25
MIN_SHINGLES = 40
# Re-sends and corrections follow within hours; a daily or monthly report that repeats
# yesterday's wording with new figures is another story. Only day-precise dates count.
WINDOW_SECONDS = 36 * 3600
# Bands are chosen by datasketch for this lower threshold (42 bands of 3 rows): a pair
# at THRESHOLD is a candidate with probability 1 - 2e-8, a contained pair at Jaccard 0.5
# (half the length of the other) 0.996, at 0.4 0.94, at CONTAINED_JACCARD 0.48.
# (25 bands of 5 rows, for 0.5, found 0.99, 0.55, 0.23 and 0.02.)
CANDIDATE_THRESHOLD = 0.25
# More articles than this share a band: not re-sends but one text in bulk. Linking them
# all pairwise would take time and memory quadratic in their number.
MAX_BUCKET = 100
FILE_NAME = "signatures.npz"
FORMAT = 2  # 2: with the number of shingles of each article

_WORD = re.compile(r"\w+")
_EMPTY = np.uint32(0xFFFFFFFF)  # every slot of a signature that saw no shingle
_PRIME = np.uint32(0x01000193)  # FNV's: combines a shingle's word hashes
_BATCH = 1 << 13


class ArticleLike(Protocol):
    """An Article or anything like it; a `date` (ISO text), if it has one, is used too."""

    id: str
    title: str
    paragraphs: list[str]


class SignatureFileError(ValueError):
    """A signatures file that is damaged or was made with other parameters."""


@dataclass(frozen=True, eq=False)
class Signatures:
    """Signatures by article id: ids in code point order, values, a date and a size each.

    A date is seconds since the epoch (UTC), NaN when the article has none to the day;
    a size is the number of distinct shingles.
    """

    ids: tuple[str, ...]
    values: np.ndarray  # uint32, (len(ids), NUM_PERM)
    dates: np.ndarray  # float64, (len(ids),)
    sizes: np.ndarray  # int64, (len(ids),)

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Signatures):
            return NotImplemented
        return (
            self.ids == other.ids
            and np.array_equal(self.values, other.values)
            and np.array_equal(self.dates, other.dates, equal_nan=True)
            and np.array_equal(self.sizes, other.sizes)
        )

    def merged(self, fresh: Signatures) -> Signatures:
        """These signatures and fresh ones; where both have an id, the fresh one."""
        replaced = set(fresh.ids)
        keep = [i for i, id_ in enumerate(self.ids) if id_ not in replaced]
        return _sorted(
            [self.ids[i] for i in keep] + list(fresh.ids),
            np.concatenate([self.values[keep], fresh.values]),
            np.concatenate([self.dates[keep], fresh.dates]),
            np.concatenate([self.sizes[keep], fresh.sizes]),
        )

    def restricted(self, ids: Collection[str]) -> Signatures:
        """Only the signatures of these ids (ids without one are left out)."""
        wanted = set(ids)
        keep = [i for i, id_ in enumerate(self.ids) if id_ in wanted]
        return Signatures(
            tuple(self.ids[i] for i in keep), self.values[keep], self.dates[keep], self.sizes[keep]
        )


def empty() -> Signatures:
    return Signatures((), np.empty((0, NUM_PERM), np.uint32), np.empty(0), np.empty(0, np.int64))


class Builder:
    """Signatures added one article at a time, as an indexer writes them."""

    def __init__(self) -> None:
        self._minhash = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_as_is)
        self._word_hashes: dict[str, int] = {}
        self._rows: dict[str, tuple[np.ndarray, float, int]] = {}

    def add(self, article: ArticleLike) -> None:
        """Sign an article; signing the same id again replaces its signature."""
        shingles = np.unique(shingle_hashes(article, self._word_hashes))
        self._minhash.clear()
        # update_batch holds shingles x NUM_PERM values at once: a 10 MB article, in parts.
        for start in range(0, len(shingles), _BATCH):
            self._minhash.update_batch(shingles[start : start + _BATCH].tolist())
        self._rows[article.id] = (self._minhash.hashvalues.copy(), _instant(article), len(shingles))

    def __contains__(self, article_id: str) -> bool:
        return article_id in self._rows

    def signatures(self) -> Signatures:
        ids = list(self._rows)
        if not ids:
            return empty()
        rows = [self._rows[id_] for id_ in ids]
        values, dates, sizes = zip(*rows, strict=True)
        return _sorted(ids, np.stack(values), np.array(dates), np.array(sizes, np.int64))


def signatures_for(articles: Iterable[ArticleLike]) -> Signatures:
    """The signatures of these articles (ids must differ; ValueError otherwise)."""
    builder = Builder()
    for article in articles:
        if article.id in builder:
            raise ValueError(f"two articles have the id {article.id!r}")
        builder.add(article)
    return builder.signatures()


def shingle_hashes(article: ArticleLike, cache: dict[str, int] | None = None) -> np.ndarray:
    """32-bit hashes of the article's word 3-shingles (a shorter text is one shingle)."""
    text = "\n".join([article.title or "", *article.paragraphs]).lower()
    words = _WORD.findall(text)
    cache = {} if cache is None else cache
    for word in set(words).difference(cache):
        cache[word] = _word_hash(word)
    hashes = np.fromiter(map(cache.__getitem__, words), np.uint32, len(words))
    if not len(hashes):
        return hashes
    count = max(len(hashes) - SHINGLE_WORDS + 1, 1)
    shingles = hashes[:count].copy()
    for offset in range(1, min(SHINGLE_WORDS, len(hashes))):
        shingles = shingles * _PRIME ^ hashes[offset : offset + count]
    return shingles


def save(path: Path | str, signatures: Signatures) -> None:
    """Write the signatures to path, whole or not at all."""
    ids = np.frombuffer(json.dumps(list(signatures.ids)).encode(), np.uint8)
    params = np.array([FORMAT, NUM_PERM, SEED, SHINGLE_WORDS], np.int64)
    temporary = Path(path).with_name(Path(path).name + ".tmp")
    try:
        with temporary.open("wb") as f:
            np.savez(
                f,
                params=params,
                ids=ids,
                values=signatures.values,
                dates=signatures.dates,
                sizes=signatures.sizes,
            )
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load(path: Path | str) -> Signatures:
    """Signatures saved by save(); OSError if unreadable, SignatureFileError if not usable."""
    with open(path, "rb") as f:  # numpy leaves a file it opened itself open on some errors
        try:
            data = np.load(f, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("a single array")
            params = data["params"].tolist()
            # An older format (no sizes) is "other parameters": its articles are signed again.
            if params != [FORMAT, NUM_PERM, SEED, SHINGLE_WORDS]:
                raise SignatureFileError(f"{path}: made with other parameters {params}")
            values, dates, sizes = data["values"], data["dates"], data["sizes"]
            ids = json.loads(data["ids"].tobytes())
        except (KeyError, ValueError, EOFError, zipfile.BadZipFile) as error:
            if isinstance(error, SignatureFileError):
                raise
            raise SignatureFileError(f"{path}: not a signatures file ({error})") from error
    well_formed = (
        isinstance(ids, list)
        and all(isinstance(i, str) for i in ids)
        and ids == sorted(set(ids))
        and values.dtype == np.uint32
        and values.shape == (len(ids), NUM_PERM)
        and dates.dtype == np.float64
        and dates.shape == (len(ids),)
        and sizes.dtype == np.int64
        and sizes.shape == (len(ids),)
        and bool((sizes >= 0).all())
    )
    if not well_formed:
        raise SignatureFileError(f"{path}: damaged signatures file")
    return Signatures(tuple(ids), values, dates, sizes)


def pairs(
    signatures: Signatures,
    threshold: float = THRESHOLD,
    window: float = WINDOW_SECONDS,
    containment: float = CONTAINMENT,
) -> list[tuple[str, str, float]]:
    """Near-duplicate pairs (id, id, estimated Jaccard), each once, first id smaller.

    A pair is similar (Jaccard >= threshold) or one text holds the other (see
    CONTAINMENT; a containment over 1 turns that rule off), and close in time.
    """
    i, j, similarity = _confirmed(signatures, threshold, window, containment)
    ids = signatures.ids
    found = zip(i.tolist(), j.tolist(), similarity.tolist(), strict=True)
    return [(ids[a], ids[b], s) for a, b, s in found]


def groups(
    signatures: Signatures,
    threshold: float = THRESHOLD,
    window: float = WINDOW_SECONDS,
    containment: float = CONTAINMENT,
) -> dict[str, str]:
    """Every id -> the id of its group's representative (itself when it has no duplicate).

    The article with the most near-duplicates (then the earliest, then the first id)
    founds a group with those of them not yet in one; and so on. Every member is thus
    a near-duplicate of its representative: a chain of edits never joins two stories.
    """
    count = len(signatures)
    i, j, _ = _confirmed(signatures, threshold, window, containment)
    neighbours: list[list[int]] = [[] for _ in range(count)]
    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        neighbours[a].append(b)
        neighbours[b].append(a)
    dates = np.where(np.isnan(signatures.dates), math.inf, signatures.dates)
    ids = signatures.ids
    order = sorted(range(count), key=lambda k: (-len(neighbours[k]), dates[k], ids[k]))
    founder = [-1] * count
    for k in order:
        if founder[k] < 0:
            founder[k] = k
            for n in neighbours[k]:
                if founder[n] < 0:
                    founder[n] = k
    return {id_: ids[f] for id_, f in zip(ids, founder, strict=True)}


def by_group(grouping: dict[str, str]) -> dict[str, list[str]]:
    """Representative -> the ids of its group, for groups of two or more."""
    found: dict[str, list[str]] = {}
    for id_, key in grouping.items():
        found.setdefault(key, []).append(id_)
    return {key: sorted(ids) for key, ids in found.items() if len(ids) > 1}


def _confirmed(signatures: Signatures, threshold: float, window: float, containment: float):
    """Candidate pairs from LSH bands, kept when similar enough and close enough in time."""
    i, j = candidate_pairs(signatures.values)
    return confirmed(signatures, i, j, threshold, window, containment)


def confirmed(
    signatures: Signatures,
    i: np.ndarray,
    j: np.ndarray,
    threshold: float = THRESHOLD,
    window: float = WINDOW_SECONDS,
    containment: float = CONTAINMENT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of the row pairs (i, j), those near-duplicate: (i, j, estimated Jaccard)."""
    similarity = np.empty(len(i))
    for start in range(0, len(i), 1 << 16):  # bounded memory for many candidates
        part = slice(start, start + (1 << 16))
        equal = signatures.values[i[part]] == signatures.values[j[part]]
        similarity[part] = equal.mean(axis=1)
    keep = (similarity >= threshold) | _contained(signatures.sizes, i, j, similarity, containment)
    gap = np.abs(signatures.dates[i] - signatures.dates[j])
    keep &= ~(gap > window)  # NaN: no date, no limit
    return i[keep], j[keep], similarity[keep]


def _contained(sizes: np.ndarray, i, j, similarity: np.ndarray, containment: float) -> np.ndarray:
    """Pairs whose shorter text is (estimated) mostly inside the longer one."""
    # |A & B| = J (|A| + |B|) / (1 + J), so |A & B| / min(|A|, |B|) follows from J.
    smaller = np.minimum(sizes[i], sizes[j])
    shared = similarity * (sizes[i] + sizes[j]) / (1 + similarity)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = shared / smaller
    return (estimate >= containment) & (similarity >= CONTAINED_JACCARD) & (smaller >= MIN_SHINGLES)


def candidate_pairs(
    values: np.ndarray, shape: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs (i < j) sharing a band: all MinHashLSH.query would find, at once.

    A bucket over MAX_BUCKET is linked through its first row only. Signatures of
    articles without a word share nothing with anyone. shape: (bands, rows) other
    than band_shape(), to measure what a wider net would find.
    """
    bands, rows = shape or band_shape()
    signed = np.flatnonzero(~(values == _EMPTY).all(axis=1))
    found = np.empty(0, np.int64)  # pairs as i * len(values) + j, merged band by band
    for band in range(bands):
        keys = np.ascontiguousarray(values[signed, band * rows : (band + 1) * rows])
        keys = keys.view(np.dtype((np.void, keys.dtype.itemsize * rows))).ravel()
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        sizes = np.diff(np.r_[starts, len(ordered)])
        shared = sizes > 1
        in_band = [found]
        for start, size in zip(starts[shared].tolist(), sizes[shared].tolist(), strict=True):
            members = np.sort(signed[order[start : start + size]])
            if size > MAX_BUCKET:  # a flood of one text: linked through its first article
                a, b = np.zeros(size - 1, np.int64), np.arange(1, size)
            else:
                a, b = np.triu_indices(size, 1)
            in_band.append(members[a] * len(values) + members[b])
        found = np.unique(np.concatenate(in_band))
    return found // len(values), found % len(values)


@functools.cache
def band_shape() -> tuple[int, int]:
    """(bands, rows per band) as datasketch's MinHashLSH picks them for CANDIDATE_THRESHOLD."""
    lsh = MinHashLSH(threshold=CANDIDATE_THRESHOLD, num_perm=NUM_PERM)
    return lsh.b, lsh.r


def _sorted(ids: list[str], values: np.ndarray, dates: np.ndarray, sizes) -> Signatures:
    order = sorted(range(len(ids)), key=ids.__getitem__)
    return Signatures(tuple(ids[k] for k in order), values[order], dates[order], sizes[order])


def _word_hash(word: str) -> int:
    # surrogatepass: JSON can carry lone surrogates, which plain UTF-8 refuses.
    digest = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=4)
    return int.from_bytes(digest.digest(), "little")


def _as_is(value: int) -> int:
    """MinHash's hash function: shingles arrive hashed already."""
    return value


def _instant(article: ArticleLike) -> float:
    """Seconds since the epoch of a date given at least to the day; NaN otherwise."""
    text = getattr(article, "date", None)
    try:
        moment, normalised = parse_date(text) if text else (None, "")
    except ValueError:
        return math.nan
    if moment is None or len(normalised) < len("YYYY-MM-DD"):
        return math.nan
    return (moment - _EPOCH).total_seconds()


_EPOCH = parse_date("1970-01-01")[0]
