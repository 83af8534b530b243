"""Corpus readers: plain-text articles and JSON Lines files -> Article records.

Readers know nothing of the index. Every file yields articles and problems;
a problem names where it happened and why, and never stops the rest.
"""

from __future__ import annotations

import codecs
import errno
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from searchsvc.model.articles import Article, derive_title, parse_date, split_paragraphs

SUFFIXES = (".txt", ".jsonl")
MAX_ARTICLE_BYTES = 10 * 1024 * 1024
MAX_HEADLINE_CHARS = 150
FALLBACK_ENCODING = "cp1252"
# UTF-32's marks first: UTF-32-LE's begins with UTF-16-LE's.
_MARKED = (
    ("utf-32", (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)),
    ("utf-16", (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)),
)
_UNICODE_MARKS = tuple(mark for _encoding, marks in _MARKED for mark in marks)

_DATE_LINE = re.compile(r"\A\ufeff?[ \t]*date[ \t]+(\d{4}(?:-\d{1,2}(?:-\d{1,2})?)?)\b[ \t]*", re.I)
_CLOSING_PUNCTUATION = tuple(".!?:;,…\"'”’)]")
_KNOWN_FIELDS = {"id", "title", "date", "source", "url", "author", "body", "paragraphs"}
# To find the "id" of a record that is not valid JSON (cut short, a stray quote): its
# strings and brackets, so that only the record's own "id" counts, not a nested one.
_JSON_TOKENS = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{\[]|[}\]]|[^"{}\[\]]+|"')
_ID_VALUE = re.compile(r'\s*:\s*("(?:[^"\\\n]|\\.)*"|-?\d+(?=\s*[,}]))')
SNIFF_CHARS = 64 * 1024  # of an over-long record, the part searched for its id


@dataclass(frozen=True)
class Problem:
    origin: str
    reason: str
    skipped: bool = True  # False: read, with a caveat worth telling the operator
    article_id: str | None = None  # whose record was skipped, when that can be told

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    key: str  # stable name: the path relative to its corpus root, "/"-separated

    @property
    def id_stem(self) -> str:
        return self.key.rsplit(".", 1)[0]


@dataclass(frozen=True)
class Unreachable(Problem):
    """A corpus file that is there but cannot be looked at now (a permission, an I/O
    error): the indexer keeps what it indexed from it, in its place in the order."""

    file: CorpusFile | None = None


# A path's entry that is not there (gone, a dangling or looping link): nothing to keep.
_ABSENT = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)
Remembered = Callable[[Path], Iterable[Path]]  # a real folder -> real paths of files once in it


def discover(
    roots: Iterable[Path], remembered: Remembered | None = None
) -> Iterator[CorpusFile | Problem]:
    """Every .txt and .jsonl file under the roots: root by root, each by its key's order.

    Directories are walked recursively; hidden entries are passed over. A link
    is followed only when it stays inside its root and leads where the walk does
    not go by itself (a hidden folder, a file without a corpus suffix): a file is
    read once, under its own name, and every other way to it is reported. A
    folder that cannot be listed is reported, and the files `remembered` names
    in it are still read by their paths. The order decides which copy of a
    duplicated id is indexed, so it depends on nothing but the names: code point
    order of the path inside the root.
    """
    for root in roots:
        try:
            is_dir = stat.S_ISDIR(root.stat().st_mode)
        except OSError as error:  # not there, or in a folder this user cannot search
            absent = error.errno in _ABSENT
            yield Problem(str(root), "no such file or directory" if absent else _cannot(error))
            continue
        if is_dir:
            yield from _walk(root, remembered or (lambda _folder: ()))
        else:
            yield _checked(root, root.name)


def _walk(root: Path, remembered: Remembered) -> Iterator[CorpusFile | Problem]:
    found = []
    for item in _walk_unsorted(root, remembered):
        if isinstance(item, CorpusFile | Unreachable):
            found.append(item)
        else:
            yield item
    yield from sorted(found, key=_key)


def _key(item: CorpusFile | Unreachable) -> str:
    return item.key if isinstance(item, CorpusFile) else item.file.key


def _walk_unsorted(root: Path, remembered: Remembered) -> Iterator[CorpusFile | Problem]:
    real_root = _real(root)
    unlisted: list[OSError] = []
    walked: dict[Path, Path] = {}  # real folder -> the path it was walked by
    for directory, subdirs, files in os.walk(root, followlinks=True, onerror=unlisted.append):
        here = Path(directory)
        real = _real(here)
        if not real.is_relative_to(real_root):
            subdirs.clear()
            yield Problem(str(here), "link leads outside the corpus; not followed")
            continue
        if _revisits(here, root, real_root):
            subdirs.clear()
            yield Problem(str(here), "link loops back into the corpus; not followed")
            continue
        if (alias := _alias_of(here, real, root, real_root)) or real in walked:
            subdirs.clear()
            shown = alias or walked[real]
            yield Problem(str(here), f"a link to the folder {shown}, read there; not read twice")
            continue
        walked[real] = here
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            path = here / name
            if name.startswith(".") or not name.lower().endswith(SUFFIXES):
                continue
            real_file = _real(path)
            if not real_file.is_relative_to(real_root):
                yield Problem(str(path), "link leads outside the corpus; not read")
            elif (alias := _alias_of(path, real_file, root, real_root)) and _listed(
                alias, real_file
            ):
                yield Problem(str(path), f"a link to {alias}, read there; not read twice")
            else:
                yield _checked(path, path.relative_to(root).as_posix())
    for error in unlisted:
        yield from _unlisted(Path(error.filename), error, root, real_root, remembered)


