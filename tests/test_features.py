import numpy as np

from filter import features, segment_text
from filter.document import rows_of
from filter.features import ParagraphFeatures, ShapeFeatures
from filter.shape import SHAPE_NAMES, shape_vector


def shape(text):
    return dict(zip(SHAPE_NAMES, shape_vector(text), strict=True))


def test_shape_sees_speaker_tags_ellipses_headings_and_junk():
    assert shape("**Host:** Welcome back to the show.")["bold speaker tag"] == 1
    assert shape("Dr. Khalil: Thank you for having me.")["speaker tag at start"] == 1
    assert shape("The council said: no.")["speaker tag at start"] == 0
    assert shape("2024 has been a year of shifts in...")["short text ending with '...'"] == 1
    assert shape("## The Road Ahead")["markdown heading"] == 1
    assert shape("1. First item")["list item"] == 1
    assert shape("spot_imgspot_img")["template junk"] == 1
    assert shape("Published 2024-12-07")["contains a date"] == 1
    assert shape("")["log chars"] == 0


STORY = """Council approves new bus lanes on Main Street

The city council approved dedicated bus lanes on Main Street after a long debate about \
traffic, buses and parking for shop owners along the corridor.

Bus riders said the lanes would cut commute times, and the council's transport \
committee expects buses to run every eight minutes once the lanes open.

Top Cryptos to Buy Now: Big Gains Expected From Seven Coins

Shop owners on Main Street worried about parking, but the council promised loading \
zones for deliveries near every block of the bus corridor."""


def test_topical_fit_tells_an_unrelated_teaser_from_the_story():
    doc = segment_text(STORY)
    rows = rows_of([doc])
    features = ParagraphFeatures(min_df=1).fit(rows)
    X = features.transform(rows).toarray()
    names = list(features.get_feature_names_out())
    rest = X[:, names.index("similarity to rest of document")]
    teaser = 3
    assert rest[teaser] < 0.05
    assert all(rest[i] > rest[teaser] + 0.1 for i in (1, 2, 4))


def test_topical_fit_of_a_batch_is_each_document_alone(monkeypatch):
    """Documents scored together get the columns each gets alone: one-paragraph documents,
    a paragraph with no content word, documents' rows interleaved (each document's in
    its order), and batches cut small enough that a call spans several Gram matrices."""
    docs = [segment_text(STORY), segment_text("Lone line about buses."),
            segment_text("12 34\n\nBus lanes open\n\n56"), segment_text("Another lone line."),
            segment_text(STORY.replace("council", "board"))]
    fitted = ParagraphFeatures(min_df=1).fit(rows_of(docs))
    alone = [features.topical_fit(rows, _topic(fitted, rows))
             for rows in (rows_of([d]) for d in docs)]
    rows = rows_of(docs)
    expected = np.vstack(alone)
    assert np.allclose(features.topical_fit(rows, _topic(fitted, rows)), expected,
                       rtol=0, atol=1e-12)
    # Round robin: each document's rows in its order, the documents interleaved.
    mixed = sorted(rows, key=lambda r: (r.index, r.key))
    back = np.argsort([rows.index(r) for r in mixed])
    got = features.topical_fit(mixed, _topic(fitted, mixed))[back]
    assert np.allclose(got, expected, rtol=0, atol=1e-12)
    monkeypatch.setattr(features, "_GRAM_BUDGET", 10)
    assert np.allclose(features.topical_fit(rows, _topic(fitted, rows)), expected,
                       rtol=0, atol=1e-12)
    lone = dict(zip(features.TOPIC_NAMES, expected[len(docs[0])], strict=True))
    assert lone["similarity to rest of document"] == 0
    assert lone["best similarity to another paragraph"] == 0
    assert expected[:len(docs[0]), 0].max() > 0.1


def test_a_long_documents_gram_matrix_by_blocks_of_rows_gives_the_same_floats(
        monkeypatch, seeds):
    """A document past ``_WHOLE_GRAM_ROWS`` paragraphs has its Gram matrix made a block of
    rows at a time, blocks that end anywhere (one row, a neighbour's pair cut in two):
    alone, the columns the whole matrix gives (up to BLAS's order of adding); in a batch
    with other documents, it goes alone, and the batch's columns are each document's."""
    docs = [s.document for s in seeds.values()]
    big = max(docs, key=len)
    fitted = ParagraphFeatures(min_df=1).fit(rows_of(docs))
    alone = rows_of([big])
    whole = features.topical_fit(alone, _topic(fitted, alone))
    assert whole[:, features.TOPIC_NAMES.index("best similarity to another paragraph")].any()
    rows = rows_of([docs[0], big, *docs[1:3]])
    batch = features.topical_fit(rows, _topic(fitted, rows))
    monkeypatch.setattr(features, "_WHOLE_GRAM_ROWS", len(big) - 1)
    for block in (1, 3 * len(big), 7 * len(big)):
        monkeypatch.setattr(features, "_GRAM_BLOCK", block)
        assert np.allclose(features.topical_fit(alone, _topic(fitted, alone)), whole,
                           rtol=0, atol=1e-12)
        assert np.allclose(features.topical_fit(rows, _topic(fitted, rows)), batch,
                           rtol=0, atol=1e-12)


def _topic(fitted, rows):
    from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

    words = fitted.words_.transform(features.row_texts(rows))
    topic = words[:, fitted.topic_columns_].tocsr()
    inplace_csr_row_normalize_l2(topic)
    return topic


def test_every_column_has_a_name(filt):
    rows = rows_of([segment_text(STORY)])
    Z = filt.model.combined_features(rows)
    names = filt.model.feature_names()
    assert Z.shape == (len(rows), len(names))
    assert len(set(names)) == len(names)
    assert "previous paragraph looks like promo" in names
    assert "similarity to rest of document" in names


def test_shape_features_carry_position_and_neighbours():
    rows = rows_of([segment_text("A\n\nB b b\n\n**Host:** hi")])
    sf = ShapeFeatures().fit(rows)
    X = sf.transform(rows).toarray()
    names = list(sf.get_feature_names_out())
    assert X[0, names.index("first paragraph")] == 1
    assert X[2, names.index("last paragraph")] == 1
    assert X[1, names.index("next: speaker tag at start")] == 1
    assert X[0, names.index("previous paragraph exists")] == 0
    assert np.isfinite(X).all()


def test_shape_of_a_call_is_each_document_alone():
    """Shape and position columns are computed for a whole call at once; a document's
    are still its own, bit for bit: its position, its neighbours, its repeats (the
    same line in another document is no repeat), rows of documents interleaved."""
    docs = [segment_text("**Host:** Hi\n\nShare this\n\n" + STORY + "\n\nShare this"),
            segment_text("Share this"), segment_text(STORY)]
    sf = ShapeFeatures().fit(rows_of(docs))
    alone = np.vstack([sf.transform(rows_of([d])).toarray() for d in docs])
    rows = rows_of(docs)
    assert np.array_equal(sf.transform(rows).toarray(), alone)
    mixed = sorted(range(len(rows)), key=lambda k: (rows[k].index, -rows[k].key))
    assert np.array_equal(sf.transform([rows[k] for k in mixed]).toarray(), alone[mixed])
    names = list(sf.get_feature_names_out())
    repeats = alone[:, names.index("repeats an earlier paragraph")]
    assert repeats.tolist() == [0] * (len(docs[0]) - 1) + [1] + [0] * (len(rows) - len(docs[0]))
    assert alone[len(docs[0]), names.index("first paragraph")] == 1
