from hypothesis import given, settings
from hypothesis import strategies as st

from filter import Format, Separator, detect_format, segment, segment_html, segment_text
from filter.segment import _SPACES, HEADING, LIST_ITEM, _clean_line, _line_tag


def texts(doc):
    return [p.text for p in doc.paragraphs]


def test_blank_lines_separate_paragraphs_and_single_lines_stay_together():
    doc = segment_text("Title\n\nFirst line\nsecond line\n\n\n  Last  ")
    assert texts(doc) == ["Title", "First line\nsecond line", "Last"]
    assert doc.separator is Separator.BLANK
    assert [p.index for p in doc.paragraphs] == [0, 1, 2]


def test_single_lines_are_paragraphs_when_the_document_has_no_blank_line():
    doc = segment_text("One.\nTwo.\r\nThree.\n")
    assert texts(doc) == ["One.", "Two.", "Three."]
    assert doc.separator is Separator.LINE


def test_headings_and_list_items_stand_alone_inside_a_block():
    doc = segment_text("Intro\n## Heading\nText after\n- item one\n2. item two\n\nEnd")
    assert texts(doc) == ["Intro", "## Heading", "Text after", "- item one", "2. item two",
                          "End"]
    assert [p.tag for p in doc.paragraphs] == ["text", "heading", "text", "item", "item", "text"]


def test_byte_order_mark_and_odd_spaces_are_dropped():
    doc = segment_text("\ufeffHello\u00a0 world\t!\n\nNext")
    assert texts(doc) == ["Hello world !", "Next"]


# Characters the shortcuts of _clean_line and _line_tag decide on: ASCII lines and others
# take different paths, so lines of ASCII only come up as often as mixed ones.
_ASCII_CHARS = st.sampled_from(list(" \t\f\v\r\x1c#-*+.)1x"))
_OTHER_CHARS = st.sampled_from(list("\u00a0\u2000\u2005\u200a\u200b\u3000\u2028\x85•٣²é中"))
_LINES = (st.text(_ASCII_CHARS, max_size=12)
          | st.text(_ASCII_CHARS | _OTHER_CHARS, max_size=12)
          | st.text(_ASCII_CHARS | _OTHER_CHARS | st.characters(), max_size=20))


@settings(max_examples=1000, deadline=None)
@given(_LINES)
def test_line_cleaning_and_tags_agree_with_their_regexes(line):
    # The checks that let most lines skip the regexes must never change an answer.
    cleaned = _clean_line(line)
    assert cleaned == _SPACES.sub(" ", line).strip()
    if cleaned:
        expected = ("heading" if HEADING.match(cleaned) else
                    "item" if LIST_ITEM.match(cleaned) else "text")
        assert _line_tag(cleaned) == expected


def test_decomposed_text_comes_out_composed_in_both_formats():
    # "Geprüft" written as u + U+0308, and the Angstrom sign, which composes to Å.
    decomposed = "Gepru\u0308ft: 3 \u212b"
    composed = "Gepr\u00fcft: 3 \u00c5"
    assert texts(segment_text(f"{decomposed}\n\nNext")) == [composed, "Next"]
    html = f"<html><body><p>{decomposed}</p><div>M<b>a\u0301</b>s</div></body></html>"
    assert texts(segment_html(html)) == [composed, "M\u00e1s"]


def test_soft_hyphens_are_taken_out_in_both_formats():
    # As a German site writes its long words; "&shy;" alone leaves no block and no double
    # space behind.
    assert texts(segment_text("Mag\u00adda\u00adle\u00adner Wein\n\u00ad\n\nNext")) == [
        "Magdalener Wein", "Next"]
    html = ("<html><body><p>Mag&shy;da&shy;le\u00adner &shy; Wein</p><p>&shy;</p>"
            "<p>Next</p></body></html>")
    assert texts(segment_html(html)) == ["Magdalener Wein", "Next"]


def test_ruby_pronunciation_guides_stay_out_of_the_sentence():
    html = ("<html><body><p>親が<ruby>虐待<rp>(</rp><rt>ぎゃくたい</rt><rp>)</rp></ruby>"
            "をした</p></body></html>")
    assert texts(segment_html(html)) == ["親が虐待をした"]


