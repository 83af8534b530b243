"""The article index's writer, in a second process once a reindex is big enough.

Whoosh is pure Python, so one process uses one core. A full build writes two
indexes; the article index (headlines, text with positions, stored records)
goes to a child process while the parent reads the corpus and writes the
paragraph index, which on Reuters splits the work about evenly between the
two cores. Small runs (an incremental update, a test corpus) never pay for a
process start: work is buffered and written in the parent unless it grows
past `PARALLEL_MIN_OPERATIONS`.

Memory stays bounded: operations cross a pipe in batches, through an outbox
of at most `OUTBOX_BATCHES` batches that blocks the parent when full. The
outbox is deep enough that neither side waits while the other closes a
segment (a few seconds each), which a bare pipe's 64 KB could not cover.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import traceback
from pathlib import Path

from searchsvc.index.segments import SegmentedWriter
from searchsvc.text.analysis import load_term_table, term_table

PARALLEL_MIN_OPERATIONS = 1_000  # below this a child process costs more than it saves
BATCH_OPERATIONS = 64  # operations per message to the child
OUTBOX_BATCHES = 64  # batches waiting to be sent: about 20 MB of news text
PUMP_JOIN_SECONDS = 30  # longest wait for a last send before the child is stopped

# ("add", {field: value}) or ("delete", fieldname, text)
Operation = tuple


class WriterFailed(RuntimeError):
    """The writer process failed (its reason is in the message) or could not be reached."""


def apply(writer: SegmentedWriter, operation: Operation) -> None:
    if operation[0] == "delete":
        writer.delete_by_term(operation[1], operation[2])
    else:
        writer.add_document(**operation[1])


class BackgroundWriter:
    """Writes one index: in this process for small runs, else in a child process."""

    def __init__(self, directory: Path, limitmb: int, name: str):
        self.directory, self.limitmb = directory, limitmb
        self.name = name  # for messages: "article index"
        self.pending: list[Operation] = []
        self.process = None
        self.connection = None
        self.batch: list[Operation] = []
        self.outbox: queue.Queue = queue.Queue(maxsize=OUTBOX_BATCHES)
        self.pump: threading.Thread | None = None
        self.pump_error: BaseException | None = None

    def add_document(self, **fields) -> None:
        self._queue(("add", fields))

    def delete_by_term(self, fieldname: str, text: str) -> None:
        self._queue(("delete", fieldname, text))

    def _queue(self, operation: Operation) -> None:
        if self.process is not None:
            self.batch.append(operation)
            if len(self.batch) >= BATCH_OPERATIONS:
                self._send_batch()
            return
        self.pending.append(operation)
        if len(self.pending) >= PARALLEL_MIN_OPERATIONS:
            self._start_child()

    def _start_child(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process holding locks
        self.connection, child_end = context.Pipe()
        self.process = context.Process(
            target=_child_main,
            args=(child_end, str(self.directory), self.limitmb),
            name="searchsvc-writer",
            daemon=True,
        )
        self.process.start()
        child_end.close()
        self.pump = threading.Thread(target=self._pump, name="searchsvc-writer-pump", daemon=True)
        self.pump.start()
        self.batch, self.pending = self.pending, []
        self._send_batch()

    def _pump(self) -> None:
        """Send the outbox's messages in order, until None or an error (kept for the parent)."""
        while (message := self.outbox.get()) is not None:
            try:
                self.connection.send(message)
            except BaseException as error:  # a broken pipe, or a value that cannot be pickled
                self.pump_error = error
                return

    def _send_batch(self) -> None:
        self._send(("ops", self.batch))
        self.batch = []

    def _send(self, message) -> None:
        while True:
            if self.pump_error is not None or not self.pump.is_alive():
                self._raise_child_failure()
            try:
                self.outbox.put(message, timeout=0.5)
                return
            except queue.Full:
                continue

    def _stop_pump(self) -> None:
        """Let the pump send what is queued (or drop it, if the pipe broke), then end it."""
        if self.pump is None:
            return
        while self.pump.is_alive():
            try:
                self.outbox.put(None, timeout=0.5)
                break
            except queue.Full:
                continue
        self.pump.join(timeout=PUMP_JOIN_SECONDS)
        if self.pump.is_alive():  # blocked on a child that no longer reads: stop the child
            self.process.terminate()
            self.pump.join()
        self.pump = None

    def _raise_child_failure(self):
        error = self.pump_error
        self._drop_outbox()
        try:
            # A child that failed sent its reason before exiting.
            reply = self.connection.recv() if self.connection.poll(1) else None
        except (EOFError, OSError):
            reply = None
        self.process.terminate()  # a failed send leaves it waiting for more
        self._stop()
        if reply and reply[0] == "error":
            detail = reply[1]
        elif error is not None and not isinstance(error, (OSError, EOFError)):
            detail = f"cannot send it a document: {error!r}"
        else:
            detail = "it exited unexpectedly"
        raise WriterFailed(f"{self.name} writer failed: {detail}")

    def commit(self, then=None) -> None:
        """Commit the index, running `then()` meanwhile (on the other core, in a child)."""
        if self.process is None:
            writer = SegmentedWriter.open(str(self.directory), self.limitmb)
            try:
                for operation in self.pending:
                    apply(writer, operation)
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            self.pending = []
            if then is not None:
                then()
            return
        if self.batch:
            self._send_batch()
        self._send(("commit",))
        if then is not None:
            then()
        self._stop_pump()
        if self.pump_error is not None:
            self._raise_child_failure()
        reply = self._reply()
        self._stop()
        if reply[0] != "committed":
            raise WriterFailed(f"{self.name} writer failed: {reply[1]}")
        # What the child stemmed (headlines this process never analyses), for terms.json.
        load_term_table(reply[1])

    def _reply(self):
        """The child's answer to "commit"; an error reply if it exits without one."""
        try:
            while not self.connection.poll(1.0):
                if not self.process.is_alive() and not self.connection.poll(0):
                    return ("error", "it exited unexpectedly")
            return self.connection.recv()
        except (EOFError, OSError):
            return ("error", "it exited unexpectedly")

    def cancel(self) -> None:
        """Abandon everything written so far (the generation directory is discarded)."""
        self.pending, self.batch = [], []
        if self.process is not None:
            self._drop_outbox()
            try:
                self.connection.send(("cancel",))
            except OSError:
                pass
            self._stop()

    def _drop_outbox(self) -> None:
        while True:
            try:
                self.outbox.get_nowait()
            except queue.Empty:
                break
        self._stop_pump()

    def _stop(self) -> None:
        if self.process is None:
            return
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.connection.close()
        self.process = None


def _child_main(connection, directory: str, limitmb: int) -> None:
    writer = None
    try:
        writer = SegmentedWriter.open(directory, limitmb)
        while True:
            message = connection.recv()
            if message[0] == "ops":
                for operation in message[1]:
                    apply(writer, operation)
            elif message[0] == "commit":
                writer.commit()
                connection.send(("committed", term_table()))
                return
            else:  # cancel
                writer.cancel()
                return
    except EOFError:  # the parent went away: leave nothing half-written behind
        if writer is not None:
            writer.cancel()
    except BaseException as error:
        if writer is not None:
            writer.cancel()  # never raises: a closed writer is left alone
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        try:
            connection.send(("error", detail))
        except OSError:
            pass
    finally:
        connection.close()
