"""Posting lists stored as flat arrays, so that reading one costs no Python object per posting.

Whoosh's whoosh3 codec pickles each block of up to 128 postings as tuples
of Python ints and floats, and a positions field as one pickled list per
posting. Unpickling those objects is most of the cost of reading a long
posting list from a cold process: about 2 us a posting at 10x Reuters,
which is what a query pays for every word that no earlier query has read.

This codec is whoosh3's with the block's payload changed, and nothing else
(block headers, term index, columns, stored fields and segment files are
whoosh3's own):

- document numbers: little-endian uint32 gaps from the block's start;
- weights: whoosh3's "all 1.0" and "all equal" shortcuts, else float32;
- values: their byte lengths as uint32 and the values joined in one string;
- `PackedPositions`, the positions format of the headline and text fields,
  stores a posting's positions as uint32 values instead of a pickled list.

So a whole posting list, positions included, is a few NumPy calls a block
(`PackedLeafMatcher.read_arrays`), and Whoosh's own matchers, which read a
posting at a time, get the same ids, weights and values as before.
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass
from itertools import accumulate, chain

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    W3Codec,
    W3LeafMatcher,
    W3PerDocReader,
    W3PostingsWriter,
    W3Segment,
)
from whoosh.columns import NumericColumn
from whoosh.matching import ListMatcher
from whoosh.util.numeric import byte_to_length

if array("I").itemsize != 4 or array("f").itemsize != 4:  # fixed by the file layout
    raise ImportError("searchsvc.index.codec needs 4-byte C unsigned ints and floats")
_SWAP = sys.byteorder != "little"  # the files are little-endian on every machine
_U32 = np.dtype("<u4")
_F32 = np.dtype("<f4")


def _to_bytes(values: array) -> bytes:
    if _SWAP:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _from_bytes(typecode: str, data: bytes) -> array:
    values = array(typecode, data)
    if _SWAP:
        values.byteswap()
    return values


class PackedPositions(formats.Positions):
    """Positions as uint32 values, 4 bytes each, no pickle."""

    def encode(self, poslist) -> bytes:
        return _to_bytes(array("I", poslist))

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return _from_bytes("I", valuestring).tolist()

    def decode_frequency(self, valuestring: bytes) -> int:
        return len(valuestring) // 4


@dataclass(frozen=True)
class PostingArrays:
    """A whole posting list: ids ascending, weights, and each posting's positions if asked."""

    ids: np.ndarray  # int64
    weights: np.ndarray  # float32
    position_counts: np.ndarray | None = None  # positions per posting
    positions: np.ndarray | None = None  # every posting's positions, in posting order
    position_starts: np.ndarray | None = None  # where each posting's positions begin

    @classmethod
    def with_positions(cls, ids, weights, counts: np.ndarray, positions: np.ndarray):
        return cls(ids, weights, counts, positions, np.cumsum(counts) - counts)

    @property
    def nbytes(self) -> int:
        arrays = (
            self.ids,
            self.weights,
            self.position_counts,
            self.positions,
            self.position_starts,
        )
        return sum(a.nbytes for a in arrays if a is not None)


class PackedPostingsWriter(W3PostingsWriter):
    def _mini_ids(self):
        # Most blocks hold a posting or two (rare words): NumPy's call overhead
        # would cost more than this loop.
        ids = self._ids
        return _to_bytes(array("I", [b - a for a, b in zip([0, *ids[:-1]], ids, strict=True)]))

    def _mini_weights(self):
        weights = self._weights
        if all(w == 1.0 for w in weights):
            return None
        if all(w == weights[0] for w in weights):
            return weights[0]
        return _to_bytes(weights)

    def _mini_values(self):
        fixedsize = self._format.fixed_value_size()
        if fixedsize is None or fixedsize < 0:
            return _to_bytes(array("I", map(len, self._values))), b"".join(self._values)
        return super()._mini_values()


