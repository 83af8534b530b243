"""A dated, multi-source, multi-topic corpus for the discovery, feed, UI and browser tests."""

from __future__ import annotations

from pathlib import Path

from conftest import write_corpus

from searchsvc.index.indexer import reindex

SOURCES = ("Reuters", "AP", "Gazette")
PLACES = ("Houston", "Rotterdam", "Riyadh", "Caracas", "Lagos", "Aberdeen")


def discovery_records() -> list[dict]:
    """Dated, multi-source, multi-topic articles: 24 on oil over 1987, 4 on parliament."""
    records = []
    # Uneven over the year, as news is: every month has some, a few have many.
    months = [1, 1, 1, 2, 3, 3, 4, 5, 5, 5, 5, 6, 7, 8, 8, 9, 10, 10, 11, 12, 12, 12, 12, 12]
    for n in range(24):
        place = PLACES[n % len(PLACES)]
        records.append(
            {
                "id": f"oil-{n:02d}",
                "title": f"Oil prices move in {place} trading, report {n}",
                "date": f"1987-{months[n]:02d}-{n % 27 + 1:02d}",
                "source": SOURCES[n % 3],
                "topics": ["crude"] if n % 2 else ["crude", "ship"],
                "body": f"Crude oil prices changed in {place} as traders watched government "
                f"policy and tanker shipments.\n\nAnalysts in {place} expected the "
                f"petroleum market to stay volatile, dealers said in report number {n}.",
            }
        )
    for n, (title, body) in enumerate(
        [
            ("Parliament debates government budget", "Members of parliament debated the budget."),
            ("Parliament votes on government policy", "The parliament vote on policy was close."),
            (
                "Government policy on parliament reform",
                "Reform of parliament is government policy.",
            ),
            ("Cup final tickets sold out", "Football fans bought every ticket for the final."),
        ]
    ):
        records.append(
            {
                "id": f"gov-{n}",
                "title": title,
                "date": f"1990-0{n + 1}-15",
                "source": "Gazette",
                "topics": ["politics"],
                "body": body + "\n\nThe government said more would follow.",
            }
        )
    return records


def build_discovery_index(root: Path) -> tuple[Path, Path]:
    corpus = write_corpus(root / "corpus", jsonl_records=discovery_records())
    index = root / "index"
    report = reindex([corpus], index)
    assert not report.skipped, report.problems
    return corpus, index
