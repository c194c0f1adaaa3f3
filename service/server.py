"""`contamfilter serve`: uvicorn with the app factory, one or more worker processes.

Several workers each bind their own socket with SO_REUSEPORT, so the kernel spreads
connections over them. uvicorn's own multi-worker mode shares one listening socket, and
the first worker to wake accepts a whole burst of keep-alive connections: measured with
`make bench-service`, 8 clients all landed on one of two workers and the other idled.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

APP = "service.app:create_app"
_RESTART_PAUSE = 1.0


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, log_level: str) -> None:
    import uvicorn

    config = uvicorn.Config(APP, factory=True, log_level=log_level, access_log=False)
    uvicorn.Server(config).run(sockets=[_socket(host, port)])


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          model_dir: Path | None = None, log_level: str = "info") -> None:
    import uvicorn

    if model_dir is not None:
        os.environ["CONTAMFILTER_MODEL_DIR"] = str(model_dir)
    if workers == 1:
        uvicorn.run(APP, factory=True, host=host, port=port, log_level=log_level,
                    access_log=False)
        return
    metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are separate processes: /metrics must add up all of them.
        metrics_dir = tempfile.mkdtemp(prefix="contamfilter-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        _supervise(host, port, workers, log_level)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _supervise(host: str, port: int, workers: int, log_level: str) -> None:
    """Start the workers, restart one that dies, stop them all on SIGINT or SIGTERM."""
    _socket(host, port).close()  # fail here, once, if the address is taken
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start() -> multiprocessing.Process:
        proc = ctx.Process(target=_worker, args=(host, port, log_level), daemon=False)
        proc.start()
        return proc

    procs = [start() for _ in range(workers)]
    try:
        while not stopping:
            for k, proc in enumerate(procs):
                if not proc.is_alive() and not stopping:
                    time.sleep(_RESTART_PAUSE)
                    procs[k] = start()
            time.sleep(0.2)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
