"""The shipped model must have been trained on the seeds/ of this commit."""

from filter.artifact import read_card
from training.annotations import seeds_hash

from .conftest import SEEDS


def test_shipped_model_was_trained_on_the_current_seeds():
    card = read_card()
    assert card["training_data"]["seeds_sha256"] == seeds_hash(SEEDS), (
        "seeds/ changed since the shipped model was trained: run 'make train' and commit "
        "filter/model/"
    )
