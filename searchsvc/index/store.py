"""The index directory: immutable generations, the CURRENT pointer, the writer lock.

Layout::

    index/
      CURRENT            name of the generation readers use
      .reindex.lock      held by the one reindex allowed at a time
      gen-<time>-<rand>/ one generation, written once:
        articles/ paragraphs/   the two Whoosh indexes (schema.py, codec.py)
        info.json               counts and build time (health, feeds)
        manifest.json           per corpus file: size, time, hash, its records (indexer.py)
        terms.json              word -> stem as the build analysed them (text/analysis.py)
        words.json              unstemmed word counts: spelling, completion (words.py)
        signatures.npz          a MinHash signature per article (duplicates.py)
        stories.json            near-duplicate groups: representative id -> ids

A reindex builds a new generation beside the current one (hard links to the
current one's files for an incremental run: Whoosh never rewrites a file),
then replaces CURRENT in one rename. Readers never see a half-built index;
a run that fails removes its generation, and one killed leaves an orphan
that the next reindex deletes before it starts.

For crash tests, SEARCHSVC_PAUSE_AT=<point> makes a reindex stop at that point
(see CHECKPOINTS) for SEARCHSVC_PAUSE_SECONDS (default 120), after creating the
file named by SEARCHSVC_PAUSE_FILE, so a test can kill it there with a real
signal or hold the lock for a known time. Unset, it costs one dict lookup.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import pickle
import secrets
import shutil
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import filelock
from whoosh import index as whoosh_index

from searchsvc.model.errors import IndexIncompatible, IndexMissing  # noqa: F401 (raised here)

POINTER = "CURRENT"
LOCK = ".reindex.lock"
PREFIX = "gen-"
KEEP_PREVIOUS = 2  # generations kept after a swap, for servers still reading them
CHECKPOINTS = ("locked", "generation", "json", "pointer", "swapped")
PAUSE_SECONDS = 120


class ReindexBusy(Exception):
    """Another reindex holds the lock."""


class ReindexFailed(Exception):
    """A reindex stopped by an error (writing the index on a full disk, a corpus path it
    may not look at); the message is one line, and the index served before still serves."""

    @classmethod
    def because(cls, index_dir: Path, error: BaseException, served: str | None) -> ReindexFailed:
        if isinstance(error, OSError) and error.strerror:
            reason = error.strerror + (f": {error.filename}" if error.filename else "")
        else:
            reason = " ".join(str(error).split()) or type(error).__name__
        now = pointer_name(index_dir)
        if now is None:
            outcome = "there is no index yet"
        elif now == served:
            outcome = f"{index_dir} still serves the index it served before"
        else:
            outcome = f"{index_dir} serves the new index"
        return cls(f"reindex failed: {reason}; {outcome}")


@dataclass(frozen=True)
class Generation:
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def articles_dir(self) -> Path:
        return self.path / "articles"

    @property
    def paragraphs_dir(self) -> Path:
        return self.path / "paragraphs"

    def info(self) -> dict:
        return json.loads((self.path / "info.json").read_text("utf-8"))

    def manifest(self) -> dict:
        return json.loads((self.path / "manifest.json").read_text("utf-8"))

    def open_indexes(self):
        """(article index, paragraph index), opened for reading.

        Whoosh unpickles the schema, analyzer included, on opening; an index
        written with analysis classes this version no longer has cannot be read.
        """
        # Whoosh leaves its table-of-contents file open when unpickling fails; the
        # file is freed with the traceback, and is not worth a warning then.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                return (
                    whoosh_index.open_dir(str(self.articles_dir)),
                    whoosh_index.open_dir(str(self.paragraphs_dir)),
                )
            except (AttributeError, ImportError, pickle.UnpicklingError, EOFError) as error:
                reason = str(error)
            gc.collect()
        raise IndexIncompatible(
            f"the index in {self.path.parent} was built by another version of searchsvc "
            f"({reason}); rebuild it with `searchsvc reindex --full`"
        )


def pointer_state(index_dir: Path) -> tuple[int, int] | None:
    """Cheap fingerprint of CURRENT; it changes whenever a new generation is swapped in."""
    try:
        stat = (index_dir / POINTER).stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def pointer_name(index_dir: Path) -> str | None:
    """The generation name CURRENT holds, as written; None when there is none."""
    try:
        return (index_dir / POINTER).read_text("utf-8").strip()
    except OSError:
        return None


def current_generation(index_dir: Path) -> Generation:
    try:
        name = (index_dir / POINTER).read_text("utf-8").strip()
    except FileNotFoundError:
        raise IndexMissing(f"no index in {index_dir}; run `searchsvc reindex` first") from None
    generation = Generation(index_dir / name)
    if not name.startswith(PREFIX) or not (generation.path / "info.json").exists():
        raise IndexMissing(f"{index_dir / POINTER} names no complete index ({name!r})")
    return generation


def has_index(index_dir: Path) -> bool:
    try:
        current_generation(index_dir)
    except IndexMissing:
        return False
    return True


@contextmanager
def writer_lock(index_dir: Path, timeout: float):
    """Hold the one reindex lock; the OS releases it if the holder dies."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(index_dir / LOCK), timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        waited = f" after waiting {timeout:g} s" if timeout else ""
        raise ReindexBusy(
            f"another reindex is running on {index_dir}{waited}; "
            "try again when it ends, or pass --lock-timeout to wait"
        ) from None
    try:
        checkpoint("locked")
        yield
    finally:
        lock.release()


