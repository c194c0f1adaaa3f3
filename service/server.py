"""`contamfilter serve`: uvicorn with the app, and ``workers`` scorer processes behind it.

One HTTP process parses requests and hands documents to the scorers through one queue
(``service.scorers``); with ``workers=1`` it scores in its own process. The settings
come from the environment (``CONTAMFILTER_*``), with the command line's on top.
"""

from __future__ import annotations

from pathlib import Path

from .settings import Settings


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          model_dir: Path | None = None, log_level: str = "info",
          allow_save: Path | None = None) -> None:
    import uvicorn

    from .app import create_app

    overrides: dict[str, object] = {"workers": workers}
    if model_dir is not None:
        overrides["model_dir"] = model_dir
    if allow_save is not None:
        overrides["allow_save"] = allow_save
    app = create_app(Settings(**overrides))
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
