"""The article record every reader produces and every later stage consumes."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

DERIVED_TITLE_CHARS = 90

# Punkt with no training data splits after these; they are common in news copy.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "col", "lt", "sgt",
    "st", "jr", "sr", "co", "corp", "inc", "ltd", "plc", "no", "vs", "u.s", "u.k",
    "u.n", "e.g", "i.e", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "mln", "bln", "dlrs", "pct",
}  # fmt: skip


@functools.cache
def _sentence_splitter():
    """Punkt, untrained but for the abbreviations; imported on first use (it is slow to load)."""
    from searchsvc.text.analysis import import_from_nltk

    punkt = import_from_nltk("nltk.tokenize.punkt")
    parameters = punkt.PunktParameters()
    parameters.abbrev_types = set(_ABBREVIATIONS)
    return punkt.PunktSentenceTokenizer(parameters)


_BLANK_LINES = re.compile(r"\n[ \t\f\v]*\n\s*")
_SPACES = re.compile(r"\s+")


@dataclass
class Article:
    id: str
    paragraphs: list[str]
    title: str = ""
    title_derived: bool = False
    date: str | None = None  # ISO 8601 text as precise as the source: 1987, 1987-02, ...
    source: str | None = None
    url: str | None = None
    author: str | None = None
    extra: dict = field(default_factory=dict)
    origin: str = ""  # where it was read: "path" or "path:line"

    def content_hash(self) -> str:
        """Changes whenever anything a reader of the index could see changes."""
        data = self.to_dict()
        del data["origin"]
        encoded = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.blake2b(encoded.encode("utf-8"), digest_size=16).hexdigest()

    @property
    def sort_date(self) -> datetime | None:
        """The first instant the date covers, for filtering and sorting."""
        return parse_date(self.date)[0] if self.date else None

    def to_dict(self) -> dict:
        """The fields as a new dict; the values are shared (asdict's deep copy cost
        a fifth of a second per thousand articles when indexing)."""
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    @classmethod
    def from_dict(cls, data: dict) -> Article:
        return cls(**data)


_FIELD_NAMES = tuple(f.name for f in fields(Article))


def split_paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; runs of white space inside one become a space."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (_SPACES.sub(" ", block).strip() for block in _BLANK_LINES.split(text))
    return [p for p in paragraphs if p]


def derive_title(paragraphs: list[str]) -> str:
    """The lead's first sentence, shortened at a word boundary."""
    if not paragraphs:
        return ""
    lead = paragraphs[0]
    first = _sentence_splitter().tokenize(lead)[0] if lead else lead
    if len(first) <= DERIVED_TITLE_CHARS:
        return first
    cut = first[:DERIVED_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:-–— ")
    return cut + "…"


def parse_date(text: str) -> tuple[datetime, str]:
    """ISO 8601 date or date-time text -> (first instant, normalised text).

    Accepts YYYY, YYYY-MM, YYYY-MM-DD and anything datetime.fromisoformat does.
    Raises ValueError for anything else.
    """
    text = text.strip()
    match = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", text)
    if match:
        year, month = int(match.group(1)), int(match.group(2) or 1)
        moment = datetime(year, month, 1)
        return moment, f"{year:04d}" if match.group(2) is None else f"{year:04d}-{month:02d}"
    moment = datetime.fromisoformat(text)
    normalised = moment.date().isoformat() if len(text) == 10 else moment.isoformat()
    if moment.tzinfo is not None:
        # Compared as naive UTC; the text keeps the offset it was given with.
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment, normalised