class PackedLeafMatcher(W3LeafMatcher):
    """whoosh3's leaf matcher over packed blocks, plus a whole-list read into arrays."""

    def _goto(self, position):
        self._block_at = position
        super()._goto(position)

    def at_start(self) -> bool:
        """Still on its first posting: the whole list is ahead of it (no block read to know)."""
        return self._block_at == self._baseoffset and self._i == 0 and not self._atend

    def _read_ids(self):
        if self._data is None:
            self._read_data()
        self._ids = tuple(accumulate(_from_bytes("I", self._data[0])))

    def _read_weights(self):
        if self._data is None:
            self._read_data()
        weights = self._data[1]
        if isinstance(weights, bytes):
            self._weights = _from_bytes("f", weights)
        else:
            super()._read_weights()

    def _read_values(self):
        if self._data is None:
            self._read_data()
        if self._fixedsize is None or self._fixedsize < 0:
            lengths, joined = self._data[2]
            ends = list(accumulate(_from_bytes("I", lengths)))
            self._values = tuple(joined[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True))
        else:
            super()._read_values()

    def read_arrays(self, positions: bool = False) -> PostingArrays:
        """The whole posting list from its first block, whatever the matcher's position.

        Leaves the matcher at its end. `positions` needs a PackedPositions field.
        """
        if positions and type(self.format) is not PackedPositions:
            raise ValueError(f"{type(self.format).__name__} has no packed positions")
        ids, weights, lengths, joined = [], [], [], []
        if self._block_at != self._baseoffset:
            self.reset()  # else the first block's data, if read, is read once
        while True:
            if self._data is None:
                self._read_data()
            block_ids, block_weights, block_values = self._data
            ids.append(np.cumsum(np.frombuffer(block_ids, dtype=_U32), dtype=np.int64))
            if isinstance(block_weights, bytes):
                weights.append(np.frombuffer(block_weights, dtype=_F32))
            else:
                fill = 1.0 if block_weights is None else block_weights
                weights.append(np.full(self._blocklength, fill, dtype=np.float32))
            if positions:
                lengths.append(np.frombuffer(block_values[0], dtype=_U32))
                joined.append(block_values[1])
            if self._lastblock:
                break
            self._next_block()
        self._atend = True
        ids, weights = np.concatenate(ids), np.concatenate(weights)
        if not positions:
            return PostingArrays(ids, weights)
        counts = (np.concatenate(lengths) // 4).astype(np.int64)
        positions = np.frombuffer(b"".join(joined), dtype=_U32).astype(np.int64)
        return PostingArrays.with_positions(ids, weights, counts, positions)


def inlined_arrays(matcher: ListMatcher, positions: bool = False) -> PostingArrays:
    """The same arrays for a posting list inlined in its term info."""
    ids = np.asarray(matcher._ids, dtype=np.int64)
    weights = np.asarray(matcher._weights or [1.0] * len(ids), dtype=np.float32)
    if not positions:
        return PostingArrays(ids, weights)
    lists = [matcher._format.decode_positions(value) for value in matcher._values]
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum()))
    return PostingArrays.with_positions(ids, weights, counts, flat)


def field_length_bytes(perdoc: W3PerDocReader, fieldname: str, doccount: int) -> np.ndarray | None:
    """Every document's length byte for `fieldname`, in one read; None if not stored so."""
    column = perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
    if type(column) is not NumericColumn.Reader or column._typecode != "B":
        return None
    lengths = np.full(doccount, column._default, dtype=np.uint8)
    stored = min(column._count, doccount)
    lengths[:stored] = np.frombuffer(column._dbfile.get(column._basepos, stored), dtype=np.uint8)
    return lengths


# A length byte's value as whoosh3 decodes it; 0 means no length (None).
BYTE_LENGTHS = [None] + [byte_to_length(byte) for byte in range(1, 256)]
_DECODED_LENGTHS = np.array(BYTE_LENGTHS, dtype=object)


class PackedPerDocReader(W3PerDocReader):
    def doc_field_length_reader(self, fieldname, default=0):
        """Lengths for writing postings, decoded for the whole segment at once.

        whoosh3 reads and decodes a document's length byte for every posting
        it writes: 10% of a Reuters build, in cProfile.
        """
        column = field_length_bytes(self, fieldname, self._doccount)
        if column is None:
            return super().doc_field_length_reader(fieldname, default)
        return _DECODED_LENGTHS[column].tolist().__getitem__


class PackedCodec(W3Codec):
    """whoosh3 with packed posting blocks; term vectors (not used here) stay whoosh3's."""

    def postings_writer(self, dbfile, byteids=False):
        if byteids:
            return super().postings_writer(dbfile, byteids=True)
        return PackedPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            byteids=False,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
        )

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return PackedLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)

    def per_document_reader(self, storage, segment):
        return PackedPerDocReader(storage, segment)

    def new_segment(self, storage, indexname):
        return W3Segment(self, indexname)
