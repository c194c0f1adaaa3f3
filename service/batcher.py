"""Requests that arrive together are scored together.

Scoring has a fixed cost per model call (a few ms of scikit-learn bookkeeping) on top of
a cost per paragraph. Under load, documents waiting in one worker are handed to the model
in one call; when idle, a lone request is scored at once, with no added wait. One batch at
a time runs in a worker thread, so the event loop stays free (/livez answers) and threads
never fight over the GIL.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import anyio

from filter import ContamFilterError, Filter, Policy, Result
from filter.document import Format


@dataclass
class _Job:
    raw: str
    fmt: Format | str | None
    policy: Policy
    future: asyncio.Future


class Batcher:
    def __init__(self, filt: Filter, max_docs: int = 16) -> None:
        self.filt = filt
        self.max_docs = max_docs
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def score(self, raw: str, fmt: Format | str | None, policy: Policy) -> Result:
        """The document's Result; ContamFilterError for input the library refuses."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(raw, fmt, policy, future))
        return await future

    async def _run(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            while len(jobs) < self.max_docs and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            try:
                outcomes = await anyio.to_thread.run_sync(self._score, jobs)
            except Exception as exc:  # a bug: fail these requests, keep serving others
                outcomes = [exc] * len(jobs)
            for job, outcome in zip(jobs, outcomes, strict=True):
                if job.future.done():  # the client went away
                    continue
                if isinstance(outcome, BaseException):
                    job.future.set_exception(outcome)
                else:
                    job.future.set_result(outcome)

    def _score(self, jobs: list[_Job]) -> list[Result | BaseException]:
        outcomes: list[Result | BaseException] = []
        docs, slots = [], []
        for k, job in enumerate(jobs):
            try:
                docs.append(self.filt.segment(job.raw, job.fmt))
                slots.append(k)
                outcomes.append(None)  # type: ignore[arg-type]
            except ContamFilterError as exc:
                outcomes.append(exc)
        results = self.filt.score_documents(docs, [jobs[k].policy for k in slots])
        for k, result in zip(slots, results, strict=True):
            outcomes[k] = result
        return outcomes
