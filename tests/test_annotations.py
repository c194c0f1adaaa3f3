import dataclasses
from pathlib import Path

import pytest

from filter import AnnotationError, Format, Label, Separator
from training.annotations import (
    format_text,
    load_file,
    load_seeds,
    parse_html,
    parse_text,
    seed_paragraphs_hash,
    seeds_hash,
)

from .conftest import SEEDS


def test_every_seed_loads_and_the_set_is_as_promised(seeds):
    assert len([n for n in seeds if n.endswith(".txt")]) >= 85
    assert len([n for n in seeds if n.endswith(".html")]) >= 20
    labels = {label for d in seeds.values() for label in d.labels}
    assert labels == set(Label)
    clean = [d for d in seeds.values() if set(d.labels) == {Label.BODY}]
    assert len(clean) >= len(seeds) // 12
    seps = {d.document.separator for d in seeds.values() if d.document.format is Format.TEXT}
    assert seps == {Separator.BLANK, Separator.LINE}


def test_format_round_trips():
    texts = ["Title", "## Heading", "Please enter your comment!\nPlease enter your name here",
             "1. item"]
    labels = [Label.BODY, Label.BODY, Label.BOILERPLATE, Label.BOILERPLATE]
    doc = parse_text(format_text(texts, labels, Separator.BLANK, "a comment"), "x.txt")
    assert doc.document.texts == texts and list(doc.labels) == labels
    assert doc.raw.startswith("Title\n\n## Heading\n\nPlease enter your comment!\nPlease")


def test_a_decomposed_seed_file_loads_composed_as_the_segmenter_reads_it():
    doc = parse_text("body | Gepru\u0308ft.\nboilerplate | Teilen", "seeds/nfd.txt")
    assert doc.document.texts == ["Gepr\u00fcft.", "Teilen"]


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("body | ok\nbodyy | typo", 2, "unknown label 'bodyy'"),
        ("body | ok\nbody |   ", 2, "empty paragraph"),
        ("body | ok\nno pipe here", 2, "expected 'label | text'"),
        ("     | orphan", 1, "continuation line with no paragraph"),
        ("@separator: line\nbody | a\n     | b", 3, "continuation line in a '@separator: line'"),
        ("@separator: dots\nbody | a", 1, "separator must be 'blank' or 'line'"),
        ("@colour: red\nbody | a", 1, "unknown setting '@colour'"),
        ("body | Intro\n     | ## Heading inside", 1, "not a paragraph of the rebuilt document"),
        ("body | Title\nbody | Story.\nbody | Title", 3, "repeats an earlier paragraph"),
    ],
)
def test_malformed_text_annotations_name_file_and_line(source, line, message):
    with pytest.raises(AnnotationError, match=message) as err:
        parse_text(source, "seeds/bad.txt")
    assert str(err.value).startswith(f"seeds/bad.txt:{line}: ")


def test_html_paragraph_without_a_label_is_named_with_its_line():
    page = ('<html><body>\n<article data-label="body"><p>Story text here.</p></article>\n'
            "<footer><p>Unlabeled footer line</p></footer></body></html>")
    with pytest.raises(AnnotationError, match="Unlabeled footer line") as err:
        parse_html(page, "p.html")
    assert str(err.value).startswith("p.html:3: ")


def test_html_inner_label_overrides_outer_and_bad_values_are_refused():
    page = ('<body><article data-label="body"><h1>T</h1>'
            '<p class="byline" data-label="boilerplate">By A</p><p>Text.</p></article></body>')
    doc = parse_html(page, "p.html")
    assert doc.labels == (Label.BODY, Label.BOILERPLATE, Label.BODY)
    with pytest.raises(AnnotationError, match="unknown label 'junk'"):
        parse_html('<body><p data-label="junk">x</p></body>', "p.html")


def test_non_utf8_seed_file_is_refused(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"body | caf\xe9\n")
    with pytest.raises(AnnotationError, match="not UTF-8"):
        load_file(path)


def test_seed_hash_changes_with_any_edit(tmp_path):
    for src in sorted(SEEDS.glob("00*.txt")):
        (tmp_path / src.name).write_bytes(src.read_bytes())
    before = seeds_hash(tmp_path)
    target = next(tmp_path.glob("003_*.txt"))
    target.write_text(target.read_text().replace("promo       | The 10", "body        | The 10"))
    assert seeds_hash(tmp_path) != before
    assert seeds_hash(Path(SEEDS)) == seeds_hash(Path(SEEDS))


def test_paragraph_hash_follows_what_segmentation_gives_not_the_bytes(tmp_path):
    for src in sorted(SEEDS.glob("00*.txt")):
        (tmp_path / src.name).write_bytes(src.read_bytes())
    docs = load_seeds(tmp_path)
    before = seed_paragraphs_hash(docs)
    assert seed_paragraphs_hash(load_seeds(tmp_path)) == before
    # Same files, one paragraph read with other block facts (as a segmentation change
    # would give): a new hash.
    doc = docs[0]
    first = dataclasses.replace(doc.document.paragraphs[0], tag="heading")
    changed = dataclasses.replace(doc, document=dataclasses.replace(
        doc.document, paragraphs=(first, *doc.document.paragraphs[1:])))
    assert seed_paragraphs_hash([changed, *docs[1:]]) != before
    relabeled = dataclasses.replace(doc, labels=(Label.PROMO, *doc.labels[1:]))
    assert doc.labels[0] != Label.PROMO
    assert seed_paragraphs_hash([relabeled, *docs[1:]]) != before
