"""The shipped model: a joblib file plus a JSON card that vouches for it.

A joblib file is pickled code: loading one runs whatever it contains. So the card's
sha256 is checked before the file is opened, and a model from another scikit-learn
minor version is refused rather than silently mis-read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import sys
from pathlib import Path
from typing import Any

from .errors import ModelError

MODEL_DIR = Path(__file__).parent / "model"
MODEL_FILE = "contamfilter.joblib"
CARD_FILE = "card.json"

log = logging.getLogger(__name__)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def library_versions() -> dict[str, str]:
    import joblib
    import lxml.etree
    import numpy
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
        "lxml": ".".join(map(str, lxml.etree.LXML_VERSION)),
    }


def save_model(model: Any, card: dict[str, Any], directory: Path = MODEL_DIR) -> dict[str, Any]:
    """Write the model and its card; returns the card as written.

    The version is the package version plus the model file's hash, so any change to the
    model, from data or from code, gives a new version.
    """
    import joblib

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MODEL_FILE
    joblib.dump(model, path, compress=3)
    digest = sha256_file(path)
    card = {**card, "version": f"{card['version']}+{digest[:8]}", "libraries": library_versions(),
            "model_file": MODEL_FILE, "sha256": digest}
    (directory / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return card


def read_card(directory: Path = MODEL_DIR) -> dict[str, Any]:
    path = Path(directory) / CARD_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"no model card at {path} (run 'make train')") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read model card {path}: {exc}") from None


def load_model(directory: Path | str | None = None) -> tuple[Any, dict[str, Any]]:
    """(model, card) after the integrity and version checks; ModelError otherwise."""
    # Imported here: a process that only reads cards (the service's HTTP process, whose
    # scorers hold the model) never loads scikit-learn, 100-200 MB of memory.
    import joblib
    import sklearn

    directory = Path(directory) if directory is not None else MODEL_DIR
    card = read_card(directory)
    path = directory / card.get("model_file", MODEL_FILE)
    if not path.is_file():
        raise ModelError(f"model file {path} is missing (run 'make train')")
    expected = card.get("sha256")
    actual = sha256_file(path)
    if expected != actual:
        raise ModelError(
            f"model file {path} does not match its card (sha256 {actual[:12]}..., card says "
            f"{str(expected)[:12]}...): refusing to load a file that may have been altered"
        )
    trained = card.get("libraries", {}).get("scikit-learn", "unknown")
    if _minor(trained) != _minor(sklearn.__version__):
        raise ModelError(
            f"model was trained with scikit-learn {trained} but {sklearn.__version__} is "
            f"installed: install scikit-learn=={_minor(trained)}.* or retrain with 'make train'"
        )
    if trained != sklearn.__version__:
        log.info("model trained with scikit-learn %s, running %s", trained, sklearn.__version__)
    return joblib.load(path), card


def keep_pandas_out() -> None:
    """Keep pandas out of a process that only scores: call before loading a model.

    scikit-learn imports pandas whenever it is installed (the ``ray`` extra brings it, and
    pandas 3 brings pyarrow): 90 MB in every scoring process, which never gives
    scikit-learn a DataFrame. An entry of None in sys.modules makes ``import pandas`` fail
    as if it were not installed, which scikit-learn handles. For our own worker processes
    only (service scorers, ``--workers`` pool), never for a library user's process.
    """
    if "pandas" not in sys.modules:
        sys.modules["pandas"] = None  # type: ignore[assignment]
