"""Requests that arrive together are scored together, by whichever scorer is free.

Scoring has a fixed cost per model call on top of a cost per paragraph. Under load,
documents waiting in the queue are handed to a scorer in one call; when a scorer is
free, a lone request is scored at once, with no added wait. Every scorer ("lane") pulls
from the one queue, so work goes where there is capacity, and a lane takes only an even
share of the documents in the service (see ``_next_batch``), so that work is spread out.
Scoring never runs on the event loop (see ``scorers``): /livez answers while a large
document is scored.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

from filter import Policy
from filter.document import Format

from .metrics import Metrics
from .scorers import Rendered, Scorer


@dataclass
class _Job:
    raw: str
    fmt: Format | str | None
    policy: Policy
    explain: bool
    paragraphs: bool
    future: asyncio.Future


class Batcher:
    def __init__(self, scorers: Sequence[Scorer], max_docs: int = 16,
                 metrics: Metrics | None = None, wait_s: float = 0.002) -> None:
        self.scorers = list(scorers)
        self.max_docs = max_docs
        self.wait_s = wait_s
        self.metrics = metrics
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._idle = 0  # lanes waiting for work
        self._held: dict[int, int] = {}  # documents each lane is scoring now

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run(k, s), name=f"lane-{k}")
                       for k, s in enumerate(self.scorers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def score(self, raw: str, fmt: Format | str | None, policy: Policy,
                    explain: bool = False, paragraphs: bool = True) -> Rendered:
        """The document's answer; ContamFilterError for input the library refuses."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(raw, fmt, policy, explain, paragraphs, future))
        return await future

    async def _next_batch(self) -> list[_Job]:
        self._idle += 1
        try:
            jobs = [await self._queue.get()]
        finally:
            self._idle -= 1
        if self.wait_s > 0 and not self._idle and self._queue.qsize() + 1 < self.max_docs:
            # Every other scorer is busy: this is load, not a lone request. The clients
            # whose answers just went out send their next documents within a millisecond
            # or two; waiting for them makes one model call of several instead of
            # several of one (half the CPU per document on an 8 KB article).
            await asyncio.sleep(self.wait_s)
        # An even share of all the work in the service (waiting, and held by the other
        # lanes): greedy lanes settled into one scoring seven documents per call while
        # the other cycled on one, and the seven waited for the long call.
        outstanding = 1 + self._queue.qsize() + sum(self._held.values())
        share = math.ceil(outstanding / len(self.scorers))
        while len(jobs) < min(share, self.max_docs) and not self._queue.empty():
            jobs.append(self._queue.get_nowait())
        return jobs

    async def _run(self, lane: int, scorer: Scorer) -> None:
        while True:
            jobs = [job for job in await self._next_batch() if not job.future.done()]
            if not jobs:  # every client of this batch went away
                continue
            batch = [(job.raw, job.fmt, job.policy, job.explain, job.paragraphs)
                     for job in jobs]
            self._held[lane] = len(jobs)
            try:
                outcomes = await scorer.score(batch)
            except Exception as exc:  # the scorer failed: fail these requests, keep serving
                outcomes = [exc] * len(jobs)
            else:
                if self.metrics is not None:
                    self.metrics.scored.labels(str(lane)).inc(len(jobs))
                    self.metrics.batch.observe(len(jobs))
            finally:
                self._held[lane] = 0
            for job, outcome in zip(jobs, outcomes, strict=True):
                if job.future.done():  # the client went away
                    continue
                if isinstance(outcome, BaseException):
                    job.future.set_exception(outcome)
                else:
                    job.future.set_result(outcome)
