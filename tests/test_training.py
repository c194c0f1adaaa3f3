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


def test_training_with_real_pages_adds_a_gate_and_records_the_corpora(tmp_path):
    from .test_corpus import GOLD, PAGE, write_corpus

    corpora = tmp_path / "corpora"
    corpora.mkdir()
    write_corpus(corpora / "tiny.jsonl.gz", [
        {"id": str(k), "source": "tiny", "url": f"https://site{k % 3}.example/a",
         "html": PAGE, "gold": GOLD, "gold_type": "full_text", "meta": {}}
        for k in range(6)
    ])
    card = train(small_seed_dir(tmp_path), tmp_path / "model", folds=3, log=lambda *_: None,
                 corpora=corpora)
    assert [c["name"] for c in card["training_data"]["corpora"]] == ["tiny"]
    assert card["training_data"]["corpora"][0]["pages"] == 6
    f = Filter(tmp_path / "model")
    assert f.model.gate_ is not None
    result = f.score(PAGE, "html")
    assert "resumed its daily crossings" in result.clean_text
    assert "Copyright 2025" not in result.clean_text
