"""Scoring from the unassembled features gives the assembled matrix's numbers."""

import numpy as np
import pytest
import scipy.sparse as sp

from filter.classifier import _split
from filter.document import rows_of


@pytest.fixture(scope="module")
def parts(filt, seeds):
    model = filt.model
    # Text and HTML documents, so that block columns and containers are not all zero.
    docs = [filt.segment(d.raw, "html" if d.name.endswith(".html") else None)
            for d in seeds.values()]
    rows = rows_of(docs)
    return model, rows, model.features_.transform(rows).tocsr(), \
        model.features_.transform_parts(rows)


def test_parts_are_the_columns_of_the_assembled_matrix(parts):
    model, _rows, X, p = parts
    layout = model.features_.layout()
    assert X.shape[1] == sum(layout)
    assert p.blocks.nnz and np.count_nonzero(p.dense[:, -layout.container:])
    columns = np.arange(X.shape[1])
    part, within = layout.where(columns)
    for k, piece in enumerate([p.words, p.blocks, sp.csr_matrix(p.dense)]):
        picked = columns[part == k]
        assert (X[:, picked] != piece[:, within[part == k]]).nnz == 0


def test_gate_columns_gathered_from_parts_are_exact(parts):
    model, _rows, X, p = parts
    assert np.array_equal(_split(model).gate.gather(p), model.gate_._dense(X))


def test_four_way_stages_from_parts_match_the_assembled_matrix(parts):
    model, rows, X, p = parts
    split = _split(model)
    np.testing.assert_allclose(
        model.types_.proba_from_parts(rows, p, split.local, split.context),
        model.types_.proba(rows, X), rtol=0, atol=1e-12)


def test_a_refitted_model_is_split_again(filt):
    model = filt.model
    first = _split(model)
    assert _split(model) is first
    types = model.types_
    try:
        model.types_ = type(types).__new__(type(types))
        model.types_.__dict__.update(types.__dict__)
        assert _split(model) is not first
    finally:
        model.types_ = types
