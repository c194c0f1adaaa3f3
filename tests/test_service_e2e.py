"""The HTTP service for real: `contamfilter serve` in a subprocess, spoken to over loopback.

Servers, each started once per module: the default one (one worker, the 5 MB body limit),
one with a small body limit set through the environment, one with two worker processes,
and one started as `uvicorn service.app:create_app --factory`. Each is stopped with
SIGTERM at the end and must exit cleanly, without a traceback on its stderr. The CLI
runs once for `score` and once for `clean` over the same six documents (the five real
seeds and one HTML page); the service must answer exactly what the CLI prints.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.service_load import children_of, is_scorer
from filter import segment
from filter.artifact import read_card
from service.app import REQUEST_ID, TOO_LARGE, TOO_MANY
from training.annotations import LabeledDocument

from .prometheus import metric

ROOT = Path(__file__).resolve().parent.parent
REAL = ("000", "001", "002", "003", "004")
KEYS = (*REAL, "p01")  # p01: seeds/html/p01_*.html
STARTUP_TIMEOUT = 60.0
SMALL_LIMIT = 20_000
BIG_DOCUMENT_BYTES = 2_000_000


# --- running a server ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


def connect(url: str, timeout: float = 30.0) -> httpx.Client:
    """A client for the local server only: no proxy from the environment."""
    return httpx.Client(base_url=url, timeout=timeout, trust_env=False)


def server_env(**overrides: str) -> dict[str, str]:
    """This environment without any CONTAMFILTER_* or metrics setting, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CONTAMFILTER_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    return {**env, **overrides}


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited with {server.proc.returncode}:\n{server.stderr()}")
        try:
            with connect(server.url, timeout=2.0) as client:
                if client.get("/readyz").status_code == 200:
                    return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"/readyz not 200 after {STARTUP_TIMEOUT} s:\n{server.stderr()}")


def stop(server: Server) -> None:
    """SIGTERM, then the exit must be clean: status 0 (or the re-raised SIGTERM), no traceback."""
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=10)
            pytest.fail(f"server did not stop within 30 s of SIGTERM:\n{server.stderr()}")
    assert server.proc.returncode in (0, -signal.SIGTERM), server.stderr()
    assert "Traceback" not in server.stderr(), server.stderr()


def contamfilter_serve(port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "filter", "serve", "--host", "127.0.0.1", "--port", str(port),
            *args]


def uvicorn_factory(port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), *args]


