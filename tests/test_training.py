"""Training is deterministic, grouped by document, and writes a loadable model + card."""

import json
import shutil

import numpy as np
import pytest

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
    assert len(cards[0]["training_data"]["seed_paragraphs_sha256"]) == 64
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


@pytest.fixture(scope="module")
def with_real_pages(tmp_path_factory):
    """Seeds, a six-page corpus over three sites the test writes, and a model on both."""
    from .test_corpus import GOLD, PAGE, write_corpus

    root = tmp_path_factory.mktemp("real")
    corpora = root / "corpora"
    corpora.mkdir()
    records = [{"id": str(k), "source": "tiny", "url": f"https://site{k % 3}.example/a",
                "html": PAGE, "gold": GOLD, "gold_type": "full_text", "meta": {}}
               for k in range(6)]
    write_corpus(corpora / "tiny.jsonl.gz", records)
    seeds = small_seed_dir(root)
    card = train(seeds, root / "model", folds=3, log=lambda *_: None, corpora=corpora)
    return {"corpora": corpora, "records": records, "seeds": seeds, "model": root / "model",
            "card": card}


def test_training_with_real_pages_adds_a_gate_and_records_the_corpora(with_real_pages):
    from .test_corpus import PAGE

    card = with_real_pages["card"]
    assert [c["name"] for c in card["training_data"]["corpora"]] == ["tiny"]
    assert card["training_data"]["corpora"][0]["pages"] == 6
    f = Filter(with_real_pages["model"])
    assert f.model.gate_ is not None
    result = f.score(PAGE, "html")
    assert "resumed its daily crossings" in result.clean_text
    assert "Copyright 2025" not in result.clean_text


def test_out_of_fold_models_never_saw_the_sites_they_score(with_real_pages):
    from training.corpus import _FOLD_FILTERS, cross_fitted, site_fold

    w = with_real_pages
    records = w["records"]
    folds = list(cross_fitted("tiny", records, folds=2, corpora=w["corpora"],
                              model_dir=w["model"], seeds=w["seeds"]))
    _FOLD_FILTERS.clear()
    scored = [page_id for _f, ids in folds for page_id in ids]
    assert sorted(scored) == sorted(r["id"] for r in records)  # each page exactly once
    for f, ids in folds:
        k = f.card["training_data"]["left_out_fold"]
        assert f.version.startswith(f"fold-{k}-of-2+")
        sites = {f"site{int(i) % 3}.example" for i in ids}
        assert all(site_fold("tiny", site, 2) == k for site in sites)
        left_out = sum(site_fold("tiny", f"site{int(r['id']) % 3}.example", 2) == k
                       for r in records)
        assert f.card["training_data"]["corpora"][0]["pages"] == 6 - left_out > 0


def test_out_of_fold_models_take_the_cards_recipe_or_the_gate_seed_asked_for(
        with_real_pages):
    from training.corpus import _FOLD_FILTERS, cross_fitted

    w = with_real_pages
    for asked, expected in ((None, 0), (7, 7)):
        folds = list(cross_fitted("tiny", w["records"], folds=2, corpora=w["corpora"],
                                  model_dir=w["model"], seeds=w["seeds"], gate_seed=asked))
        for f, _ids in folds:
            assert f.model.get_params() == {**w["card"]["model"]["params"],
                                            "gate_seed": expected}
            assert f.model.gate_.local_.random_state == expected
            assert f.card["model"]["params"]["gate_seed"] == expected
    _FOLD_FILTERS.clear()


def test_another_gate_seed_and_more_members_train_another_gate(with_real_pages, tmp_path):
    w = with_real_pages
    card = train(w["seeds"], tmp_path / "model", folds=3, log=lambda *_: None,
                 corpora=w["corpora"], gate_seed=5, gate_members=2)
    assert card["model"]["params"]["gate_seed"] == 5
    assert card["model"]["params"]["gate_members"] == 2
    assert w["card"]["model"]["params"]["gate_seed"] == 0
    assert w["card"]["model"]["params"]["gate_members"] == 1
    gate = Filter(tmp_path / "model").model.gate_
    assert [m.random_state for m in (gate.local_, *gate.more_local_)] == [5, 6]
    assert [m.random_state for m in (gate.context_, *gate.more_context_)] == [5, 6]


