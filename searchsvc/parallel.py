"""The paragraph index's writer, in a second process once a reindex is big enough.

A full build analyses every word twice (article index and paragraph index),
and Whoosh is pure Python, so one process uses one core. The reindex hands
paragraph work to a child process that writes the paragraph index while the
parent writes the article index. Small runs (an incremental update, a test
corpus) never pay for a process start: work is buffered and written in the
parent unless it grows past `PARALLEL_MIN_PARAGRAPHS`.

Memory stays bounded: operations cross a pipe in batches, and a full pipe
blocks the parent until the child catches up.
"""

from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path

from whoosh import index as whoosh_index

from searchsvc.schema import paragraph_schema

PARALLEL_MIN_PARAGRAPHS = 5_000  # below this a child process costs more than it saves
BATCH_OPERATIONS = 256  # operations per message to the child

# ("add", article_id, [paragraph, ...]) or ("delete", article_id)
Operation = tuple


def open_writer(directory: Path, create: bool, limitmb: int):
    if create:
        directory.mkdir(exist_ok=True)
        ix = whoosh_index.create_in(str(directory), paragraph_schema())
    else:
        ix = whoosh_index.open_dir(str(directory))
    return ix.writer(limitmb=limitmb)


def apply(writer, operation: Operation) -> int:
    """Apply one operation; returns the number of paragraphs deleted."""
    if operation[0] == "delete":
        return writer.delete_by_term("article_id", operation[1])
    _, article_id, paragraphs = operation
    for paragraph in paragraphs:
        writer.add_document(article_id=article_id, text=paragraph)
    return 0


class ParagraphWriter:
    """Writes the paragraph index: in this process for small runs, else in a child."""

    def __init__(self, directory: Path, create: bool, limitmb: int):
        self.directory, self.create, self.limitmb = directory, create, limitmb
        self.pending: list[Operation] = []
        self.pending_paragraphs = 0
        self.deleted = 0
        self.process = None
        self.connection = None
        self.batch: list[Operation] = []

    def add(self, article_id: str, paragraphs: list[str]) -> None:
        self._queue(("add", article_id, list(paragraphs)), len(paragraphs))

    def delete(self, article_id: str) -> None:
        self._queue(("delete", article_id), 0)

    def _queue(self, operation: Operation, paragraphs: int) -> None:
        if self.process is not None:
            self.batch.append(operation)
            if len(self.batch) >= BATCH_OPERATIONS:
                self._send_batch()
            return
        self.pending.append(operation)
        self.pending_paragraphs += paragraphs
        if self.pending_paragraphs >= PARALLEL_MIN_PARAGRAPHS:
            self._start_child()

    def _start_child(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process holding locks
        self.connection, child_end = context.Pipe()
        self.process = context.Process(
            target=_child_main,
            args=(child_end, str(self.directory), self.create, self.limitmb),
            name="searchsvc-paragraphs",
            daemon=True,
        )
        self.process.start()
        child_end.close()
        self.batch, self.pending = self.pending, []
        self._send_batch()

    def _send_batch(self) -> None:
        self._send(("ops", self.batch))
        self.batch = []

    def _send(self, message) -> None:
        try:
            self.connection.send(message)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            self._raise_child_failure()

    def _raise_child_failure(self):
        try:
            reply = self.connection.recv() if self.connection.poll(5) else None
        except (EOFError, OSError):
            reply = None
        self._stop()
        detail = reply[1] if reply and reply[0] == "error" else "it exited unexpectedly"
        raise RuntimeError(f"paragraph index writer failed: {detail}")

    def commit(self, then=None) -> int:
        """Commit the paragraph index, running `then()` meanwhile; returns paragraphs deleted."""
        if self.process is None:
            writer = open_writer(self.directory, self.create, self.limitmb)
            try:
                deleted = sum(apply(writer, op) for op in self.pending)
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            self.pending = []
            if then is not None:
                then()
            return deleted
        if self.batch:
            self._send_batch()
        self._send(("commit",))
        if then is not None:
            then()  # e.g. the article index's own commit, on the other core
        try:
            reply = self.connection.recv()
        except (EOFError, OSError):
            reply = ("error", "it exited unexpectedly")
        self._stop()
        if reply[0] != "committed":
            raise RuntimeError(f"paragraph index writer failed: {reply[1]}")
        return reply[1]

    def cancel(self) -> None:
        """Abandon everything written so far (the generation directory is discarded)."""
        self.pending, self.batch = [], []
        if self.process is not None:
            try:
                self.connection.send(("cancel",))
            except OSError:
                pass
            self._stop()

    def _stop(self) -> None:
        if self.process is None:
            return
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.connection.close()
        self.process = None


def _child_main(connection, directory: str, create: bool, limitmb: int) -> None:
    writer = None
    try:
        writer = open_writer(Path(directory), create, limitmb)
        deleted = 0
        while True:
            message = connection.recv()
            if message[0] == "ops":
                for operation in message[1]:
                    deleted += apply(writer, operation)
            elif message[0] == "commit":
                writer.commit()
                connection.send(("committed", deleted))
                return
            else:  # cancel
                writer.cancel()
                return
    except EOFError:  # the parent went away: leave nothing half-written behind
        if writer is not None:
            writer.cancel()
    except BaseException as error:
        if writer is not None:
            writer.cancel()
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        try:
            connection.send(("error", detail))
        except OSError:
            pass
    finally:
        connection.close()
