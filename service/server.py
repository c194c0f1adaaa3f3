"""`contamfilter serve`: uvicorn with the app factory, one or more worker processes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          model_dir: Path | None = None, log_level: str = "info") -> None:
    import uvicorn

    if model_dir is not None:
        os.environ["CONTAMFILTER_MODEL_DIR"] = str(model_dir)
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are separate processes: /metrics must add up all of them.
        metrics_dir = tempfile.mkdtemp(prefix="contamfilter-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run("service.app:create_app", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level, access_log=False)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