def _unlisted(here: Path, error: OSError, root: Path, real_root: Path, remembered: Remembered):
    """A folder that cannot be listed: reported, and the files once in it looked up by name."""
    real = _real(here)
    if not real.is_relative_to(real_root):
        yield Problem(str(here), "link leads outside the corpus; not followed")
        return
    reason = error.strerror or str(error)
    yield Problem(
        str(here), f"folder cannot be listed: {reason}; files indexed from it before are read, "
        "new ones are not seen"
    )  # fmt: skip
    for real_file in sorted(remembered(real)):
        path = here / real_file.relative_to(real)
        item = _checked(path, path.relative_to(root).as_posix(), absent=None)
        if item is not None:  # else it is gone: nothing to read or keep
            yield item


def _alias_of(path: Path, real: Path, root: Path, real_root: Path) -> str | None:
    """Where a path reached through a link is found by the walk itself, if it is."""
    inside = real.relative_to(real_root)
    if path.relative_to(root) == inside or any(p.startswith(".") for p in inside.parts):
        return None
    return inside.as_posix()


def _listed(relative: str, real: Path) -> bool:
    """True if the walk lists this file by its own name (it is there, a corpus file)."""
    return relative.lower().endswith(SUFFIXES) and os.path.lexists(real)


def _real(path: Path) -> Path:
    """The path with every link resolved; never raises (a looping link stays as it is)."""
    return Path(os.path.realpath(path))


def _checked(path: Path, key: str, absent: object = ...) -> CorpusFile | Problem | None:
    """A file that can be read as a corpus file, or the reason it cannot; `absent` (if
    given) for one that is not there."""
    if _undecodable(key):
        return Problem(_shown(path), "file name is not valid UTF-8; rename the file")
    try:
        mode = path.stat().st_mode
    except OSError as error:
        reason = _cannot(error)
        if error.errno not in _ABSENT:  # there, but not to be looked at now
            return Unreachable(str(path), reason, file=CorpusFile(path, key))
        # A dangling link, or a file gone since the listing.
        return Problem(str(path), reason) if absent is ... else absent
    if not stat.S_ISREG(mode):  # a FIFO would block the reader forever
        return Problem(str(path), "not a regular file")
    return CorpusFile(path, key)


def _cannot(error: OSError) -> str:
    return f"cannot be read: {error.strerror or error}"