@pytest.fixture(scope="module")
def start_server(tmp_path_factory) -> Iterator:
    """Start a server with extra arguments and environment; stop them all after."""
    started: list[Server] = []

    def start(*args: str, command=contamfilter_serve, **env: str) -> Server:
        for _attempt in range(3):  # the free port may be taken again before the server binds
            port = free_port()
            log = tmp_path_factory.mktemp("server") / "stderr.log"
            with open(log, "wb") as err:
                proc = subprocess.Popen(
                    command(port, *args), cwd=ROOT, env=server_env(**env),
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
            server = Server(proc, f"http://127.0.0.1:{port}", log)
            started.append(server)
            try:
                wait_ready(server)
            except RuntimeError:  # it exited: nothing to stop
                started.remove(server)
                if "address already in use" in server.stderr().lower():
                    continue
                raise
            return server
        raise RuntimeError("no free port for the server after 3 attempts")

    yield start
    failures = []
    for server in started:
        try:
            stop(server)
        except BaseException as exc:  # stop every server, then report
            failures.append(exc)
    if failures:
        raise failures[0]


@pytest.fixture(scope="module")
def server(start_server) -> Server:
    """The default server: one worker, settings from a clean environment."""
    return start_server()


@pytest.fixture(scope="module")
def small_server(start_server) -> Server:
    """A server whose body limit comes from CONTAMFILTER_MAX_BODY_BYTES."""
    return start_server(CONTAMFILTER_MAX_BODY_BYTES=str(SMALL_LIMIT))


@pytest.fixture(scope="module")
def workers_server(start_server) -> Server:
    return start_server("--workers", "2")


@pytest.fixture(scope="module")
def http(server) -> Iterator[httpx.Client]:
    with connect(server.url, 60.0) as client:
        yield client


# --- the documents and what the CLI says about them ------------------------------------


@pytest.fixture(scope="module")
def docs(seeds) -> dict[str, LabeledDocument]:
    """The five real documents ("000".."004") and the first HTML page ("p01")."""
    out = {}
    for name, doc in seeds.items():
        key = "p01" if name.startswith("p01_") else name[:3]
        if key in KEYS and (key == "p01" or name[3] == "_"):
            out[key] = doc
    assert sorted(out) == sorted(KEYS)
    return out


@pytest.fixture(scope="module")
def files(docs, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("documents")
    out = {}
    for key in KEYS:
        path = folder / (f"{key}.html" if key == "p01" else f"{key}.txt")
        path.write_bytes(docs[key].raw.encode("utf-8"))
        out[key] = path
    return out


def request_body(docs: dict[str, LabeledDocument], key: str) -> dict[str, str]:
    return {"html": docs[key].raw} if key == "p01" else {"text": docs[key].raw}


def cli(*args: object) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "filter", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


@pytest.fixture(scope="module")
def cli_scores(files) -> dict[str, dict[str, Any]]:
    """`contamfilter score` of the six files, by key, without the CLI's "source"."""
    proc = cli("score", *(files[key] for key in KEYS))
    reports = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r.pop("source") for r in reports] == [str(files[key]) for key in KEYS]
    return dict(zip(KEYS, reports, strict=True))


@pytest.fixture(scope="module")
def api_scores(http, docs) -> dict[str, dict[str, Any]]:
    out = {}
    for key in KEYS:
        response = http.post("/v1/score", json=request_body(docs, key))
        assert response.status_code == 200, response.text
        out[key] = response.json()
    return out




# --- answers equal the CLI's -----------------------------------------------------------


def test_score_answers_what_contamfilter_score_prints_for_each_document(
        api_scores, cli_scores):
    for key in KEYS:
        api, printed = api_scores[key], cli_scores[key]
        assert set(api) == set(printed) == {"paragraphs", "clean_text", "counts",
                                            "contamination", "model"}
        for field in ("paragraphs", "clean_text", "counts", "contamination", "model"):
            assert api[field] == printed[field], (key, field)
    assert api_scores["003"]["counts"]["promo"] == 8
    assert api_scores["000"]["model"] == read_card()["version"]


def test_clean_answers_what_contamfilter_clean_prints(http, docs, files, api_scores):
    cleaned = {}
    for key in KEYS:
        response = http.post("/v1/clean", json=request_body(docs, key))
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer == {k: api_scores[key][k]
                          for k in ("clean_text", "counts", "contamination", "model")}
        cleaned[key] = answer["clean_text"]
    assert all(cleaned.values())
    # One document: its clean text and a newline. Several: separated by a blank line.
    assert cli("clean", files["003"]).stdout == cleaned["003"] + "\n"
    printed = cli("clean", *(files[key] for key in KEYS)).stdout
    assert printed == "\n".join(cleaned[key] + "\n" for key in KEYS)


def test_batch_answers_the_same_as_one_document_at_a_time(http, docs, api_scores):
    documents = [{"id": key, **request_body(docs, key)} for key in KEYS]
    documents.insert(3, {"id": "broken", "text": ""})
    response = http.post("/v1/score/batch", json={"documents": documents})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["id"] for r in results] == [d["id"] for d in documents]
    assert results[3] == {"id": "broken", "error": "the document is empty"}
    del results[3]
    for key, result in zip(KEYS, results, strict=True):
        assert result == {"id": key, **api_scores[key]}


