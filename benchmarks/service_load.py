"""Load benchmark of the HTTP service: a real 2-worker server, driven from a second process.

    python -m benchmarks.service_load [--duration S] [--out reports/bench-service.json]

1. The peer: the same documents scored in this process with ``Filter().score`` (no HTTP,
   one core, one after another), so that the HTTP figures can be quoted as ratios.
2. ``contamfilter serve --workers 2`` on a free loopback port, started as a subprocess.
3. For each scenario a spawned process runs an asyncio loop with N httpx clients that send
   POST /v1/score back to back for ``--duration`` seconds (or ``--max-requests``), after an
   uncounted warm-up. Meanwhile this process samples the RSS of the server's processes
   (the HTTP process and its scorers).

It prints a table and PASS/FAIL per target, writes every figure and the machine's facts as
JSON, and exits 1 when a target is missed. Client, server and peer share the machine: on a
small one the load generator takes CPU from the server, so its CPU time is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import math
import multiprocessing as mp
import os
import platform
import pstats
import queue
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only: the benchmark never talks to another machine
WORKERS = 2
SCORE_PATH = "/v1/score"
JSON_HEADERS = {"Content-Type": "application/json"}
ARTICLE_BYTES = 8 * 1024
CLIENT_TIMEOUT_S = 30.0  # generous: a queued request is slow, not failed
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
RSS_SAMPLE_S = 0.25
PEER_WARMUP = 5

OTHER_WARN_CORES = 0.25  # CPU taken by processes outside the benchmark worth a warning

P99_LIMIT_MS = 50.0
RSS_LIMIT_MIB = 300.0


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    workload: str  # a key of the workloads: "article" or "mix"
    clients: int


SCENARIOS = (
    Scenario("article_8c", "single 8KB article, 8 clients", "article", 8),
    Scenario("article_32c", "4x load, 32 clients", "article", 32),
    Scenario("mix_8c", "seed mix, 8 clients", "mix", 8),
)


# --- workloads ----------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    name: str
    raw: str
    fmt: str | None  # "html", or None for text (format auto-detected), as the service does

    def body(self) -> bytes:
        return json.dumps({"html" if self.fmt == "html" else "text": self.raw}).encode()


def load_workloads() -> dict[str, list[Doc]]:
    from training.annotations import HTML_SUFFIX, load_seeds

    seeds = load_seeds(ROOT / "seeds")
    mix = [Doc(s.name, s.raw, "html" if s.name.endswith(HTML_SUFFIX) else None) for s in seeds]
    texts = [p.text for s in seeds if not s.name.endswith(HTML_SUFFIX)
             for p in s.document.paragraphs]
    return {"article": [Doc("article", build_article(texts), None)], "mix": mix}


def build_article(paragraphs: Sequence[str]) -> str:
    """Whole seed paragraphs, in file order, joined by blank lines until ~8 KB: fixed."""
    taken: list[str] = []
    for text in paragraphs:
        taken.append(text)
        if len("\n\n".join(taken).encode()) >= ARTICLE_BYTES:
            break
    return "\n\n".join(taken) + "\n"


# --- statistics ---------------------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest rank: a value that was really observed."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(s * 1000 for s in seconds)
    return {f"p{q}_ms": round(percentile(ordered, q), 2) for q in (50, 95, 99)} | {
        "max_ms": round(ordered[-1], 2) if ordered else math.nan}


# --- the load generator (runs in its own process) -----------------------------------


@dataclass
class Tally:
    """Counts of one run; one event loop, so no locks."""

    bodies: Sequence[bytes]
    max_requests: int
    sent: int = 0
    answered: int = 0
    ok_latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)

    def next_body(self) -> bytes | None:
        """Round robin over the bodies, shared by all clients; None once the budget is spent."""
        if self.sent >= self.max_requests:
            return None
        body = self.bodies[self.sent % len(self.bodies)]
        self.sent += 1
        return body

    def answered_with(self, status: int, elapsed_s: float) -> None:
        self.answered += 1
        self.statuses[status] += 1
        if status == 200:
            self.ok_latencies.append(elapsed_s)

    def failed(self, exc: BaseException) -> None:
        """No answer (timeout, refused, reset, malformed): an error, never a retry."""
        self.exceptions[type(exc).__name__] += 1

    def summary(self, wall_s: float) -> dict[str, Any]:
        ok = len(self.ok_latencies)
        return {
            "requests": self.sent,
            "answered": self.answered,
            "ok": ok,
            "lost": self.sent - self.answered - sum(self.exceptions.values()),
            "errors": self.sent - ok,  # every non-200, exception, timeout or lost request
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "exceptions": dict(self.exceptions),
            "duration_s": round(wall_s, 3),
            "throughput_rps": round(ok / wall_s, 2) if wall_s else math.nan,
            "latency_s": self.ok_latencies,
        }


class RawConnection:
    """One keep-alive HTTP/1.1 connection, spoken by hand.

    The load generator shares the machine with the server: httpx spent about 2 ms of CPU
    per request here (measured: client_cpu_s over requests), a quarter of what the server
    spends, taken from the server's cores. This client writes the request bytes and reads
    the status line, headers and Content-Length body (what uvicorn answers), and checks
    that a 200's body is JSON. ``--client httpx`` runs the old client for comparison.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body)
        await self.writer.drain()
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = dict(line.split(":", 1) for line in head[1:] if ":" in line)
        headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
        if "content-length" not in headers:
            raise ProtocolError(f"no Content-Length in the answer (status {status})")
        payload = await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        if status == 200 and not isinstance(json.loads(payload), dict):
            raise ProtocolError("a 200 whose body is not a JSON object")
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class ProtocolError(Exception):
    pass