def checkpoint(point: str) -> None:
    """Pause here when a crash test asks to (SEARCHSVC_PAUSE_AT); otherwise nothing."""
    if os.environ.get("SEARCHSVC_PAUSE_AT") != point:
        return
    if multiprocessing.parent_process() is not None:
        # The article writer's process inherits the setting: were it to pause first, the
        # test would kill the command while the writer slept and the run went on.
        return
    marker = os.environ.get("SEARCHSVC_PAUSE_FILE")
    if marker:
        Path(marker).write_text(f"{os.getpid()} {point}\n", encoding="utf-8")
    time.sleep(float(os.environ.get("SEARCHSVC_PAUSE_SECONDS", PAUSE_SECONDS)))


def new_generation(index_dir: Path, base: Generation | None) -> Generation:
    """A fresh generation directory; a copy of `base` made of hard links if given."""
    generation = Generation(index_dir / f"{PREFIX}{_stamp(index_dir)}-{secrets.token_hex(3)}")
    try:
        if base is None:
            generation.path.mkdir(parents=True)
        else:
            # Not Whoosh's lock files: a link would share one lock between two generations.
            shutil.copytree(
                base.path,
                generation.path,
                copy_function=_link_or_copy,
                ignore=shutil.ignore_patterns("*_WRITELOCK"),
            )
            for name in ("info.json", "manifest.json"):
                (generation.path / name).unlink(missing_ok=True)
        checkpoint("generation")
    except BaseException:
        discard(generation)
        raise
    return generation


def discard(generation: Generation) -> None:
    """Delete a generation that will never be served (its run failed); never raises."""
    try:
        (generation.path / "info.json").unlink(missing_ok=True)
    except OSError:
        pass  # rmtree takes it; this only makes a deletion cut short look incomplete
    shutil.rmtree(generation.path, ignore_errors=True)


def clean_up(index_dir: Path) -> None:
    """Remove what killed runs left (orphan generations, pointer files); hold the lock."""
    if index_dir.is_dir():
        remove_stale(index_dir, keep=pointer_name(index_dir))


def _stamp(index_dir: Path) -> str:
    """A name part that sorts after every existing generation's, even within one second
    or when the clock steps back: clean-up keeps generations by name order."""
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9)) + f".{now % 10**9:09d}"
    existing = [p.name[len(PREFIX) :].rsplit("-", 1)[0] for p in index_dir.glob(PREFIX + "*")]
    latest = max(existing, default="")
    if stamp <= latest:
        stamp = latest + "1"  # still sorts after it, and stays unique
    return stamp


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def write_json(path: Path, data: dict, ascii_only: bool = False) -> None:
    """Write a file whole or not at all; `ascii_only` escapes all else (lone surrogates too)."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as f:
        json.dump(data, f, ensure_ascii=ascii_only)
        f.flush()
        os.fsync(f.fileno())
    checkpoint("json")
    os.replace(f.name, path)


def read_json(path: Path) -> dict | None:
    """A JSON object saved by write_json; None when missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def swap_in(index_dir: Path, generation: Generation) -> None:
    """Make `generation` the one readers open, atomically, then drop old ones."""
    _fsync_tree(generation.path)
    try:
        previous = (index_dir / POINTER).read_text("utf-8").strip()
    except FileNotFoundError:
        previous = None
    with tempfile.NamedTemporaryFile("w", dir=index_dir, prefix=".pointer-", delete=False) as f:
        try:
            f.write(generation.name + "\n")
            f.flush()
            os.fsync(f.fileno())
            checkpoint("pointer")
            os.replace(f.name, index_dir / POINTER)
        except BaseException:  # a full disk: nothing of the failed run is left
            Path(f.name).unlink(missing_ok=True)
            raise
    _fsync_dir(index_dir)
    checkpoint("swapped")
    remove_stale(index_dir, keep=generation.name, previous=previous)


def remove_stale(index_dir: Path, keep: str | None, previous: str | None = None) -> None:
    """Delete orphan generations and leftovers; call only while holding the lock.

    Kept: `keep`, the one it replaced (`previous`: servers may be mid-request on
    it, even when killed runs left complete but never-served generations since),
    and the newest KEEP_PREVIOUS older complete ones.
    """
    generations = sorted(p for p in index_dir.glob(PREFIX + "*") if p.is_dir())
    live = [p for p in generations if p.name in (keep, previous)]
    older = [p for p in generations if keep is None or p.name < keep]
    survivors = {p.name for p in live + older[-KEEP_PREVIOUS:] if (p / "info.json").exists()}
    for path in generations:
        if path.name not in survivors:
            # info.json goes first, so a deletion cut short never looks like a whole index.
            (path / "info.json").unlink(missing_ok=True)
            shutil.rmtree(path, ignore_errors=True)
    for leftover in index_dir.glob(".pointer-*"):
        leftover.unlink(missing_ok=True)


def _fsync_tree(root: Path) -> None:
    for directory, _subdirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(directory))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
