import numpy as np

from filter import segment_text
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
