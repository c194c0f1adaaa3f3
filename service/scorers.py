"""Where documents are scored: in the service's own process, or in scorer processes.

One HTTP process hands work to N scorer processes through one shared queue (see
``batcher``). Earlier, each of N uvicorn workers took whole keep-alive connections from
the kernel (SO_REUSEPORT hashes connections, not requests): measured with
`make bench-service`, 8 clients could all land on one of two workers while the other
idled, and each worker's scoring thread fought its own event loop for the GIL. Here a
request goes to whichever scorer is free, scoring never holds the HTTP process's GIL,
and there is one set of metrics.

A scorer is a plain process running ``Filter`` on batches sent over a socket. One that
dies (killed, out of memory) fails only the batch it held and is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import pickle
import signal
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio
import orjson

from filter import ContamFilterError, Filter, Policy, Result
from filter.artifact import keep_pandas_out
from filter.document import Format

log = logging.getLogger("contamfilter.service")

START_TIMEOUT_S = 300.0  # loading and verifying a model takes seconds; a slow disk, more
STOP_TIMEOUT_S = 10.0

# raw, format, policy, explain, and whether the answer lists the paragraphs
Job = tuple[str, "Format | str | None", Policy, bool, bool]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A scored document as the service sends it: the JSON of ``Result.report()``
    (without ``paragraphs`` when the job asked so), and its paragraphs per label.

    Rendered where it was scored: the one HTTP process then forwards bytes instead of
    unpickling, validating and serialising every paragraph of every answer.
    """

    body: bytes
    counts: dict[str, int]


Outcome = Rendered | BaseException


def render(result: Result, paragraphs: bool = True) -> Rendered:
    report = result.report(paragraphs)
    # Compact UTF-8, as FastAPI's JSONResponse writes it, at a tenth of json's cost.
    return Rendered(orjson.dumps(report), report["counts"])


class ScorerDied(RuntimeError):
    """A scorer process ended while it held a batch: those documents were not scored."""


@dataclass(frozen=True)
class ModelFacts:
    """What the HTTP process knows of the model its scorers loaded."""

    version: str
    card: dict[str, Any]


def score_jobs(filt: Filter, jobs: Sequence[Job]) -> list[Outcome]:
    """Each job's answer, or the library's error for input it refuses: one model call."""
    outcomes: list[Outcome | None] = []
    docs, slots = [], []
    for k, (raw, fmt, _policy, _explain, _paragraphs) in enumerate(jobs):
        try:
            docs.append(filt.segment(raw, fmt))
            slots.append(k)
            outcomes.append(None)
        except ContamFilterError as exc:
            outcomes.append(exc)
    results = filt.score_documents(docs, [jobs[k][2] for k in slots],
                                   [jobs[k][3] for k in slots])
    for k, result in zip(slots, results, strict=True):
        outcomes[k] = render(result, jobs[k][4])
    return outcomes  # type: ignore[return-value]


class Scorer(Protocol):
    async def score(self, jobs: Sequence[Job]) -> list[Outcome]:
        """One batch at a time; never blocks the event loop for the scoring itself."""

    async def aclose(self) -> None: ...


class LocalScorer:
    """Scores in this process (one worker: no pipe, no second copy of the model), in a
    worker thread so that the event loop stays free."""

    def __init__(self, filt: Filter) -> None:
        self.filt = filt

    async def score(self, jobs: Sequence[Job]) -> list[Outcome]:
        return await anyio.to_thread.run_sync(score_jobs, self.filt, jobs)

    async def aclose(self) -> None:
        pass


# A message on a scorer's socket: its length (8 bytes, big-endian), then a pickle.
_HEADER = struct.Struct("!Q")


def _frame(obj: Any) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


def _send(sock: socket.socket, obj: Any) -> None:
    sock.sendall(_frame(obj))


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:])
        if not k:
            raise EOFError("the other end closed the socket")
        got += k
    return bytes(buf)


