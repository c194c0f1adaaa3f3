"""Training is deterministic, grouped by document, and writes a loadable model + card."""

import json
import shutil

from filter import Filter
from training.train import cross_validate, train

from .conftest import SEEDS


def small_seed_dir(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    picks = sorted(SEEDS.glob("*.txt"))[::4] + sorted(SEEDS.glob("html/*.html"))[:3]
    for src in picks:
        dest = seeds / src.relative_to(SEEDS)
        dest.parent.mkdir(exist_ok=True)
        shutil.copy(src, dest)
    return seeds


def test_two_trainings_on_the_same_seeds_give_the_same_card_and_model(tmp_path):
    seeds = small_seed_dir(tmp_path)
    cards = [train(seeds, tmp_path / f"model{k}", folds=3, log=lambda *_: None) for k in (1, 2)]
    assert cards[0]["cross_validation"] == cards[1]["cross_validation"]
    assert cards[0]["training_data"] == cards[1]["training_data"]
    assert cards[0]["sha256"] == cards[1]["sha256"]
    written = json.loads((tmp_path / "model1" / "card.json").read_text())
    assert written["sha256"] == cards[0]["sha256"]
    f = Filter(tmp_path / "model1")
    assert f.score("Share post:\n\nThe council met on Tuesday.").paragraphs


def test_cross_validation_never_puts_one_document_on_both_sides(monkeypatch, seeds):
    from filter.classifier import ParagraphClassifier

    docs = [d for n, d in sorted(seeds.items()) if n.endswith(".txt")][:15]
    seen_train: list[set[int]] = []
    real_fit = ParagraphClassifier.fit

    def spy(self, rows, y):
        seen_train.append({id(r.doc) for r in rows})
        return real_fit(self, rows, y)

    monkeypatch.setattr(ParagraphClassifier, "fit", spy)
    cross_validate(docs, folds=3)
    all_docs = {id(d.document) for d in docs}
    assert len(seen_train) == 3
    for trained_on in seen_train:
        assert trained_on < all_docs and len(all_docs - trained_on) >= 4