def _undecodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shown(path: Path) -> str:
    """A path fit to print, with undecodable bytes as \\x escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _revisits(directory: Path, root: Path, real_root: Path) -> bool:
    """True for a linked directory whose target is one of its own ancestors in the walk."""
    if not directory.is_symlink():
        return False
    target = _real(directory)
    # Only the walk's own folders: a root given as "a/b/.." has "a/b" above it, not in it.
    walked = (parent for parent in directory.parents if parent.is_relative_to(root))
    return target == real_root or any(_real(parent) == target for parent in walked)


def read_file(corpus_file: CorpusFile) -> Iterator[Article | Problem]:
    """The articles of one corpus file, and the problems met reading it."""
    try:
        yield from iter_file(corpus_file)
    except OSError as error:
        yield Problem(str(corpus_file.path), f"cannot be read: {error.strerror or error}")


def iter_file(corpus_file: CorpusFile, digest=None) -> Iterator[Article | Problem]:
    """As read_file, but raises OSError; `digest` (a hashlib object) gets every byte read.

    The digest covers the whole file as this reader saw it, to its end, so
    comparing it with a hash taken before or after tells a consistent read
    from one that raced a writer.
    """
    with _opened(corpus_file.path, digest) as f:
        if corpus_file.path.suffix.lower() == ".jsonl":
            yield from _read_jsonl(corpus_file, f)
        else:
            yield from _read_text_article(corpus_file, f)


@contextmanager
def _opened(path: Path, digest):
    with path.open("rb") as raw:
        if digest is None:
            yield raw
            return
        yield _Hashing(raw, digest)
        while chunk := raw.read(1 << 20):  # what the reader left unread is part of the file
            digest.update(chunk)


class _Hashing:
    """A binary file whose reads also go into a digest."""

    def __init__(self, raw, digest):
        self.raw, self.digest = raw, digest

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self.raw.readline(size)
        self.digest.update(data)
        return data


def decode(data: bytes) -> tuple[str, str | None]:
    """Text and, when it was not UTF-8, the encoding it was read with.

    UTF-8 (with or without a byte order mark) first; UTF-16 or UTF-32 when a byte
    order mark says so; then Windows-1252, the
    usual encoding of older Western news text, when every byte is defined in
    it; then the encoding charset-normalizer finds most likely; and last
    Windows-1252 with undecodable bytes replaced. (charset-normalizer alone
    misreads short Western text: it takes a lone pound sign for Shift-JIS.)
    """
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    for encoding, marks in _MARKED:  # what Windows' editors save as "Unicode"
        if data.startswith(marks):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                break
    try:
        return data.decode(FALLBACK_ENCODING), FALLBACK_ENCODING
    except UnicodeDecodeError:
        pass
    guess = charset_normalizer.from_bytes(data).best()
    if guess is not None and guess.encoding not in ("utf_8", "ascii"):
        return str(guess), guess.encoding
    return data.decode(FALLBACK_ENCODING, errors="replace"), FALLBACK_ENCODING


def _read_text_article(corpus_file: CorpusFile, f) -> Iterator[Article | Problem]:
    origin, article_id = str(corpus_file.path), corpus_file.id_stem
    data = f.read(MAX_ARTICLE_BYTES + 1)  # never the whole of a huge file
    if len(data) > MAX_ARTICLE_BYTES:
        limit = MAX_ARTICLE_BYTES // 2**20
        yield Problem(origin, f"larger than {limit} MB; not indexed", article_id=article_id)
        return
    if not data.strip():
        yield Problem(origin, "no text", article_id=article_id)
        return
    if b"\x00" in data[:8192] and not data.startswith(_UNICODE_MARKS):
        yield Problem(origin, "binary file, not text", article_id=article_id)
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
        yield Problem(origin, "no text", article_id=article_id)
        return
    yield Article(
        id=article_id,
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


def _read_jsonl(corpus_file: CorpusFile, f) -> Iterator[Article | Problem]:
    records = 0
    for number, raw, whole in _lines(f):
        origin = f"{corpus_file.path}:{number}"
        if not whole:
            limit = MAX_ARTICLE_BYTES // 2**20
            legible = _legible_id(raw[:SNIFF_CHARS].decode("utf-8", "replace"))
            yield Problem(origin, f"record larger than {limit} MB", article_id=legible)
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
            yield Problem(origin, "JSON nested too deeply", article_id=_legible_id(text))
            continue
        except ValueError as error:
            yield Problem(origin, f"not valid JSON ({error})", article_id=_legible_id(text))
            continue
        if "\\u" in text and _undecodable(json.dumps(record, ensure_ascii=False)):
            reason = "a \\uD800-\\uDFFF escape that is not a character"
            yield Problem(origin, reason, article_id=_legible_id(text))
            continue
        yield from _record_to_article(record, origin)
    if not records:
        yield Problem(str(corpus_file.path), "empty file: no records", skipped=False)


def _legible_id(text: str) -> str | None:
    """The id a broken record was given, read as a valid record's would be; None if unclear.

    The record's own "id", not one of an object nested in it; the last one, as
    json.loads keeps the last of a repeated key.
    """
    depth, found = 0, None
    for token in _JSON_TOKENS.finditer(text):
        first = token.group()[0]
        if first in "{[":
            depth += 1
        elif first in "}]":
            depth -= 1
        elif depth == 1 and token.group() == '"id"':
            found = _ID_VALUE.match(text, token.end()) or found
    if found is None:
        return None
    try:
        value = json.loads(found.group(1))
    except ValueError:
        return None
    value = str(value).strip()
    return value if value and not _undecodable(value) else None


def _lines(f) -> Iterator[tuple[int, bytes, bool]]:
    """(number, line, whole) triples; of a line over MAX_ARTICLE_BYTES, only its start."""
    number = 0
    while True:
        line = f.readline(MAX_ARTICLE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_ARTICLE_BYTES and not line.endswith(b"\n"):
            while (rest := f.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass  # skip the rest of the over-long line without holding it
            yield number, line[:SNIFF_CHARS], False
        else:
            yield number, line, True


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
        if paragraphs not in (None, [], ""):
            reason = f'id {article_id!r}: both "body" and "paragraphs"; "paragraphs" ignored'
            yield Problem(origin, reason, skipped=False)
        paragraphs = split_paragraphs(body)
    elif isinstance(paragraphs, list) and all(isinstance(p, str) for p in paragraphs):
        paragraphs = [p for part in paragraphs for p in split_paragraphs(part)]
    else:
        reason = f'id {article_id!r}: no "body" text or "paragraphs" list'
        yield Problem(origin, reason, article_id=article_id)
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
        yield Problem(origin, f"id {article_id!r}: no text", article_id=article_id)
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