async def _raw_client(host: str, port: int, tally: Tally, deadline: float) -> None:
    conn = RawConnection(host, port)
    try:
        while time.perf_counter() < deadline and (body := tally.next_body()) is not None:
            start = time.perf_counter()
            try:
                status = await asyncio.wait_for(conn.post(SCORE_PATH, body), CLIENT_TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError,
                    ProtocolError) as exc:
                tally.failed(exc)
                await conn.close()  # a fresh connection for the next request
                continue
            tally.answered_with(status, time.perf_counter() - start)
    finally:
        await conn.close()


async def _httpx_client(client: Any, tally: Tally, deadline: float) -> None:
    import httpx

    while time.perf_counter() < deadline and (body := tally.next_body()) is not None:
        start = time.perf_counter()
        try:
            response = await client.post(SCORE_PATH, content=body, headers=JSON_HEADERS)
        except httpx.HTTPError as exc:
            tally.failed(exc)
            continue
        tally.answered_with(response.status_code, time.perf_counter() - start)


async def _drive(url: str, bodies: Sequence[bytes], clients: int, duration: float,
                 max_requests: int, kind: str) -> dict[str, Any]:
    tally = Tally(bodies, max_requests)
    start = time.perf_counter()
    deadline = start + duration
    # Requests in flight at the deadline are awaited, so every one sent is accounted for.
    if kind == "raw":
        host, port = url.removeprefix("http://").rsplit(":", 1)
        await asyncio.gather(*(_raw_client(host, int(port), tally, deadline)
                               for _ in range(clients)))
        return tally.summary(time.perf_counter() - start)
    import httpx

    # One connection per client; trust_env=False so that no proxy setting reroutes loopback.
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT_S, limits=limits,
                                 trust_env=False) as client:
        await asyncio.gather(*(_httpx_client(client, tally, deadline) for _ in range(clients)))
        return tally.summary(time.perf_counter() - start)


def _cpu_s() -> float:
    usage = os.times()
    return usage.user + usage.system