def _recv(sock: socket.socket) -> Any:
    (n,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    return pickle.loads(_recv_exactly(sock, n))


def _scorer_main(sock: socket.socket, model_dir: str | None, max_bytes: int) -> None:
    # Ctrl-C reaches the whole process group: the HTTP process decides when scorers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_pandas_out()
    try:
        filt = Filter(model_dir, max_bytes=max_bytes)
    except Exception as exc:  # the HTTP process reports it and refuses to start
        _send(sock, ("failed", f"{type(exc).__name__}: {exc}"))
        return
    _send(sock, ("ready", filt.version, filt.card))
    while True:
        try:
            jobs = _recv(sock)
        except (EOFError, OSError):  # the HTTP process closed the socket or went away
            return
        if jobs is None:
            return
        try:
            outcomes = score_jobs(filt, jobs)
        except Exception as exc:  # a bug: fail this batch, keep the process
            outcomes = [exc] * len(jobs)
        _send(sock, outcomes)


class ProcessScorer:
    """One scorer process and the HTTP process's end of its socket; restarted if it dies.

    The HTTP process talks to it from the event loop through asyncio streams, with no
    thread: a thread per scorer fought the event loop for the GIL on every answer
    (measured: half the model calls then held a single document).
    """

    def __init__(self, model_dir: Path | None, max_bytes: int, name: str) -> None:
        self.model_dir = str(model_dir) if model_dir is not None else None
        self.max_bytes, self.name = max_bytes, name
        self._closing = False
        self._start()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.sock, child = socket.socketpair()
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.proc = ctx.Process(target=_scorer_main, name=self.name, daemon=True,
                                args=(child, self.model_dir, self.max_bytes))
        self.proc.start()
        child.close()

    def wait_ready(self) -> ModelFacts:
        """Block until the model is loaded and verified; RuntimeError when it cannot be."""
        self.sock.settimeout(START_TIMEOUT_S)
        try:
            message = _recv(self.sock)
        except TimeoutError:
            raise RuntimeError(f"{self.name} did not load the model in {START_TIMEOUT_S:.0f} s"
                               ) from None
        except (EOFError, OSError):
            self.proc.join(STOP_TIMEOUT_S)
            raise RuntimeError(f"{self.name} exited while loading the model "
                               f"(exit code {self.proc.exitcode})") from None
        finally:
            self.sock.settimeout(None)
        if message[0] != "ready":
            raise RuntimeError(f"{self.name} could not load the model: {message[1]}")
        return ModelFacts(message[1], message[2])

    async def score(self, jobs: Sequence[Job]) -> list[Outcome]:
        try:
            if self.streams is None:
                self.streams = await asyncio.open_unix_connection(sock=self.sock)
            reader, writer = self.streams
            writer.write(_frame(list(jobs)))
            await writer.drain()
            (n,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
            return pickle.loads(await reader.readexactly(n))
        except (EOFError, OSError, asyncio.IncompleteReadError):
            if self._closing:
                raise ScorerDied("the service is stopping") from None
            self._close_streams()
            await anyio.to_thread.run_sync(self._stop)
            code = self.proc.exitcode
            log.error("%s died (exit code %s) holding %d documents; starting it again",
                      self.name, code, len(jobs))
            await anyio.to_thread.run_sync(self._start_ready)
            raise ScorerDied(f"the scorer process died (exit code {code}) while scoring "
                             "this document") from None

    def _start_ready(self) -> None:
        self._start()
        self.wait_ready()

    def _stop(self) -> None:
        """Blocking; only while no asyncio stream holds the socket (or it is closed)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # the scorer reads end-of-file and exits
        self.proc.join(STOP_TIMEOUT_S)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(STOP_TIMEOUT_S)
        self.sock.close()

    def _close_streams(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None

    async def aclose(self) -> None:
        self._closing = True
        self._close_streams()
        await anyio.to_thread.run_sync(self._stop)

    def close(self) -> None:
        """Blocking: before the socket was ever used from the event loop."""
        self._closing = True
        self._stop()


def start_scorers(count: int, model_dir: Path | None,
                  max_bytes: int) -> tuple[list[ProcessScorer], ModelFacts]:
    """``count`` scorer processes, loading in parallel; all must agree on the model."""
    scorers = [ProcessScorer(model_dir, max_bytes, f"contamfilter-scorer-{k}")
               for k in range(count)]
    try:
        facts = [s.wait_ready() for s in scorers]
    except BaseException:
        for s in scorers:
            s.close()
        raise
    return scorers, facts[0]