def test_a_streamed_react_segment_is_read_in_its_placeholders_place():
    # React's streamed rendering: the article comes last, hidden, and the page's script
    # swaps it for the placeholder and the fallback after it ("Loading").
    html = ('<html><body><h1>Title</h1><!--$?--><template id="B:0"></template>Loading'
            '<p>Loading the story</p>still<!--/$-->After<footer>Footer links</footer>'
            '<div hidden id="S:0"><p>The article.</p><p>More of it.</p></div>'
            '<script>$RC("B:0","S:0")</script></body></html>')
    assert texts(segment_html(html)) == ["Title", "The article.", "More of it.", "After",
                                         "Footer links"]


def test_a_streamed_segment_without_its_markers_is_still_read():
    # No end marker: what follows the placeholder is the page's own, kept in order; no
    # placeholder: the segment is read where it stands. Other hidden blocks stay hidden.
    html = ('<html><body><h1>Title</h1><template id="B:0"></template>Tail<p>Next</p>'
            '<div hidden id="S:0"><p>Placed.</p></div><div hidden id="S:7"><p>Late.</p></div>'
            '<div hidden><p>Never.</p></div></body></html>')
    assert texts(segment_html(html)) == ["Title", "Placed.", "Tail", "Next", "Late."]


def test_a_page_that_closes_body_and_html_early_is_read_to_its_end():
    # As a theme's header template does; a browser reads what follows into the body.
    html = ("<html><body><nav>Menu</nav></body></html>\n<div><h1>Title</h1>"
            "<p>The article.</p></div></BODY></HTML>")
    assert texts(segment_html(html)) == ["Menu", "Title", "The article."]
    assert texts(segment_html("<html><body><p>a</p></body></html>\n<!-- cached -->\n")) == ["a"]


def test_empty_and_blank_input_make_no_paragraphs():
    assert len(segment_text("")) == 0
    assert len(segment_text(" \n\n \n")) == 0


PAGE = """<!DOCTYPE html><html><head><title>T</title><style>.a{color:red}</style>
<script>var secret = "SCRIPT TEXT";</script></head><body>
<nav class="mainMenu" id="top-nav"><ul><li><a href="/">Home</a></li>
<li><a href="/w">World</a></li></ul></nav>
<article class="article__body"><h1>Council votes</h1>
<p>The council voted <b>7 to 2</b> on Tuesday, <a href="/x">records show</a>.<br>New line</p>
<div>loose text<p>inner</p>tail</div>
<div style="display: none">HIDDEN STYLE</div><p hidden>HIDDEN ATTR</p>
<span aria-hidden="true">HIDDEN ARIA</span><noscript>NOSCRIPT</noscript>
<template><p>TEMPLATE</p></template><!-- a comment --></article>
<footer><p>&copy; 2025 Example</p></footer></body></html>"""


def test_html_blocks_become_paragraphs_with_their_facts():
    doc = segment_html(PAGE)
    assert texts(doc) == ["Home", "World", "Council votes",
                          "The council voted 7 to 2 on Tuesday, records show.\nNew line",
                          "loose text", "inner", "tail", "© 2025 Example"]
    home, _, title, para, *_ = doc.paragraphs
    assert home.tag == "li" and home.link_density == 1.0
    assert set(home.ancestor_classes) >= {"main", "menu", "top", "nav"}
    assert title.tag == "h1" and "article" in title.ancestor_classes
    assert para.tag == "p" and 0.1 < para.link_density < 0.4
    assert para.depth > home.depth - 2


def test_scripts_styles_hidden_elements_and_comments_never_become_text():
    joined = "\n".join(texts(segment_html(PAGE)))
    for secret in ("SCRIPT", "color:red", "HIDDEN", "NOSCRIPT", "TEMPLATE", "comment", "T\n"):
        assert secret not in joined


def test_format_is_detected_and_can_be_overridden():
    assert detect_format(PAGE) is Format.HTML
    assert detect_format("<div><p>a</p><p>b</p></div>") is Format.HTML
    assert detect_format("Plain text with a < sign and <b>one tag</b>.") is Format.TEXT
    assert detect_format("Story\n\nMore story") is Format.TEXT
    assert detect_format("  <p>A fragment.</p><footer>x</footer>") is Format.HTML
    assert detect_format("Use the <p> tag for paragraphs and <div> for blocks.") is Format.TEXT
    assert detect_format("Story text. " + "<p>x</p>" * 8) is Format.HTML
    assert segment(PAGE).format is Format.HTML
    as_text = segment(PAGE, "text")
    assert as_text.format is Format.TEXT and "<nav" in "\n".join(texts(as_text))
    assert segment("<p>x</p>", Format.HTML).format is Format.HTML


def test_html_fragment_without_body_still_segments():
    assert texts(segment_html("<p>One</p><p>Two <i>three</i></p>")) == ["One", "Two three"]
