"""The shortcut predictions give scikit-learn's own numbers, on the shipped model."""

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from filter.classifier import context_matrix
from filter.comments import comment_matrix
from filter.document import rows_of
from filter.inference import linear_proba, trees_positive
from filter.mainblock import main_block_matrix


@pytest.fixture(scope="module")
def matrices(filt, seeds):
    model = filt.model
    docs = [filt.segment(d.raw, "html" if d.name.endswith(".html") else None)
            for d in list(seeds.values())[:40]]
    rows = rows_of(docs)
    X = model.features_.transform(rows).tocsr()
    return model, rows, X


def test_linear_stages_match_predict_proba(matrices):
    model, rows, X = matrices
    local = model.types_.local_
    np.testing.assert_allclose(linear_proba(local, X), local.predict_proba(X),
                               rtol=0, atol=1e-12)
    Z = model.types_.combined(rows, X)
    context = model.types_.context_
    np.testing.assert_allclose(linear_proba(context, Z), context.predict_proba(Z),
                               rtol=0, atol=1e-12)


def test_binary_linear_model_matches_predict_proba():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    model = LogisticRegression().fit(X, X[:, 0] + rng.normal(size=200) > 0)
    np.testing.assert_allclose(linear_proba(model, X), model.predict_proba(X), atol=1e-12)


def test_gate_trees_match_predict_proba(matrices):
    model, rows, X = matrices
    gate = model.gate_
    assert gate is not None, "the shipped model has a body-versus-rest gate"
    D = gate._dense(X)
    first = gate.local_.predict_proba(D)[:, ::-1]
    np.testing.assert_allclose(trees_positive(gate.local_, D), first[:, 0], rtol=0, atol=1e-12)
    Z = np.hstack([D, context_matrix(rows, first), main_block_matrix(rows, first[:, 0]),
                   comment_matrix(rows)])
    np.testing.assert_allclose(gate.body(rows, X), gate.context_.predict_proba(Z)[:, 1],
                               rtol=0, atol=1e-12)


def test_gate_trees_on_a_few_rows_match_predict_proba_bit_for_bit(matrices):
    model, _rows, X = matrices
    gate = model.gate_
    D = gate._dense(X)
    for n in (1, 2, 5, 12, 13):  # both sides of the few-rows path
        part = np.ascontiguousarray(D[:n])
        assert np.array_equal(trees_positive(gate.local_, part),
                              gate.local_.predict_proba(part)[:, 1])


def test_trees_with_missing_values_match_predict_proba():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 4))
    y = X[:, 0] * X[:, 1] > 0
    X[rng.random(X.shape) < 0.1] = np.nan
    model = HistGradientBoostingClassifier(max_iter=30).fit(X, y)
    np.testing.assert_allclose(trees_positive(model, X), model.predict_proba(X)[:, 1],
                               rtol=0, atol=1e-12)
    few = X[:8]  # the few-rows path, with its missing values
    assert np.isnan(few).any()
    np.testing.assert_allclose(trees_positive(model, few), model.predict_proba(few)[:, 1],
                               rtol=0, atol=1e-12)


def test_gate_trees_in_blocks_of_rows_match_predict_proba_bit_for_bit(matrices):
    model, _rows, X = matrices
    D = model.gate_._dense(X)
    assert D.shape[0] > 700
    for n in (255, 256, 257, 700):  # one block, exactly one, one and a row, several
        part = np.ascontiguousarray(D[:n])
        assert np.array_equal(trees_positive(model.gate_.local_, part),
                              model.gate_.local_.predict_proba(part)[:, 1])