def test_model_readyz_and_a_client_request_id_over_the_wire(http):
    card = read_card()
    info = http.get("/v1/model").json()
    assert info["version"] == card["version"]
    assert info["training_data_sha256"] == card["training_data"]["seeds_sha256"]
    assert info["thresholds"]["max_body_bytes"] == 5_000_000
    assert info["thresholds"]["max_batch"] == 64
    ready = http.get("/readyz", headers={REQUEST_ID: "e2e-check-1"})
    assert ready.json() == {"status": "ready", "model": card["version"]}
    assert ready.headers[REQUEST_ID] == "e2e-check-1"
    assert http.get("/openapi.json").json()["info"]["title"] == "contamfilter"


# --- the event loop is never blocked by scoring ----------------------------------------


@pytest.fixture(scope="module")
def big_document(docs) -> str:
    """About 2 MB: the real seeds' paragraphs over and over, a blank line between them."""
    paragraphs = [p.text for key in REAL for p in docs[key].document.paragraphs]
    out, size, k = [], 0, 0
    while size < BIG_DOCUMENT_BYTES:
        text = paragraphs[k % len(paragraphs)]
        out.append(text)
        size += len(text.encode("utf-8")) + 2
        k += 1
    return "\n\n".join(out)


def test_livez_stays_responsive_while_a_large_document_is_scored(server, big_document):
    outcome: dict[str, Any] = {}

    def score_big() -> None:
        with connect(server.url, 120.0) as client:
            outcome["response"] = client.post("/v1/score", json={"text": big_document})
        outcome["finished"] = time.perf_counter()

    worker = threading.Thread(target=score_big)
    started = time.perf_counter()
    worker.start()
    time.sleep(0.5)  # uploaded and parsed by now: the server is scoring
    polls = []
    with connect(server.url, 10.0) as client:
        for _ in range(6):
            before = time.perf_counter()
            response = client.get("/livez")
            after = time.perf_counter()
            polls.append((response.status_code, after - before, after))
            time.sleep(0.1)
    worker.join(timeout=120)
    assert not worker.is_alive(), "the large document was not scored within 120 s"
    response = outcome["response"]
    assert response.status_code == 200, response.text[:500]
    report = response.json()
    assert len(report["paragraphs"]) == len(segment(big_document))
    assert sum(report["counts"].values()) == len(report["paragraphs"])
    took = outcome["finished"] - started
    for status, latency, answered in polls:
        assert status == 200
        assert latency < 0.5, (latency, polls)
        assert answered < outcome["finished"], ("scoring finished first", took, polls)


# --- body limit over the wire ----------------------------------------------------------


