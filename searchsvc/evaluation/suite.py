"""`searchsvc eval --suite DIR`: every judged set under DIR, each on an index of its own.

A set is a folder with corpus.jsonl, queries.tsv and qrels.txt (and optionally
baselines.tsv: other engines' figures on it). Its index is built once and reused
while the corpus file and searchsvc's index format stay the same: a directory in
the cache (engine whoosh), or the alias <opensearch_index>-eval-<set> on the
cluster (engine opensearch; the cache keeps the stamp of what it holds). Each set
is scored on one primary measure: MRR@10 when every query has exactly one
relevant document (a known-item set), MAP otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from searchsvc.evaluation.runs import EvalInputError, Evaluation, evaluate, read_qrels, read_queries

SET_FILES = ("corpus.jsonl", "queries.tsv", "qrels.txt")
BASELINES_FILE = "baselines.tsv"
HALVES = ("all", "tune", "test")
TABLE_MEASURES = ("MAP", "nDCG@10", "MRR@10", "Recall@100")
# The modules that decide what an index holds: a change to any of them rebuilds.
FORMAT_MODULES = (
    "text.analysis",
    "model.articles",
    "index.codec",
    "ingest.corpus",
    "index.indexer",
    "index.schema",
    "index.segments",
    "index.duplicates",  # the stories the run folds
)
# What the OpenSearch engine adds to an index's format.
OPENSEARCH_FORMAT_MODULES = (
    "engine.opensearch.documents",
    "engine.opensearch.loading",
    "engine.opensearch.mapping",
)
STAMP_FILE = "suite-stamp.json"


def default_cache() -> Path:
    """Where suite indexes are kept unless --cache says otherwise."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "searchsvc" / "eval"


def half_of(qid: str) -> str:
    """The fixed split: 'tune' when the SHA-1 of the query id ends in an even byte, else 'test'."""
    return "tune" if hashlib.sha1(qid.encode("utf-8")).digest()[-1] % 2 == 0 else "test"


def in_half(qid: str, half: str) -> bool:
    return half == "all" or half_of(qid) == half


def primary_measure(qrels: dict[str, dict[str, int]]) -> str:
    """MRR@10 for a known-item set (one relevant document per query), MAP otherwise."""
    known_item = all(sum(1 for r in docs.values() if r > 0) == 1 for docs in qrels.values())
    return "MRR@10" if known_item else "MAP"


@dataclass
class JudgedSet:
    name: str
    path: Path

    @property
    def corpus(self) -> Path:
        return self.path / "corpus.jsonl"

    def queries(self) -> dict[str, str]:
        return read_queries(self.path / "queries.tsv")

    def qrels(self) -> dict[str, dict[str, int]]:
        return read_qrels(self.path / "qrels.txt")

    def baselines(self) -> dict[str, dict[str, float]]:
        """Engine -> measure -> value from baselines.tsv; empty when there is none."""
        return read_baselines(self.path / BASELINES_FILE)


def find_sets(root: Path) -> list[JudgedSet]:
    """The judged sets directly under `root`, by name; raises EvalInputError when none."""
    root = Path(root)
    if not root.is_dir():
        raise EvalInputError(f"{root}: not a directory")
    sets = [
        JudgedSet(child.name, child)
        for child in sorted(root.iterdir())
        if child.is_dir() and all((child / name).is_file() for name in SET_FILES)
    ]
    if not sets:
        raise EvalInputError(f"{root}: no folder with {', '.join(SET_FILES)}")
    return sets


