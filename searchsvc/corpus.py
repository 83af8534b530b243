"""Corpus readers: plain-text articles and JSON Lines files -> Article records.

Readers know nothing of the index. Every file yields articles and problems;
a problem names where it happened and why, and never stops the rest.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from searchsvc.articles import Article, derive_title, parse_date, split_paragraphs

SUFFIXES = (".txt", ".jsonl")
MAX_ARTICLE_BYTES = 10 * 1024 * 1024
MAX_HEADLINE_CHARS = 150
FALLBACK_ENCODING = "cp1252"

_DATE_LINE = re.compile(r"\A\ufeff?[ \t]*date[ \t]+(\d{4}(?:-\d{1,2}(?:-\d{1,2})?)?)\b[ \t]*", re.I)
_CLOSING_PUNCTUATION = tuple(".!?:;,…\"'”’)]")
_KNOWN_FIELDS = {"id", "title", "date", "source", "url", "author", "body", "paragraphs"}


@dataclass(frozen=True)
class Problem:
    origin: str
    reason: str
    skipped: bool = True  # False: read, with a caveat worth telling the operator

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    key: str  # stable name: the path relative to its corpus root, "/"-separated

    @property
    def id_stem(self) -> str:
        return self.key.rsplit(".", 1)[0]


def discover(roots: Iterable[Path]) -> Iterator[CorpusFile | Problem]:
    """Every .txt and .jsonl file under the roots, in a stable order.

    Directories are walked recursively; hidden entries are passed over;
    symbolic links are followed only when they stay inside their root.
    """
    for root in roots:
        if not root.exists():
            yield Problem(str(root), "no such file or directory")
        elif root.is_file():
            yield _checked(root, root.name)
        else:
            yield from _walk(root)


def _walk(root: Path) -> Iterator[CorpusFile | Problem]:
    real_root = root.resolve()
    for directory, subdirs, files in os.walk(root, followlinks=True, onerror=None):
        here = Path(directory)
        if not here.resolve().is_relative_to(real_root):
            subdirs.clear()
            yield Problem(str(here), "link leads outside the corpus; not followed")
            continue
        if _revisits(here, real_root):
            subdirs.clear()
            yield Problem(str(here), "link loops back into the corpus; not followed")
            continue
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            path = here / name
            if name.startswith(".") or not name.lower().endswith(SUFFIXES):
                continue
            if not path.resolve().is_relative_to(real_root):
                yield Problem(str(path), "link leads outside the corpus; not read")
                continue
            yield _checked(path, path.relative_to(root).as_posix())


def _checked(path: Path, key: str) -> CorpusFile | Problem:
    """A file that can be read as a corpus file, or the reason it cannot."""
    if _undecodable(key):
        return Problem(_shown(path), "file name is not valid UTF-8; rename the file")
    try:
        mode = path.stat().st_mode
    except OSError as error:  # a dangling link, a file gone since the listing
        return Problem(str(path), f"cannot be read: {error.strerror or error}")
    if not stat.S_ISREG(mode):  # a FIFO would block the reader forever
        return Problem(str(path), "not a regular file")
    return CorpusFile(path, key)


def _undecodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shown(path: Path) -> str:
    """A path fit to print, with undecodable bytes as \\x escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _revisits(directory: Path, real_root: Path) -> bool:
    """True for a linked directory whose target is one of its own ancestors."""
    if not directory.is_symlink():
        return False
    target = directory.resolve()
    return any(parent.resolve() == target for parent in directory.parents) or target == real_root


def read_file(corpus_file: CorpusFile) -> Iterator[Article | Problem]:
    """The articles of one corpus file, and the problems met reading it."""
    try:
        if corpus_file.path.suffix.lower() == ".jsonl":
            yield from _read_jsonl(corpus_file)
        else:
            yield from _read_text_article(corpus_file)
    except OSError as error:
        yield Problem(str(corpus_file.path), f"cannot be read: {error.strerror or error}")


def decode(data: bytes) -> tuple[str, str | None]:
    """Text and, when it was not UTF-8, the encoding it was read with.

    UTF-8 (with or without a byte order mark) first; then Windows-1252, the
    usual encoding of older Western news text, when every byte is defined in
    it; then the encoding charset-normalizer finds most likely; and last
    Windows-1252 with undecodable bytes replaced. (charset-normalizer alone
    misreads short Western text: it takes a lone pound sign for Shift-JIS.)
    """
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(FALLBACK_ENCODING), FALLBACK_ENCODING
    except UnicodeDecodeError:
        pass
    guess = charset_normalizer.from_bytes(data).best()
    if guess is not None and guess.encoding not in ("utf_8", "ascii"):
        return str(guess), guess.encoding
    return data.decode(FALLBACK_ENCODING, errors="replace"), FALLBACK_ENCODING