def test_the_seeds_share_of_the_gate_is_the_one_asked_for(with_real_pages, tmp_path, capsys):
    from training.train import main

    w = with_real_pages
    card = train(w["seeds"], tmp_path / "model", folds=3, log=lambda *_: None,
                 corpora=w["corpora"], seed_share=0.3)
    assert card["model"]["params"]["seed_share"] == 0.3
    model = Filter(tmp_path / "model").model
    y = np.array(["body", "other", "body", "other", None], dtype=object)
    real = np.array([False, False, True, True, True])
    # The two labeled real rows weigh 200, so the two seed rows 0.3 of the whole.
    weights = model._gate_weights(y, real, [1.0, 1.0, 100.0, 100.0, 100.0])
    assert weights.tolist() == pytest.approx([0.3 * 200 / 0.7 / 2] * 2 + [100.0] * 3)
    with pytest.raises(SystemExit):
        main(["--seed-share", "1", "--out", str(tmp_path / "never")])
    assert "--seed-share must be between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_out_of_fold_models_refuse_a_different_corpus_file(with_real_pages, tmp_path):
    from training.corpus import cross_fitted

    from .test_corpus import write_corpus

    w = with_real_pages
    changed = tmp_path / "corpora"
    changed.mkdir()
    write_corpus(changed / "tiny.jsonl.gz", w["records"][:5])
    with pytest.raises(ValueError, match="sha256 mismatch"):
        list(cross_fitted("tiny", w["records"], folds=2, corpora=changed,
                          model_dir=w["model"], seeds=w["seeds"]))


def test_the_gate_weighs_a_snippet_pages_labels_more(tmp_path, monkeypatch):
    from filter.classifier import Gate
    from training.annotations import load_seeds
    from training.corpus import SNIPPET_WEIGHT, load_real_pages
    from training.train import fit

    from .test_corpus import GOLD, PAGE, write_corpus

    snippets = {"with": ["resumed its daily crossings"],
                "without": ["Copyright 2025 Island Gazette. All rights reserved."]}
    write_corpus(tmp_path / "mixed.jsonl.gz", [
        {"id": str(k), "url": f"https://site{k}.example/a", "html": PAGE,
         "gold": "" if k == 3 else GOLD, "gold_type": "snippets" if k == 3 else "full_text",
         "meta": snippets if k == 3 else {}} for k in range(4)])
    real = load_real_pages(tmp_path, workers=1)
    seen = {}
    gate_fit = Gate.fit

    def spy(self, rows, X, y, groups, first_column, weight=None):
        seen.update(y=y, weight=weight, rows=rows)
        return gate_fit(self, rows, X, y, groups, first_column, weight)

    monkeypatch.setattr(Gate, "fit", spy)
    fit(load_seeds(small_seed_dir(tmp_path)), real)
    snippet_docs = {id(d) for d, s in zip(real.documents, real.by_snippets, strict=True) if s}
    labeled = np.array([label is not None for label in seen["y"]])
    on_snippet_page = np.array([id(r.doc) in snippet_docs for r in seen["rows"]])
    weight = np.asarray(seen["weight"])
    assert (labeled & on_snippet_page).sum() == 4  # the two snippets, in both modes
    assert (weight[labeled & on_snippet_page] == SNIPPET_WEIGHT).all()
    from_reference = labeled & ~on_snippet_page & np.isin(
        [id(r.doc) for r in seen["rows"]], [id(d) for d in real.documents])
    assert from_reference.sum() > 10 and (weight[from_reference] == 1).all()