async def _load(url: str, bodies: Sequence[bytes], clients: int, duration: float,
                warmup: float, max_requests: int, report: Any, kind: str) -> dict[str, Any]:
    if warmup > 0:
        # Uncounted, and its own client: the measured run opens fresh connections, spread
        # over processes that have by then imported and run everything at least once.
        await _drive(url, bodies, clients, warmup, max_requests, kind)
    report.put(("measure", None))
    cpu = _cpu_s()
    stats = await _drive(url, bodies, clients, duration, max_requests, kind)
    stats["client_cpu_s"] = round(_cpu_s() - cpu, 3)
    return stats


def load_process(url: str, bodies: Sequence[bytes], clients: int, duration: float,
                 warmup: float, max_requests: int, report: Any, kind: str = "raw") -> None:
    """Entry point of the load process: messages ("measure"|"result"|"crash", payload)."""
    # Ctrl-C reaches the whole process group; the parent stops this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        stats = asyncio.run(_load(url, bodies, clients, duration, warmup, max_requests, report,
                                  kind))
    except Exception:
        report.put(("crash", traceback.format_exc()))
    else:
        report.put(("result", stats))


# --- the server's processes, read from /proc ----------------------------------------


def _stat_fields(pid: int) -> list[str]:
    # The command name in parentheses may hold spaces: split after the last ')'.
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def children_of(pid: int) -> list[int]:
    """Scan /proc for ppid: /proc/<pid>/task/*/children needs a kernel option."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):  # it ended while we looked
                if int(_stat_fields(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
    return sorted(found)


def is_scorer(pid: int) -> bool:
    # Scorers are started with multiprocessing's spawn; the server's other child,
    # multiprocessing's resource tracker, is not one.
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_s(pid: int) -> float | None:
    try:
        fields = _stat_fields(pid)
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def machine_busy_s() -> float:
    """CPU seconds all CPUs spent busy since boot (/proc/stat: everything but idle, iowait)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """``contamfilter serve`` in a subprocess; a context manager that always stops it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.command = [sys.executable, "-m", "filter", "serve", "--host", HOST,
                        "--port", str(self.port), "--workers", str(WORKERS),
                        "--log-level", "warning"]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 -- closed in __exit__
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        # A session of its own: Ctrl-C does not reach it, and the stop below can end the
        # whole group (HTTP process and scorers) if SIGTERM is not enough.
        self.proc = subprocess.Popen(self.command, cwd=ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.log.close()

    def scorers(self) -> list[int]:
        assert self.proc is not None
        return [pid for pid in children_of(self.proc.pid) if is_scorer(pid)]

    def processes(self) -> list[int]:
        """The HTTP process and its scorers: everything that serves a request."""
        assert self.proc is not None
        return [self.proc.pid, *self.scorers()]

    def log_tail(self, lines: int = 30) -> str:
        self.log.seek(0)
        return "\n".join(self.log.read().decode(errors="replace").splitlines()[-lines:])

    def wait_ready(self) -> float:
        """Seconds until /readyz answers 200 and every scorer has finished loading."""
        import httpx

        start = time.monotonic()
        with httpx.Client(base_url=self.url, timeout=2.0, trust_env=False) as http:
            while not self._ready(http):
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited with status {self.proc.returncode}:"
                                       f"\n{self.log_tail()}")
                if time.monotonic() - start > READY_TIMEOUT_S:
                    raise TimeoutError(f"the server was not ready after {READY_TIMEOUT_S} s:"
                                       f"\n{self.log_tail()}")
                time.sleep(0.1)
        return time.monotonic() - start

    def _ready(self, http: Any) -> bool:
        import httpx

        try:
            if http.get("/readyz").status_code != 200:
                return False
        except httpx.HTTPError:
            return False
        # /readyz is 200 once every scorer has loaded and verified the model; idle
        # processes also mean that start-up work is over before the clock starts.
        return len(self.scorers()) == WORKERS and self._idle(self.processes())

    @staticmethod
    def _idle(pids: Sequence[int]) -> bool:
        before = [cpu_s(pid) or 0.0 for pid in pids]
        time.sleep(0.5)
        after = [cpu_s(pid) or 0.0 for pid in pids]
        return all(b - a < 0.05 for a, b in zip(before, after, strict=True))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # the HTTP process stops its scorers on SIGTERM
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own group: only what we started
            self.proc.wait(STOP_TIMEOUT_S)


# --- one scenario -------------------------------------------------------------------


@dataclass
class Watch:
    """The server's processes during a run: peak RSS and CPU time since the measured start."""

    server: Server
    peak_rss: dict[int, float] = field(default_factory=dict)
    cpu_start: dict[int, float] = field(default_factory=dict)
    machine_start: float = 0.0
    cpu_used: dict[int, float] = field(default_factory=dict)
    machine_used: float = 0.0

    def sample(self) -> dict[int, float]:
        now = {pid: rss for pid in self.server.processes() if (rss := rss_mib(pid)) is not None}
        for pid, rss in now.items():
            self.peak_rss[pid] = max(rss, self.peak_rss.get(pid, 0.0))
        return now

    def mark_start(self) -> None:
        self.cpu_start = {pid: cpu_s(pid) or 0.0 for pid in self.server.processes()}
        self.machine_start = machine_busy_s()

    def mark_end(self) -> None:
        """CPU used over the measured run, read as soon as the load process reports."""
        self.cpu_used = {pid: round((cpu_s(pid) or start) - start, 3)
                         for pid, start in self.cpu_start.items()}
        self.machine_used = machine_busy_s() - self.machine_start


