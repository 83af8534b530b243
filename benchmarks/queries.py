"""The fixed benchmark query set, and how it was generated from Reuters headlines.

The set is versioned (`queries-v1.tsv`, committed) so runs compare like with
like; `python -m benchmarks.queries CORPUS > benchmarks/queries-v1.tsv`
regenerates it, deterministically, from a JSON Lines corpus. Columns: class,
query text, page, sort.
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from searchsvc.text.analysis import STOP_WORDS

QUERY_FILE = Path(__file__).with_name("queries-v1.tsv")
CLASSES = ("one-word", "few-words", "phrase", "question", "date", "by-date", "deep-page")
PER_CLASS = 50
SEED = 20261124
_WORD = re.compile(r"[a-z][a-z'-]{2,}")
_QUESTIONS = (
    "what did {a} say about {b}",
    "why are {a} {b} rising",
    "how much {a} did {b} report",
    "when will the {a} {b} be announced",
    "who is buying {a} {b} shares",
)


@dataclass(frozen=True)
class BenchQuery:
    kind: str
    q: str
    page: int = 1
    sort: str = "relevance"


def _headlines(corpus: Path) -> list[tuple[list[str], str]]:
    rows = []
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            words = [w for w in _WORD.findall(str(record.get("title", "")).lower())]
            content = [w.strip("'-") for w in words if w not in STOP_WORDS]
            content = [w for w in content if len(w) > 2]
            if len(content) >= 3 and record.get("date"):
                rows.append((content, str(record["date"])[:7]))
    return rows


def generate(corpus: Path) -> list[BenchQuery]:
    """PER_CLASS queries of each class, drawn with a fixed seed from the corpus headlines."""
    rng = random.Random(SEED)
    rows = _headlines(corpus)
    if not rows:
        raise ValueError(f"{corpus}: no dated headlines of three words or more to draw from")
    queries: list[BenchQuery] = []
    for kind in CLASSES:
        for _ in range(PER_CLASS):
            words, month = rng.choice(rows)
            start = rng.randrange(len(words) - 1)
            if kind == "one-word":
                q = rng.choice(words)
            elif kind == "few-words":
                n = rng.randint(2, min(4, len(words)))
                start = rng.randrange(len(words) - n + 1)
                q = " ".join(words[start : start + n])
            elif kind == "phrase":
                q = '"' + " ".join(words[start : start + 2]) + '"'
            elif kind == "question":
                q = rng.choice(_QUESTIONS).format(a=words[start], b=words[start + 1])
            elif kind == "date":
                q = f"{words[start]} {words[start + 1]} date:{month}"
            else:
                q = " ".join(words[start : start + 2])
            page = rng.randint(5, 10) if kind == "deep-page" else 1
            sort = "date" if kind == "by-date" else "relevance"
            queries.append(BenchQuery(kind, q, page, sort))
    return queries


def load(path: Path = QUERY_FILE, limit: int | None = None) -> list[BenchQuery]:
    """The query set; with `limit`, an even share of every class."""
    with path.open(encoding="utf-8", newline="") as f:
        queries = [
            BenchQuery(kind, q, int(page), sort)
            for kind, q, page, sort in csv.reader(f, delimiter="\t")
        ]
    if limit is None or limit >= len(queries):
        return queries
    per_class = max(1, limit // len(CLASSES))
    taken: dict[str, int] = {}
    chosen = []
    for query in queries:
        if taken.get(query.kind, 0) < per_class:
            taken[query.kind] = taken.get(query.kind, 0) + 1
            chosen.append(query)
    return chosen


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m benchmarks.queries CORPUS.jsonl > benchmarks/queries-v1.tsv")
        return 2
    writer = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    for query in generate(Path(argv[0])):
        writer.writerow([query.kind, query.q, query.page, query.sort])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