def read_baselines(path: Path) -> dict[str, dict[str, float]]:
    """A tab-separated table, `engine` first, a header of measure names (R@100 = Recall@100)."""
    if not path.is_file():
        return {}
    lines = [line.split("\t") for line in path.read_text("utf-8").splitlines() if line.strip()]
    if not lines:
        return {}
    header = [{"R@100": "Recall@100"}.get(name.strip(), name.strip()) for name in lines[0]]
    table: dict[str, dict[str, float]] = {}
    for number, cells in enumerate(lines[1:], start=2):
        if len(cells) != len(header):
            raise EvalInputError(f"{path}:{number}: expected {len(header)} columns")
        try:
            table[cells[0].strip()] = {
                name: float(cell) for name, cell in zip(header[1:], cells[1:], strict=True)
            }
        except ValueError:
            raise EvalInputError(f"{path}:{number}: figures must be numbers") from None
    return table


def format_stamp(engine: str = "whoosh") -> str:
    """A fingerprint of searchsvc's index format: the version and the index-writing modules."""
    import importlib
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha1()
    try:
        digest.update(version("searchsvc").encode())
    except PackageNotFoundError:
        pass
    extra = OPENSEARCH_FORMAT_MODULES if engine == "opensearch" else ()
    for name in FORMAT_MODULES + extra:
        module = importlib.import_module(f"searchsvc.{name}")
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    digest = hashlib.sha1()
    with Path(path).open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_index(judged: JudgedSet, cache: Path) -> tuple[Path, bool]:
    """The set's index in `cache`, built when missing or stale; (path, whether it was built)."""
    from searchsvc.index import store
    from searchsvc.index.indexer import reindex

    index = Path(cache) / judged.name
    stamp = {"corpus": file_digest(judged.corpus), "format": format_stamp()}
    stamp_path = index / STAMP_FILE
    try:
        fresh = store.has_index(index) and json.loads(stamp_path.read_text("utf-8")) == stamp
    except (OSError, ValueError):
        fresh = False
    if fresh:
        return index, False
    index.mkdir(parents=True, exist_ok=True)
    # Records the corpus reader skips (cran's two empty abstracts) are simply not
    # found: the baselines' engines cannot rank a document without text either.
    reindex([judged.corpus], index, full=True)
    stamp_path.write_text(json.dumps(stamp), "utf-8")
    return index, True


@dataclass
class SetResult:
    name: str
    queries: int
    means: dict[str, float]
    primary: str  # the measure the ratio is taken on
    baseline: tuple[str, float] | None  # (engine, value): the best baseline on `primary`
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.baseline or not self.baseline[1]:
            return None
        return self.means[self.primary] / self.baseline[1]

    def to_dict(self) -> dict:
        return {
            "set": self.name,
            "queries": self.queries,
            **{name: round(self.means[name], 4) for name in TABLE_MEASURES},
            "primary": self.primary,
            "baseline": None
            if self.baseline is None
            else {"engine": self.baseline[0], self.primary: self.baseline[1]},
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "failed": len(self.failed),
        }


def evaluate_set(
    judged: JudgedSet, snapshot, half: str = "all", depth: int = 100, collapse: bool = True
) -> SetResult:
    """One set's queries (those in `half`) through search(), scored against its qrels."""
    qrels = {qid: docs for qid, docs in judged.qrels().items() if in_half(qid, half)}
    queries = {qid: text for qid, text in judged.queries().items() if qid in qrels}
    primary = primary_measure(judged.qrels())
    evaluation: Evaluation = evaluate(snapshot, queries, qrels, depth=depth, collapse=collapse)
    baselines = judged.baselines()
    best = max(
        ((engine, row[primary]) for engine, row in baselines.items() if primary in row),
        key=lambda pair: pair[1],
        default=None,
    )
    return SetResult(
        judged.name,
        evaluation.queries,
        evaluation.means,
        primary,
        best,
        evaluation.per_query,
        evaluation.failed,
    )


def mean_ratio(results: list[SetResult]) -> float | None:
    ratios = [r.ratio for r in results if r.ratio is not None]
    return sum(ratios) / len(ratios) if ratios else None