def run_scenario(server: Server, scenario: Scenario, docs: Sequence[Doc],
                 args: argparse.Namespace) -> dict[str, Any]:
    # spawn, not fork: the load process must not inherit this one's loaded model and threads.
    ctx = mp.get_context("spawn")
    report = ctx.Queue()
    proc = ctx.Process(target=load_process, name=f"load-{scenario.key}", daemon=True,
                       args=(server.url, [d.body() for d in docs], scenario.clients,
                             args.duration, args.warmup, args.max_requests, report,
                             args.client))
    watch = Watch(server)
    proc.start()
    try:
        stats = _collect(proc, report, watch, args.duration + args.warmup + 2 * CLIENT_TIMEOUT_S)
    finally:
        _stop(proc)
    cpu, machine = watch.cpu_used, watch.machine_used
    total = sum(cpu.values())
    after = watch.sample()  # after the run: what the processes keep once the load is gone
    wall = stats["duration_s"]
    stats.update(latency_ms(stats.pop("latency_s")))
    return {
        "title": scenario.title, "workload": scenario.workload, "clients": scenario.clients,
        **stats,
        "server_processes": {str(p): "http" if p == server.proc.pid else "scorer"
                             for p in sorted(watch.peak_rss)},
        "rss_peak_mib": {str(p): round(v, 1) for p, v in sorted(watch.peak_rss.items())},
        "rss_after_mib": {str(p): round(v, 1) for p, v in sorted(after.items())},
        "rss_max_per_process_mib": round(max(watch.peak_rss.values(), default=math.nan), 1),
        "server_cpu_s": {str(p): v for p, v in sorted(cpu.items())},
        "server_cores_busy": round(sum(cpu.values()) / wall, 2) if wall else math.nan,
        # Shows the balance between the scorers, and what the HTTP process costs.
        "server_cpu_share": [round(v / total, 2) for v in cpu.values()] if total else [],
        "client_cores_busy": round(stats["client_cpu_s"] / wall, 2) if wall else math.nan,
        # Whatever else ran meanwhile (this process's sampling, the uvicorn supervisor, other
        # programs) took CPU that the server could have used: show it. Approximate, as
        # /proc/stat and per-process times are accounted differently: hence the floor at 0.
        "other_cores_busy": round(max(0.0, machine - total - stats["client_cpu_s"]) / wall, 2)
        if wall else math.nan,
    }


