"""Generations on the cluster: an index pair per reindex, one alias pair readers follow.

Layout, for the alias `<name>` (SEARCHSVC_OPENSEARCH_INDEX)::

    <name>            alias -> <name>-g000042          the articles readers search
    <name>-terms      alias -> <name>-g000042-terms    its term statistics, info, manifest
    <name>-g000041    the generation before (kept: readers may be mid-request on it)
    <name>-control    the reindex lock (lock.py)

A generation is loaded whole, refreshed, given its replicas and checked
before one `_aliases` call moves both aliases to it; readers never see a
half-built generation. Older ones, and those of runs that failed, are deleted
by the next run that holds the lock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from searchsvc.engine.opensearch.client import Cluster

KEEP_PREVIOUS = 1  # generations kept after a swap besides the live one
_GENERATION = re.compile(r"-g(\d{6})\Z")


@dataclass(frozen=True)
class Layout:
    alias: str

    @property
    def terms_alias(self) -> str:
        return self.alias + "-terms"

    @property
    def control(self) -> str:
        return self.alias + "-control"

    def generation(self, number: int) -> str:
        return f"{self.alias}-g{number:06d}"

    @staticmethod
    def terms(generation: str) -> str:
        return generation + "-terms"

    def number(self, index: str) -> int | None:
        """The generation number of one of this layout's article indexes, else None."""
        match = _GENERATION.search(index)
        if match is None or index != self.generation(int(match.group(1))):
            return None
        return int(match.group(1))


def live(cluster: Cluster, layout: Layout) -> str | None:
    """The generation the alias names now; None before the first reindex."""
    found = cluster.call("indices.get_alias", name=layout.alias, ignore_unavailable=True,
                         params={"ignore": 404})  # fmt: skip
    # A missing alias answers 404 with {"error": ..., "status": 404}: no index entries.
    names = [
        index
        for index, entry in found.items()
        if isinstance(entry, dict) and layout.alias in entry.get("aliases", {})
    ]
    if len(names) > 1:
        raise RuntimeError(f"the alias {layout.alias!r} names several indexes: {names}")
    return names[0] if names else None


def existing(cluster: Cluster, layout: Layout) -> list[str]:
    """Every generation's article index on the cluster, oldest first."""
    found = cluster.call(
        "indices.get", index=layout.alias + "-g*", allow_no_indices=True, expand_wildcards="all",
        ignore_unavailable=True, params={"filter_path": "*.settings.index.provided_name"},
    )  # fmt: skip
    numbered = [(layout.number(index), index) for index in found]
    return [index for number, index in sorted(n for n in numbered if n[0] is not None)]


def next_generation(cluster: Cluster, layout: Layout) -> str:
    numbers = [layout.number(index) for index in existing(cluster, layout)]
    return layout.generation(max(numbers, default=0) + 1)


def swap(cluster: Cluster, layout: Layout, new: str, previous: str | None) -> None:
    """Point both aliases at `new`, in one atomic call."""
    actions = []
    if previous is not None:
        actions += [
            {"remove": {"index": previous, "alias": layout.alias}},
            {"remove": {"index": layout.terms(previous), "alias": layout.terms_alias}},
        ]
    actions += [
        {"add": {"index": new, "alias": layout.alias, "is_write_index": False}},
        {"add": {"index": layout.terms(new), "alias": layout.terms_alias}},
    ]
    cluster.call("indices.update_aliases", body={"actions": actions})


def clean_up(cluster: Cluster, layout: Layout, keep: str | None, previous: str | None) -> list[str]:
    """Delete generations but `keep`, `previous` and the KEEP_PREVIOUS newest before `keep`
    (a run that failed, or was killed, left its generation unaliased: deleted too)."""
    generations = existing(cluster, layout)
    keep_number = layout.number(keep) if keep else None
    older = [g for g in generations if keep_number is not None and layout.number(g) < keep_number]
    survivors = {keep, previous, *older[len(older) - KEEP_PREVIOUS :]} if keep else {previous}
    doomed = [g for g in generations if g not in survivors]
    for generation in doomed:
        discard(cluster, layout, generation)
    return doomed


def discard(cluster: Cluster, layout: Layout, generation: str) -> None:
    """Delete one generation's two indexes (missing ones are no error)."""
    cluster.call(
        "indices.delete", index=f"{generation},{layout.terms(generation)}",
        ignore_unavailable=True, params={"ignore": 404},
    )  # fmt: skip