def format_suite(results: list[SetResult], half: str, collapse: bool = True) -> str:
    """One row per set, then the mean ratio to the best baseline."""
    columns = "".join(f" {m:>10}" for m in TABLE_MEASURES)
    lines = [f"{'set':22} {'queries':>7}{columns} {'primary':>8} {'baseline':>9} {'ratio':>7}"]
    for r in results:
        values = "".join(f" {r.means[m]:10.4f}" for m in TABLE_MEASURES)
        base = f"{r.baseline[1]:9.4f}" if r.baseline else f"{'-':>9}"
        lines.append(f"{r.name:22} {r.queries:7}{values} {r.primary:>8} {base} {_ratio(r.ratio)}")
    width = len(lines[0]) - 8
    lines.append(f"{'mean ratio':{width}} {_ratio(mean_ratio(results))}")
    lines.append("")
    lines.append(
        f"queries: {half} (halves by SHA-1 of the query id: even last byte tune, odd test); "
        "primary measure: MRR@10 where every query has one relevant document, else MAP; "
        "ratio: to the best engine of baselines.tsv on the primary measure"
        + (" (the engines' figures are on all of the set's queries)" if half != "all" else "")
        + (
            "; one hit per story (a story counts as each of its judged versions at its place)"
            if collapse
            else "; every version of a story a hit of its own (--no-collapse)"
        )
    )
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return f"{value:6.3f}x" if value is not None else f"{'-':>7}"


def eval_alias(alias: str, set_name: str) -> str:
    """The alias a set is kept under on the cluster: <alias>-eval-<set>, in lower case."""
    name = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in set_name)
    return f"{alias}-eval-{name.lower()}"


def cached_alias(judged: JudgedSet, cache: Path, config) -> tuple:
    """The set's OpenSearch engine, its alias built when missing or stale; (engine, built).

    The stamp (corpus, format, and the generation it was built as) is kept in `cache`:
    an alias deleted or rebuilt by anything else is built again."""
    from searchsvc.config import Config
    from searchsvc.engine import open_engine

    alias = eval_alias(config.opensearch_index, judged.name)
    engine = open_engine(Config({**config, "opensearch_index": alias}))
    stamp = {"corpus": file_digest(judged.corpus), "format": format_stamp("opensearch")}
    stamp_path = Path(cache) / "opensearch" / f"{alias}.json"
    try:
        kept = json.loads(stamp_path.read_text("utf-8"))
    except (OSError, ValueError):
        kept = None
    if kept is not None and kept.get("stamp") == stamp and engine.has_index():
        if engine.view().health()["generation"] == kept.get("generation"):
            return engine, False
    report = engine.reindex([judged.corpus], full=True)
    if report.generation is None:  # reindex answers this only when nothing changed
        raise EvalInputError(f"{judged.name}: {alias!r} was not built: {report.summary()}")
    stamp_path.parent.mkdir(parents=True, exist_ok=True)
    stamp_path.write_text(json.dumps({"stamp": stamp, "generation": report.generation}), "utf-8")
    return engine, True


def set_engine(judged: JudgedSet, cache: Path, config):
    """The set's index on the configured engine, built when missing or stale."""
    if config.engine == "opensearch":
        return cached_alias(judged, cache, config)[0]
    from searchsvc.config import Config
    from searchsvc.engine import open_engine

    index, _built = cached_index(judged, cache)
    return open_engine(Config({**config, "index": index}))


def run_suite(
    root: Path, cache: Path, half: str = "all", depth: int = 100, config=None, collapse=True
):
    """Every set under `root`, each on its cached index: a SetResult per set, in name order.

    Raises EngineUnavailable when the cluster cannot answer, ReindexBusy / ReindexFailed
    when a set's index could not be built (searchsvc.index.store)."""
    from searchsvc.config import load_config

    config = config or load_config()
    results = []
    for judged in find_sets(root):
        view = set_engine(judged, cache, config).view()
        try:
            results.append(evaluate_set(judged, view, half, depth, collapse))
        finally:
            view.release()
    return results