def _collect(proc: Any, report: Any, watch: Watch, timeout: float) -> dict[str, Any]:
    """Sample the server until the load process reports; its messages say when to look."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watch.sample()
        try:
            kind, payload = report.get(timeout=RSS_SAMPLE_S)
        except queue.Empty:
            if not proc.is_alive():
                raise RuntimeError(f"the load process died (exit code {proc.exitcode})") from None
            continue
        if kind == "measure":
            watch.mark_start()
        elif kind == "crash":
            raise RuntimeError(f"the load process failed:\n{payload}")
        else:
            watch.mark_end()
            return payload
    raise TimeoutError(f"the load process did not report within {timeout:.0f} s")


def _stop(proc: Any) -> None:
    proc.join(2)  # it has reported and is exiting, unless this is an error or Ctrl-C
    if proc.is_alive():
        proc.terminate()
        proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()


# --- the in-process peer ------------------------------------------------------------


def measure_peer(filt: Any, docs: Sequence[Doc], duration: float,
                 max_docs: int) -> dict[str, Any]:
    """Filter.score, one document after another, in whole passes over the workload."""
    for k in range(PEER_WARMUP):
        filt.score(docs[k % len(docs)].raw, docs[k % len(docs)].fmt)
    latencies: list[float] = []
    cpu, machine = _cpu_s(), machine_busy_s()
    start = time.perf_counter()
    while True:
        # Whole passes, so that the mix is weighted as the HTTP clients send it.
        for doc in docs:
            began = time.perf_counter()
            filt.score(doc.raw, doc.fmt)
            latencies.append(time.perf_counter() - began)
        elapsed = time.perf_counter() - start
        if elapsed >= duration or len(latencies) >= max_docs:
            break
    # Cores busy near 1.0 confirms one core: no BLAS or joblib threads helped the peer.
    cpu, machine = _cpu_s() - cpu, machine_busy_s() - machine
    return {"documents": len(latencies), "duration_s": round(elapsed, 3),
            "docs_per_s": round(len(latencies) / elapsed, 2),
            "cores_busy": round(cpu / elapsed, 2),
            "other_cores_busy": round(max(0.0, machine - cpu) / elapsed, 2),
            **latency_ms(latencies)}


def profile_one(filt: Any, doc: Doc, top: int = 10) -> str:
    """Where one in-process score of the document spends its time.

    By cumulative time (the call chain) and by own time (the leaves that do the work)."""
    profiler = cProfile.Profile()
    profiler.runcall(filt.score, doc.raw, doc.fmt)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- report -------------------------------------------------------------------------


def ratios(scenarios: dict[str, Any], peer: dict[str, Any]) -> dict[str, float]:
    def ratio(a: float, b: float) -> float:
        return round(a / b, 3) if b else math.nan

    out = {}
    for key, s in scenarios.items():
        p = peer[s["workload"]]
        out[f"{key}: HTTP throughput ({WORKERS} scorers) / in-process single-core throughput"] = (
            ratio(s["throughput_rps"], p["docs_per_s"]))
        out[f"{key}: HTTP p50 latency / in-process p50 latency"] = ratio(s["p50_ms"], p["p50_ms"])
        out[f"{key}: HTTP p99 latency / in-process p99 latency"] = ratio(s["p99_ms"], p["p99_ms"])
    return out


def targets(scenarios: dict[str, Any]) -> list[dict[str, Any]]:
    light, heavy = scenarios["article_8c"], scenarios["article_32c"]
    rss = max(s["rss_max_per_process_mib"] for s in scenarios.values())
    return [
        {"target": f"p99 < {P99_LIMIT_MS:g} ms, 8KB article, 8 clients",
         "value": light["p99_ms"], "limit": P99_LIMIT_MS, "unit": "ms",
         "pass": light["p99_ms"] < P99_LIMIT_MS},
        {"target": "zero errors, 8KB article, 32 clients (sent == answered, all 200)",
         "value": heavy["errors"], "limit": 0, "unit": "errors",
         "pass": heavy["errors"] == 0 and heavy["lost"] == 0
         and heavy["requests"] == heavy["answered"]},
        {"target": f"RSS per process (HTTP, each scorer) < {RSS_LIMIT_MIB:g} MiB, all scenarios",
         "value": rss, "limit": RSS_LIMIT_MIB, "unit": "MiB", "pass": rss < RSS_LIMIT_MIB},
    ]


def render(result: dict[str, Any]) -> str:
    lines = [f"contamfilter service load: {WORKERS} scorers, "
             f"{result['machine']['nproc']} CPUs, {result['settings']['duration_s']:g} s "
             f"per scenario (+{result['settings']['warmup_s']:g} s warm-up)", ""]
    head = (f"{'scenario':<32}{'reqs':>7}{'errs':>6}{'secs':>7}{'req/s':>8}{'p50':>8}"
            f"{'p95':>8}{'p99':>8}{'max':>8}{'RSS/proc':>9}{'srv cpu':>8}{'split':>8}"
            f"{'cli cpu':>8}{'other':>8}")
    lines += [head, f"{'':<50}{'(ms)':>8}{'(ms)':>8}{'(ms)':>8}{'(ms)':>8}{'(MiB)':>9}"
              f"{'(cores)':>8}{'(%)':>8}{'(cores)':>8}{'(cores)':>8}", "-" * len(head)]
    for s in result["scenarios"].values():
        lines.append(
            f"{s['title']:<32}{s['requests']:>7}{s['errors']:>6}{s['duration_s']:>7.1f}"
            f"{s['throughput_rps']:>8.1f}{s['p50_ms']:>8.1f}{s['p95_ms']:>8.1f}"
            f"{s['p99_ms']:>8.1f}{s['max_ms']:>8.1f}{s['rss_max_per_process_mib']:>9.1f}"
            f"{s['server_cores_busy']:>8.2f}{_split(s['server_cpu_share']):>8}"
            f"{s['client_cores_busy']:>8.2f}{s['other_cores_busy']:>8.2f}")
    lines += ["", "peer: Filter().score in-process, 1 process, sequential (no HTTP)",
              f"{'workload':<32}{'docs':>7}{'secs':>7}{'docs/s':>8}{'p50':>8}{'p99':>8}"
              f"{'max':>8}{'cpu':>8}{'other':>8}",
              f"{'':<54}{'(ms)':>8}{'(ms)':>8}{'(ms)':>8}{'(cores)':>8}{'(cores)':>8}",
              "-" * 94]
    for name, p in result["peer"].items():
        lines.append(f"{result['workloads'][name]['title']:<32}{p['documents']:>7}"
                     f"{p['duration_s']:>7.1f}{p['docs_per_s']:>8.1f}{p['p50_ms']:>8.2f}"
                     f"{p['p99_ms']:>8.2f}{p['max_ms']:>8.2f}{p['cores_busy']:>8.2f}"
                     f"{p['other_cores_busy']:>8.2f}")
    lines += _contention(result)
    lines += ["", "ratios (HTTP / in-process peer)"]
    lines += [f"  {name:<90}{value:>7.2f}" for name, value in result["ratios"].items()]
    lines += ["", "targets"]
    for t in result["targets"]:
        verdict = "PASS" if t["pass"] else "FAIL"
        lines.append(f"  {verdict}  {t['target']}: {t['value']:g} {t['unit']}"
                     f"{_margin(t)}")
    return "\n".join(lines)


def _contention(result: dict[str, Any]) -> list[str]:
    runs = [*result["scenarios"].values(), *result["peer"].values()]
    other = max(r["other_cores_busy"] for r in runs)
    if other < OTHER_WARN_CORES:
        return []
    return ["", f"WARNING: other processes kept up to {other:.2f} of {result['machine']['nproc']}"
            " CPUs busy during a run ('other' column): the figures understate this code."]


def _split(shares: Sequence[float]) -> str:
    return "/".join(str(round(100 * share)) for share in shares) or "-"


def _margin(t: dict[str, Any]) -> str:
    if t["pass"] or not t["limit"]:
        return ""
    over = t["value"] - t["limit"]
    return f" ({over:+.1f} {t['unit']}, {t['value'] / t['limit']:.2f}x the limit)"


def machine_facts() -> dict[str, Any]:
    def first(path: str, key: str) -> str | None:
        with contextlib.suppress(OSError):
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        return None

    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": first("/proc/cpuinfo", "model name"),
        "mem_total": first("/proc/meminfo", "MemTotal"),
        "python": sys.version,
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in
                     ("contamfilter", "fastapi", "uvicorn", "httpx", "scikit-learn", "numpy")},
        "git_commit": _git("rev-parse", "HEAD"),
        # Uncommitted changes are part of what was measured: name them.
        "git_changed": (_git("status", "--porcelain") or "").splitlines(),
        "contamfilter_env": {k: v for k, v in os.environ.items() if k.startswith("CONTAMFILTER_")},
    }


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    return None


# --- main ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.service_load",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15.0,
                        help="measured seconds per scenario (default: 15)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="uncounted seconds of load before each scenario (default: 2)")
    parser.add_argument("--max-requests", type=int, default=100_000,
                        help="stop a scenario after this many requests (default: 100000)")
    parser.add_argument("--peer-duration", type=float, default=5.0,
                        help="seconds per in-process peer workload (default: 5)")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-service.json"),
                        help="JSON report (default: reports/bench-service.json)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="load generator: a lean hand-written HTTP/1.1 client (default) "
                        "or httpx, which costs the shared cores more CPU per request")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of one in-process score of the article")
    return parser.parse_args(argv)


def _timed(label: str, fn: Callable[[], Any]) -> Any:
    print(f"... {label}", file=sys.stderr, flush=True)
    return fn()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from filter import Filter

    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    machine = machine_facts()  # before the run: the code state that the server loads
    workloads = load_workloads()
    filt = Filter()
    # The peer goes first, alone on the machine: the server is not started yet.
    peer = {name: _timed(f"in-process peer: {name}", lambda docs=docs: measure_peer(
        filt, docs, args.peer_duration, args.max_requests)) for name, docs in workloads.items()}
    profile = profile_one(filt, workloads["article"][0]) if args.profile else None
    scenarios = {}
    with Server() as server:
        ready_s = _timed(f"starting {shlex.join(server.command)}", server.wait_ready)
        for scenario in SCENARIOS:
            scenarios[scenario.key] = _timed(scenario.title, lambda s=scenario: run_scenario(
                server, s, workloads[s.workload], args))
        server_command = server.command
    return {
        "benchmark": "benchmarks.service_load",
        "command": shlex.join(sys.orig_argv),
        "cwd": os.getcwd(),
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "settings": {"duration_s": args.duration, "warmup_s": args.warmup,
                     "max_requests": args.max_requests, "peer_duration_s": args.peer_duration,
                     "client_timeout_s": CLIENT_TIMEOUT_S, "endpoint": SCORE_PATH},
        "server": {"command": shlex.join(server_command), "workers": WORKERS,
                   "ready_after_s": round(ready_s, 2), "model": filt.version},
        "workloads": _describe_workloads(workloads),
        "peer": peer,
        "scenarios": scenarios,
        "ratios": ratios(scenarios, peer),
        "targets": targets(scenarios),
        "profile": profile,
    }


def _describe_workloads(workloads: dict[str, list[Doc]]) -> dict[str, Any]:
    article = workloads["article"][0]
    mix = workloads["mix"]
    return {
        "article": {"title": "single 8KB article", "bytes": len(article.raw.encode()),
                    "paragraphs": article.raw.count("\n\n") + 1},
        "mix": {"title": "seed mix", "documents": len(mix),
                "html": sum(d.fmt == "html" for d in mix),
                "text": sum(d.fmt is None for d in mix),
                "bytes": sum(len(d.raw.encode()) for d in mix)},
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = run(args)
    except KeyboardInterrupt:
        print("interrupted; the server was stopped", file=sys.stderr)
        return 130
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(render(result))
    if result["profile"]:
        print("\none in-process score of the 8KB article: top 10 by cumulative, then own time")
        print(result["profile"])
    print(f"\nJSON: {args.out}")
    return 0 if all(t["pass"] for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
