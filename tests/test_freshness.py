"""The shipped model must have been trained on the seeds/ of this commit."""

from filter.artifact import read_card
from training.annotations import seed_paragraphs_hash, seeds_hash

from .conftest import SEEDS


def test_shipped_model_was_trained_on_the_current_seeds():
    card = read_card()
    assert card["training_data"]["seeds_sha256"] == seeds_hash(SEEDS), (
        "seeds/ changed since the shipped model was trained: run 'make train' and commit "
        "filter/model/"
    )


def test_shipped_model_was_trained_on_the_paragraphs_the_seeds_give_today(seeds):
    # The files can stay byte for byte while a change to segmentation or to the seed
    # formats gives training other paragraphs from them. (``seeds``: the session's
    # load_seeds(SEEDS), in its order.)
    card = read_card()
    assert card["training_data"]["seed_paragraphs_sha256"] == seed_paragraphs_hash(
        list(seeds.values())), (
        "the paragraphs and labels read from seeds/ changed since the shipped model was "
        "trained (segmentation or the seed format changed): retrain it as the README's "
        "'The model and how it is made' says and commit filter/model/"
    )