def _read_text_article(corpus_file: CorpusFile) -> Iterator[Article | Problem]:
    origin = str(corpus_file.path)
    with corpus_file.path.open("rb") as f:
        data = f.read(MAX_ARTICLE_BYTES + 1)  # never the whole of a huge file
    if len(data) > MAX_ARTICLE_BYTES:
        yield Problem(origin, f"larger than {MAX_ARTICLE_BYTES // 2**20} MB; not indexed")
        return
    if not data.strip():
        yield Problem(origin, "no text")
        return
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        yield Problem(origin, "binary file, not text")
        return
    text, encoding = decode(data)
    if encoding:
        yield Problem(origin, f"not valid UTF-8; read as {encoding}", skipped=False)

    article_date = None
    match = _DATE_LINE.match(text)
    if match:
        try:
            article_date = parse_date(match.group(1))[1]
        except (ValueError, OverflowError):
            yield Problem(origin, f"date {match.group(1)!r} is not a date; ignored", skipped=False)
        text = text[match.end() :]

    title, body = _split_headline(text)
    paragraphs = split_paragraphs(body)
    if not paragraphs and not title:
        yield Problem(origin, "no text")
        return
    yield Article(
        id=corpus_file.id_stem,
        paragraphs=paragraphs,
        title=title or derive_title(paragraphs),
        title_derived=not title,
        date=article_date,
        origin=origin,
    )


def _split_headline(text: str) -> tuple[str, str]:
    """A short first line with no closing punctuation, then a blank line, is a headline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\n")
    first, newline, rest = text.partition("\n")
    headline = first.strip()
    if (
        newline
        and rest.lstrip(" \t").startswith("\n")
        and rest.strip()
        and 0 < len(headline) <= MAX_HEADLINE_CHARS
        and not headline.endswith(_CLOSING_PUNCTUATION)
    ):
        return " ".join(headline.split()), rest
    return "", text


def _read_jsonl(corpus_file: CorpusFile) -> Iterator[Article | Problem]:
    records = 0
    for number, raw in _lines(corpus_file.path):
        origin = f"{corpus_file.path}:{number}"
        if raw is None:
            yield Problem(origin, f"record larger than {MAX_ARTICLE_BYTES // 2**20} MB")
            continue
        if not raw.strip():
            continue
        records += 1
        text, encoding = decode(raw)
        if encoding:
            yield Problem(origin, f"not valid UTF-8; read as {encoding}", skipped=False)
        try:
            record = json.loads(text)
        except RecursionError:
            yield Problem(origin, "JSON nested too deeply")
            continue
        except ValueError as error:
            yield Problem(origin, f"not valid JSON ({error})")
            continue
        if "\\u" in text and _undecodable(json.dumps(record, ensure_ascii=False)):
            yield Problem(origin, "a \\uD800-\\uDFFF escape that is not a character")
            continue
        yield from _record_to_article(record, origin)
    if not records:
        yield Problem(str(corpus_file.path), "empty file: no records", skipped=False)


def _lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """(number, line) pairs, reading at most MAX_ARTICLE_BYTES of any line (None if longer)."""
    with path.open("rb") as f:
        number = 0
        while True:
            line = f.readline(MAX_ARTICLE_BYTES + 1)
            if not line:
                return
            number += 1
            if len(line) > MAX_ARTICLE_BYTES and not line.endswith(b"\n"):
                while (rest := f.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass  # skip the rest of the over-long line without holding it
                yield number, None
            else:
                yield number, line


def _record_to_article(record: object, origin: str) -> Iterator[Article | Problem]:
    if not isinstance(record, dict):
        yield Problem(origin, f"a JSON {type(record).__name__}, not an object")
        return
    article_id = record.get("id")
    if isinstance(article_id, int) and not isinstance(article_id, bool):
        article_id = str(article_id)
    if not isinstance(article_id, str) or not article_id.strip():
        yield Problem(origin, 'no "id" (a non-empty string is required)')
        return
    article_id = article_id.strip()

    body, paragraphs = record.get("body"), record.get("paragraphs")
    if isinstance(body, str):
        paragraphs = split_paragraphs(body)
    elif isinstance(paragraphs, list) and all(isinstance(p, str) for p in paragraphs):
        paragraphs = [p for part in paragraphs for p in split_paragraphs(part)]
    else:
        yield Problem(origin, f'id {article_id!r}: no "body" text or "paragraphs" list')
        return

    fields: dict[str, str | None] = {}
    for name in ("title", "source", "url", "author"):
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            yield Problem(origin, f"id {article_id!r}: {name} is not text; ignored", skipped=False)
            value = None
        fields[name] = " ".join(value.split()) if value else None

    article_date = None
    if record.get("date") not in (None, ""):
        try:
            article_date = parse_date(str(record["date"]))[1]
        except (ValueError, OverflowError):
            yield Problem(
                origin,
                f"id {article_id!r}: date {record['date']!r} is not ISO 8601; ignored",
                skipped=False,
            )

    if not paragraphs and not fields["title"]:
        yield Problem(origin, f"id {article_id!r}: no text")
        return
    yield Article(
        id=article_id,
        paragraphs=paragraphs,
        title=fields["title"] or derive_title(paragraphs),
        title_derived=not fields["title"],
        date=article_date,
        source=fields["source"],
        url=fields["url"],
        author=fields["author"],
        extra={k: v for k, v in record.items() if k not in _KNOWN_FIELDS},
        origin=origin,
    )
