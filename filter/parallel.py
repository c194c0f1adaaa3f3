"""Chunks of records scored by N worker processes, results yielded in input order.

Each worker loads the model once (the pool's initializer) and scores whole chunks, so
what crosses the process boundary is raw lines in and JSON lines out. At most
``window`` chunks are in flight: the input is read only as fast as the workers score it,
so memory stays flat however large the input is.

A worker that dies (killed, out of memory) takes its chunks with it; the pool is
restarted and those chunks are sent again. A chunk that kills a worker twice comes back
as error records, one per input record: the run goes on and nothing is silently lost.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .artifact import keep_pandas_out
from .batch import Chunk, Payload, Tally, Task, dumps, score_chunk
from .core import Filter
from .records import error_record

Items = Sequence[tuple[int, Payload]]
Work = tuple[Task, Items]  # a chunk and how to score it (sources differ in unit, fields)

_WORKER: Filter | None = None


def default_workers() -> int:
    """All the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _init(model_dir: Path | None, max_bytes: int) -> None:
    global _WORKER
    # Ctrl-C is the parent's to handle: it stops the pool, without a traceback per worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_pandas_out()
    _WORKER = Filter(model_dir, max_bytes=max_bytes)


def _score(task: Task, items: Items) -> Chunk:
    assert _WORKER is not None, "worker started without its model"
    return score_chunk(_WORKER, task, items)


def lost_chunk(task: Task, items: Items, why: str) -> Chunk:
    """Error records for a chunk no worker could score."""
    chunk = Chunk([], [], Tally(), [])
    for number, payload in items:
        record = payload if isinstance(payload, dict) else None
        out = error_record(record, f"{task.unit} {number}: {why}")
        chunk.records.append(dumps(out) if task.encode else out)
        chunk.tally.errors += 1
    return chunk


def score_chunks(filt: Filter, chunks: Iterable[Work], workers: int,
                 model_dir: Path | None = None, window: int | None = None) -> Iterator[Chunk]:
    """``score_chunk`` of every (task, items) of ``chunks``, in order; ``workers`` > 1
    scores in that many processes.

    ``filt`` scores in this process when ``workers`` is 1, or when the whole input is
    one chunk (a small input does not wait for worker processes to start).
    """
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if workers <= 1 or second is None:
        yield score_chunk(filt, *first)
        if second is not None:
            yield score_chunk(filt, *second)
            for work in chunks:
                yield score_chunk(filt, *work)
        return
    yield from _pooled(_chain(first, second, chunks), workers, model_dir, filt.max_bytes,
                       window or 2 * workers)


def _chain(first: Work, second: Work, rest: Iterator[Work]) -> Iterator[Work]:
    yield first
    yield second
    yield from rest


class _Pool:
    def __init__(self, workers: int, model_dir: Path | None, max_bytes: int):
        self.args = (workers, model_dir, max_bytes)
        self.executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        workers, model_dir, max_bytes = self.args
        # spawn, not fork: the parent holds a loaded model and maybe library threads
        # (BLAS, OpenMP), which a forked child may inherit in a locked state.
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init, initargs=(model_dir, max_bytes))

    def submit(self, work: Work) -> Future[Chunk]:
        return self.executor.submit(_score, *work)

    def restart(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._start()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def _pooled(chunks: Iterator[Work], workers: int, model_dir: Path | None, max_bytes: int,
            window: int) -> Iterator[Chunk]:
    pool = _Pool(workers, model_dir, max_bytes)
    # [work, future, how many times a worker died with it]
    pending: deque[list] = deque()
    try:
        while True:
            while len(pending) < window:
                work = next(chunks, None)
                if work is None:
                    break
                pending.append([work, pool.submit(work), 0])
            if not pending:
                return
            head = pending[0]
            try:
                chunk = head[1].result()
            except BrokenProcessPool:
                head[2] += 1
                pool.restart()
                if head[2] >= 2:
                    pending.popleft()
                    yield lost_chunk(*head[0], "a worker process died while scoring this "
                                     "record's chunk, twice")
                for entry in pending:
                    entry[1] = pool.submit(entry[0])
                continue
            pending.popleft()
            yield chunk
    finally:
        pool.close()