def pieces(total: int, size: int = 4096) -> Iterator[bytes]:
    body = b'{"text": "' + b"Word " * ((total - 12) // 5) + b'"}'
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_chunked_upload_over_the_limit_from_the_environment_is_413(small_server):
    with connect(small_server.url, 30.0) as client:
        assert client.get("/v1/model").json()["thresholds"]["max_body_bytes"] == SMALL_LIMIT
        response = client.post("/v1/score", content=pieces(5 * SMALL_LIMIT),
                               headers={"content-type": "application/json",
                                        REQUEST_ID: "chunked-413"})
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413, response.text
    assert response.json() == {"error": TOO_LARGE.format(limit=SMALL_LIMIT),
                               "request_id": "chunked-413"}


def test_content_length_over_the_limit_is_413_and_a_chunked_upload_under_it_is_scored(
        small_server):
    with connect(small_server.url, 30.0) as client:
        refused = client.post("/v1/score", json={"text": "x" * (2 * SMALL_LIMIT)})
        assert refused.status_code == 413
        assert refused.json()["error"] == TOO_LARGE.format(limit=SMALL_LIMIT)
    with connect(small_server.url, 30.0) as client:
        accepted = client.post("/v1/score", content=pieces(SMALL_LIMIT // 2),
                               headers={"content-type": "application/json"})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["paragraphs"][0]["text"].startswith("Word Word")
        metrics = client.get("/metrics").text
    assert metric(metrics, "contamfilter_documents_refused_total", reason="body_too_large") >= 1


# --- started by uvicorn itself --------------------------------------------------------


def test_uvicorn_with_the_app_factory_serves_the_same_app(start_server, docs, api_scores):
    server = start_server(command=uvicorn_factory, CONTAMFILTER_MAX_BATCH="3")
    with connect(server.url, 60.0) as client:
        assert client.get("/readyz").json()["model"] == read_card()["version"]
        assert client.post("/v1/score", json=request_body(docs, "002")).json() == (
            api_scores["002"])
        too_many = client.post("/v1/score/batch", json={"documents": [{"text": "x"}] * 4})
        assert too_many.status_code == 413
        assert too_many.json()["error"] == TOO_MANY.format(n=4, limit=3)
    stop(server)  # SIGTERM: a clean exit, no traceback
    assert server.proc.returncode in (0, -signal.SIGTERM)


# --- several worker processes ----------------------------------------------------------


def scorer_pids(server: Server) -> list[int]:
    """The server's child processes that run a scorer."""
    return [pid for pid in children_of(server.proc.pid) if is_scorer(pid)]


def scored_by(url: str) -> dict[str, float]:
    with connect(url, 10.0) as client:
        text = client.get("/metrics").text
    return {k: metric(text, "contamfilter_scorer_documents_total", scorer=k) or 0.0
            for k in ("0", "1")}


def test_two_workers_are_two_scorers_that_share_concurrent_requests(workers_server, docs):
    card = read_card()
    assert len(scorer_pids(workers_server)) == 2
    with connect(workers_server.url, 10.0) as client:
        assert client.get("/readyz").json() == {"status": "ready", "model": card["version"]}
    before = scored_by(workers_server.url)
    body = request_body(docs, "003")

    def send(n: int) -> None:
        with connect(workers_server.url, 60.0) as client:  # one keep-alive connection
            for _ in range(n):
                assert client.post("/v1/score", json=body).status_code == 200

    threads = [threading.Thread(target=send, args=(6,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = scored_by(workers_server.url)
    done = {k: after[k] - before[k] for k in after}
    assert sum(done.values()) == 24
    # Four clients on their own connections: both scorers got work, whatever the kernel
    # did with the connections.
    assert min(done.values()) > 0, done


def test_two_workers_score_like_one(workers_server, docs, api_scores):
    with connect(workers_server.url, 60.0) as client:
        for key in ("003", "p01"):
            response = client.post("/v1/score", json=request_body(docs, key))
            assert response.status_code == 200, response.text
            assert response.json() == api_scores[key]


def test_a_killed_scorer_fails_only_its_documents_with_503_and_is_restarted(workers_server, docs):
    body = request_body(docs, "003")
    victim = scorer_pids(workers_server)[0]
    os.kill(victim, signal.SIGKILL)
    statuses = []
    with connect(workers_server.url, 60.0) as client:
        for _ in range(6):
            response = client.post("/v1/score", json=body)
            statuses.append(response.status_code)
            if response.status_code == 503:  # the one request the dead scorer held
                assert response.headers["Retry-After"] == "1"
                assert "died" in response.json()["error"]
    assert statuses.count(503) <= 1 and statuses.count(200) == len(statuses) - statuses.count(
        503), statuses
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        pids = scorer_pids(workers_server)
        if len(pids) == 2 and victim not in pids:
            break
        time.sleep(0.2)
    assert len(pids) == 2 and victim not in pids
    assert "died" in workers_server.stderr()


def test_two_workers_stop_cleanly_and_leave_no_scorer_behind(workers_server):
    pids = scorer_pids(workers_server)
    assert len(pids) == 2
    stop(workers_server)
    assert "Traceback" not in workers_server.stderr()
    time.sleep(0.5)
    assert not [p for p in pids if Path(f"/proc/{p}").exists()
                and "zombie" not in Path(f"/proc/{p}/status").read_text()]
