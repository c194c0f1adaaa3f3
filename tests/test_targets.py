"""The issue's targets read off a `make eval` table."""

from training import targets


def row(tool, corpus, mode, f1=None, kept=None, removed=None, speed=None):
    return {"tool": tool, "corpus": corpus, "mode": mode, "token_f1": f1, "with_kept": kept,
            "without_removed": removed, "pages_per_s": speed}


ROWS = [
    row("contamfilter", "scrapinghub", "html", f1=0.949, speed=60.0),
    row("contamfilter", "scrapinghub", "text", f1=0.93, speed=120.0),
    row("trafilatura", "scrapinghub", "html", f1=0.948, speed=31.0),
    row("readability", "scrapinghub", "html", f1=0.955, speed=30.0),
    row("justext", "scrapinghub", "html", f1=0.99, speed=40.0),  # not a named peer
    row("contamfilter", "trafilatura_eval", "html", kept=0.95, removed=0.88, speed=40.0),
    row("trafilatura", "trafilatura_eval", "html", kept=0.948, removed=0.885, speed=20.0),
]


def test_each_target_compares_contamfilter_with_its_bar():
    got = {t["target"]: t for t in targets.check(ROWS)}
    html = got["scrapinghub HTML token F1 >= best peer's"]
    assert (html["bar"], html["against"], html["met"]) == (0.955, "readability", False)
    assert html["margin"] == -0.006
    assert got["scrapinghub text token F1 >= 0.92"]["met"]
    kept = got["trafilatura_eval HTML must-keep snippets kept >= trafilatura's"]
    removed = got["trafilatura_eval HTML must-drop snippets removed >= trafilatura's"]
    assert (kept["met"], removed["met"]) == (True, False)
    speed = got["scrapinghub HTML pages/s >= 2x trafilatura's (ratio)"]
    assert (round(speed["value"], 4), speed["met"]) == (round(60 / 31, 4), False)
    assert got["trafilatura_eval HTML pages/s >= 2x trafilatura's (ratio)"]["met"]


def test_a_target_without_its_rows_is_not_listed():
    got = [t["target"] for t in targets.check(ROWS)]
    assert not any("wcxb_dev_articles" in t for t in got)
    assert targets.check([row("contamfilter", "scrapinghub", "html", f1=0.9)]) == []


def test_lines_and_markdown_say_met_or_missed():
    found = targets.check(ROWS)
    lines = targets.lines(found)
    assert len(lines) == len(found)
    assert lines[0].startswith("MISSED  scrapinghub HTML token F1")
    table = targets.markdown(found)
    assert len(table) == len(found) + 2 and "**missed**" in table[2]
    assert targets.markdown([]) == []
