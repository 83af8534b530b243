"""A deterministic bigger corpus with Reuters-like vocabulary, for scaling runs.

Word frequencies, paragraph lengths, paragraphs per article, headlines and
dates are drawn from the source corpus's own statistics with a fixed seed, so
`factor` 10 over Reuters gives about 216,000 articles and 1.06M paragraphs.
Written as JSON Lines under /tmp, never into the repository.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

SEED = 1987
_TOKEN = re.compile(r"\S+")


def _statistics(source: Path):
    words: Counter[str] = Counter()
    paragraph_lengths: list[int] = []
    paragraph_counts: list[int] = []
    titles: list[str] = []
    dates: list[str] = []
    with source.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            body = record.get("body") or "\n\n".join(record.get("paragraphs") or [])
            paragraphs = [p for p in body.split("\n\n") if p.strip()]
            if not paragraphs:
                continue
            paragraph_counts.append(len(paragraphs))
            for paragraph in paragraphs:
                tokens = _TOKEN.findall(paragraph)
                paragraph_lengths.append(len(tokens))
                words.update(tokens)
            if record.get("title"):
                titles.append(str(record["title"]))
            if record.get("date"):
                dates.append(str(record["date"]))
    vocabulary = list(words)
    cumulative = list(itertools.accumulate(words[w] for w in vocabulary))
    return vocabulary, cumulative, paragraph_lengths, paragraph_counts, titles, dates


def generate(source: Path, factor: int, target: Path) -> int:
    """Write `factor` x the source's article count to `target`; returns paragraphs written."""
    vocabulary, cumulative, lengths, counts, titles, dates = _statistics(source)
    rng = random.Random(SEED + factor)
    articles = len(counts) * factor
    written = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for number in range(articles):
            paragraphs = []
            for _ in range(rng.choice(counts)):
                words = rng.choices(vocabulary, cum_weights=cumulative, k=rng.choice(lengths))
                paragraphs.append(" ".join(words))
            written += len(paragraphs)
            record = {"id": f"synthetic-{factor}x-{number}", "title": rng.choice(titles),
                      "date": rng.choice(dates), "source": "Synthetic",
                      "paragraphs": paragraphs}  # fmt: skip
            out.write(json.dumps(record) + "\n")
    partial.replace(target)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print("usage: python -m benchmarks.scale SOURCE.jsonl FACTOR TARGET.jsonl")
        sys.exit(2)
    print(generate(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])), "paragraphs")
