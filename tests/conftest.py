"""Fixtures shared by the suite: the real shipped model, the repo's seeds, ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from filter import Filter
from training.annotations import LabeledDocument, load_seeds

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"


# Body lines of the real seeds that the shipped model drops, as its card's training left
# it: the body-versus-rest gate learned from real pages, whose references often leave
# out a bare one-word section heading, and it outvotes the seeds' model here. Listed so
# that any other loss still fails; see the README ("How the model is trained").
KNOWN_DROPPED_BODY = {("000", "Introduction")}


@pytest.fixture(scope="session")
def filt() -> Filter:
    return Filter()


@pytest.fixture(scope="session")
def seeds() -> dict[str, LabeledDocument]:
    """Every labeled document, keyed by file name without folder."""
    return {Path(d.name).name: d for d in load_seeds(SEEDS)}


@pytest.fixture(scope="session")
def real_seeds(seeds) -> list[LabeledDocument]:
    """The five real scraped documents the project started from."""
    return [d for name, d in sorted(seeds.items()) if name[:4] in {"000_", "001_", "002_",
                                                                   "003_", "004_"}]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: tests on the shared data need ../shared beside the repo")
    return SHARED
