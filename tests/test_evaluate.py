"""The evaluation harness (training/evaluate.py): scoring functions, and runs end to end.

The corpus used end to end is written here, in the corpora's format, from pages this file
authors; the real corpora (../shared/corpora) are only read, in one quick run.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from training import evaluate as ev

# --- token precision / recall / F1 ----------------------------------------------------


def test_tokens_are_lowercased_word_runs_with_counts():
    assert ev.tokens("The cat, the HAT! co-op 42") == {
        "the": 2, "cat": 1, "hat": 1, "co": 1, "op": 1, "42": 1}
    assert ev.tokens("Straße ÜBER café") == {"straße": 1, "über": 1, "café": 1}
    assert ev.tokens(None) == {}


def test_token_prf_counts_multiplicity():
    # output {the: 2, cat: 1}, gold {the: 1, cat: 2}: two tokens in common of three each
    p, r, f = ev.token_prf("the the cat", "the cat cat")
    assert (p, r, f) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    # a repeated token only matches as often as the gold has it
    p, r, f = ev.token_prf("news news news news", "news today")
    assert p == pytest.approx(1 / 4)
    assert r == pytest.approx(1 / 2)
    assert f == pytest.approx(2 * (1 / 4) * (1 / 2) / (1 / 4 + 1 / 2))


def test_token_prf_ignores_case_and_punctuation():
    assert ev.token_prf("Hello, WORLD!", "hello world") == (1.0, 1.0, 1.0)


def test_token_prf_precision_and_recall_are_not_swapped():
    p, r, _ = ev.token_prf("one two", "one two three four")
    assert (p, r) == (1.0, 0.5)
    p, r, _ = ev.token_prf("one two three four", "one two")
    assert (p, r) == (0.5, 1.0)


@pytest.mark.parametrize(("output", "gold", "expected"), [
    ("", "", (1.0, 1.0, 1.0)),
    (None, None, (1.0, 1.0, 1.0)),
    ("... !!", "  ", (1.0, 1.0, 1.0)),      # no word token on either side
    ("", "the gold text", (0.0, 0.0, 0.0)),
    ("--", "the gold text", (0.0, 0.0, 0.0)),
    ("some output", "", (0.0, 0.0, 0.0)),
    ("alpha beta", "gamma delta", (0.0, 0.0, 0.0)),
])
def test_token_prf_empty_and_disjoint(output, gold, expected):
    assert ev.token_prf(output, gold) == expected


# --- snippets -------------------------------------------------------------------------


def test_snippets_match_after_whitespace_and_case_normalisation():
    output = "The Council voted\n\non  Tuesday.\tBus lanes   grow."
    kept, removed = ev.snippet_scores(
        output, ["council voted on tuesday", "BUS LANES\ngrow", "not there"],
        ["subscribe now", "bus lanes grow"])
    assert kept == pytest.approx(2 / 3)
    assert removed == pytest.approx(1 / 2)


def test_snippet_scores_without_snippets_are_none_and_empty_snippets_ignored():
    assert ev.snippet_scores("text", None, None) == (None, None)
    assert ev.snippet_scores("text", [], ["  "]) == (None, None)
    assert ev.snippet_scores("", ["a b"], ["c"]) == (0.0, 1.0)
    assert ev.snippet_counts("alpha beta", ["alpha", "", "gamma"], ["beta"]) == (1, 2, 0, 1)


def test_justext_language():
    page = {"id": "x", "url": "https://www.example.de/a", "html": "<html></html>", "meta": {}}
    assert ev.justext_language(page) == "German"
    assert ev.justext_language({**page, "url": "https://example.com/a"}) == "English"
    assert ev.justext_language({"id": "example.at.story.html", "url": None, "html": ""}) \
        == "German"
    assert ev.justext_language({"id": "x", "url": None, "html": '<html lang="de-CH">'}) \
        == "German"
    assert ev.justext_language({"id": "x", "url": None, "html": "", "meta": {"region": "AT"}}) \
        == "German"
    assert ev.justext_language({"id": "x", "url": None, "html": '<html lang="en">'}) \
        == "English"


def test_rows_average_over_pages():
    row = ev.Row("t", "html", "c")
    row.score({"id": "1", "gold_type": "full_text", "gold": "a b", "meta": {}}, "a b")
    row.score({"id": "2", "gold_type": "full_text", "gold": "a b", "meta": {}}, "")
    row.score({"id": "3", "gold_type": "snippets", "gold": "",
               "meta": {"with": ["x"], "without": ["y"]}}, "x y")
    s = row.summary()
    assert (s["pages"], s["token_pages"], s["token_f1"]) == (3, 2, 0.5)
    assert (s["token_precision"], s["token_recall"]) == (0.5, 0.5)
    assert row.per_page[0]["token_precision"] == 1.0 and row.per_page[2]["token_recall"] is None
    assert (s["with_kept"], s["without_removed"], s["empty_outputs"]) == (1.0, 0.0, 1)
    assert [(r["page"], r["token_f1"], r["with_kept"], r["without_removed"])
            for r in row.per_page] == [("1", 1.0, None, None), ("2", 0.0, None, None),
                                       ("3", None, 1.0, 0.0)]


def test_svg_and_tables_from_rows():
    rows = [{"tool": "a", "mode": "html", "corpus": "c1", "label": "a", "out_of_fold": True,
             "pages": 2, "token_precision": 0.5, "token_recall": 1.0, "token_f1": 0.66,
             "with_kept": None, "without_removed": None, "pages_per_s": 12.3, "errors": 1,
             "empty_outputs": 1},
            {"tool": "b", "mode": "html", "corpus": "c2", "label": "b", "out_of_fold": False,
             "pages": 2, "token_precision": None, "token_recall": None, "token_f1": None,
             "with_kept": 0.5, "without_removed": 1.0, "pages_per_s": None, "errors": 0,
             "empty_outputs": 0}]
    svg = ET.fromstring(ev.f1_svg(rows))
    assert len(svg.findall("{http://www.w3.org/2000/svg}rect")) >= 2
    table = ev.text_table(rows)
    assert "0.660" in table and "oof" in table and "12.3" in table
    assert ev.markdown_table(rows).count("\n") == 3


# --- end to end -----------------------------------------------------------------------

ARTICLE = """<!doctype html><html lang="en"><head><title>{title}</title></head><body>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav></header>
<article><h1>{title}</h1>
<p class="byline">By Staff Writer, 3 March</p>
{body}
<div class="share">Share this story: Facebook Twitter Email</div>
</article>
<aside class="related"><h3>More stories</h3><ul>
<li><a href="/x">Ten gadgets you must buy before the holidays</a></li>
<li><a href="/y">Celebrity chef opens a restaurant downtown</a></li></ul></aside>
<footer><p>Copyright 2026 Example Gazette. All rights reserved. Privacy policy. Cookies.</p>
</footer></body></html>"""

BODIES = [
    ("Harbour ferry timetable extended for the summer",
     ["The harbour authority said on Monday that the evening ferry will run until midnight "
      "from June to September, after a trial last year carried more passengers than expected.",
      "Operators will add two boats to the route and hire twelve seasonal crew members, the "
      "authority said, adding that fares would stay at last year's level.",
      "Residents of the island had asked for later crossings for several years, arguing that "
      "the last boat at nine in the evening made it impossible to work in the city."]),
    ("Library reopens after roof repairs",
     ["The central library reopened its doors on Saturday after eight months of repairs to a "
      "roof that had leaked onto the reading room during the winter storms.",
      "The council spent a little over two million on the work, which also added solar "
      "panels and a new lift to the upper floor, according to the head librarian."]),
    ("Wetland birds return to the restored marsh",
     ["Volunteers counted more than forty species of birds on the restored marsh this spring, "
      "twice as many as before the drainage ditches were filled in three years ago.",
      "The trust that manages the site plans to open a second hide for visitors next year "
      "and to extend the boardwalk across the reed beds."]),
]


def write_corpus(path: Path) -> list[dict]:
    records = []
    for k, (title, paragraphs) in enumerate(BODIES):
        html = ARTICLE.format(title=title, body="\n".join(f"<p>{p}</p>" for p in paragraphs))
        gold = "\n\n".join([title, *paragraphs])
        record = {"id": f"page-{k}", "source": "handmade", "url": f"https://example.com/{k}",
                  "html": html, "gold": gold, "gold_type": "full_text", "meta": {}}
        if k == 2:  # one snippets-only page, as in trafilatura_eval
            record.update(gold="", gold_type="snippets",
                          meta={"with": [paragraphs[0][:60]], "without": ["Share this story"]})
        records.append(record)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
    return records


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("corpora")
    write_corpus(directory / "handmade.jsonl.gz")
    return directory


EXTRACTORS = {"trafilatura": "trafilatura", "readability": "readability",
              "justext": "justext", "resiliparse": "resiliparse.extract.html2text"}


def importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def test_end_to_end_on_a_handmade_corpus(corpus_dir, tmp_path, capsys):
    pytest.importorskip("html_text", reason="text mode needs the eval extra: "
                                            "pip install -e '.[eval]'")
    tools = ["contamfilter", "page-text"] + [t for t, m in EXTRACTORS.items() if importable(m)]
    out = tmp_path / "reports"
    status = ev.main(["--corpora", str(corpus_dir), "--tools", ",".join(tools),
                      "--out", str(out)])
    assert status == 0
    stdout = capsys.readouterr().out
    assert "tok F1" in stdout and "handmade" in stdout

    result = json.loads((out / "eval.json").read_text())
    rows = {(r["tool"], r["mode"]): r for r in result["rows"]}
    expected = {("contamfilter", "html"), ("contamfilter", "text"), ("page-text", "text")}
    expected |= {(t, "html") for t in tools if t in EXTRACTORS}
    assert set(rows) == expected
    for row in rows.values():
        assert row["pages"] == 3 and row["token_pages"] == 2
        assert row["snippet_pages_with"] == 1 and row["snippet_pages_without"] == 1
        assert 0.0 <= row["token_f1"] <= 1.0
        assert row["errors"] == 0 and row["out_of_fold"] is False
        assert row["pages_per_s"] > 0
    assert rows[("page-text", "text")]["token_recall"] == 1.0
    assert rows[("page-text", "text")]["without_removed"] == 0.0
    assert "dump_pages_per_s" in rows[("contamfilter", "text")]
    # contamfilter drops the page furniture the whole page's text keeps
    assert rows[("contamfilter", "html")]["token_precision"] \
        > rows[("page-text", "text")]["token_precision"]
    assert result["model"]["version"] and result["versions"]["contamfilter"]
    assert result["command"].startswith("python -m training.evaluate")
    assert result["corpora"]["handmade"]["justext_languages"] == {"English": 3}

    md = (out / "eval.md").read_text()
    assert "![](eval_f1.svg)" in md and "| contamfilter | handmade | html |" in md
    ET.fromstring((out / "eval_f1.svg").read_text())
    per_page = [json.loads(line) for line in (out / "eval-pages.jsonl").read_text().splitlines()]
    assert len(per_page) == 3 * len(rows)
    ours = [r for r in per_page if (r["tool"], r["mode"]) == ("contamfilter", "html")]
    assert len({r["page"] for r in ours}) == 3
    # The per-page figures average to the row's figures.
    f1s = [r["token_f1"] for r in ours if r["token_f1"] is not None]
    assert sum(f1s) / len(f1s) == pytest.approx(rows[("contamfilter", "html")]["token_f1"])
    kept = [r["with_kept"] for r in ours if r["with_kept"] is not None]
    assert kept == [rows[("contamfilter", "html")]["with_kept"]]
    # reports hold figures and ids, never the pages' text
    for report in ("eval.json", "eval.md", "eval_f1.svg", "eval-pages.jsonl"):
        text = (out / report).read_text()
        assert "harbour authority" not in text and "Share this story" not in text


def test_limit_and_unknown_tool(corpus_dir, tmp_path, capsys):
    status = ev.main(["--corpora", str(corpus_dir), "--tools", "contamfilter", "--limit", "1",
                      "--out", str(tmp_path)])
    assert status == 0
    rows = json.loads((tmp_path / "eval.json").read_text())["rows"]
    assert {r["pages"] for r in rows} == {1}
    with pytest.raises(SystemExit) as exit_info:
        ev.main(["--tools", "contamfilter,newspaper"])
    assert exit_info.value.code == 2
    assert "newspaper" in capsys.readouterr().err


def test_missing_corpora_is_a_clear_error(tmp_path, capsys):
    assert ev.main(["--corpora", str(tmp_path / "nowhere"), "--tools", "contamfilter",
                    "--out", str(tmp_path)]) == 1
    assert "no corpora directory" in capsys.readouterr().err


# --- out-of-fold hook -----------------------------------------------------------------


class FoldFilter:
    """Stands in for a cross-fitted filter: keeps nothing, so its rows are recognisable."""

    version = "fold-stub"

    def score(self, raw, fmt=None):
        return types.SimpleNamespace(clean_text="")


@pytest.fixture()
def card_lists_handmade(monkeypatch):
    import filter.artifact

    card = filter.artifact.read_card()
    listed = {**card, "training_data": {**card.get("training_data", {}),
                                        "corpora": [{"name": "handmade", "pages": 3}]}}
    monkeypatch.setattr(filter.artifact, "read_card", lambda *a, **k: listed)


def test_corpus_in_the_training_data_is_scored_out_of_fold(
        corpus_dir, tmp_path, monkeypatch, card_lists_handmade):
    calls = []

    def cross_fitted(name, pages, folds=5, corpora=None):
        calls.append((name, [p["id"] for p in pages], folds, corpora))
        ids = [p["id"] for p in pages]
        yield FoldFilter(), ids[:2]
        yield FoldFilter(), ids[2:]

    module = types.ModuleType("training.corpus")
    module.cross_fitted = cross_fitted
    monkeypatch.setitem(sys.modules, "training.corpus", module)
    status = ev.main(["--corpora", str(corpus_dir), "--tools", "contamfilter", "--limit", "2",
                      "--out", str(tmp_path)])
    assert status == 0
    # the folds are made on the whole file even under --limit
    assert calls == [("handmade", ["page-0", "page-1", "page-2"], 5, corpus_dir)]
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["corpora"]["handmade"]["out_of_fold"] is True
    assert result["corpora"]["handmade"]["out_of_fold_models"] == ["fold-stub"]
    row = next(r for r in result["rows"] if r["mode"] == "html")
    assert row["out_of_fold"] is True and row["token_f1"] == 0.0  # the stub's output
    assert "| oof |" in (tmp_path / "eval.md").read_text()


def test_a_gate_seed_reaches_the_out_of_fold_models_and_the_report(
        corpus_dir, tmp_path, monkeypatch, card_lists_handmade):
    seeds = []

    def cross_fitted(name, pages, folds=5, corpora=None, gate_seed=None):
        seeds.append(gate_seed)
        yield FoldFilter(), [p["id"] for p in pages]

    module = types.ModuleType("training.corpus")
    module.cross_fitted = cross_fitted
    monkeypatch.setitem(sys.modules, "training.corpus", module)
    assert ev.main(["--corpora", str(corpus_dir), "--tools", "contamfilter", "--gate-seed", "3",
                    "--out", str(tmp_path)]) == 0
    assert seeds == [3]
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["model"]["out_of_fold_gate_seed"] == 3
    assert "gate seed is 3" in (tmp_path / "eval.md").read_text()


def test_out_of_fold_without_cross_fitted_fails_clearly(
        corpus_dir, tmp_path, monkeypatch, capsys, card_lists_handmade):
    monkeypatch.setitem(sys.modules, "training.corpus", types.ModuleType("training.corpus"))
    assert ev.main(["--corpora", str(corpus_dir), "--tools", "contamfilter",
                    "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "out-of-fold" in err and "cross_fitted" in err
    assert not (tmp_path / "eval.json").exists()


# --- the real corpora -----------------------------------------------------------------


@pytest.mark.shared
def test_quick_run_on_the_real_corpora(shared_dir, tmp_path, monkeypatch):
    import filter.artifact

    # The shipped model's card may list these corpora, and then every run first trains
    # five out-of-fold models (minutes each): that path has its own test in
    # test_training.py. Here: the pipeline over every real corpus, scored in-sample.
    card = filter.artifact.read_card()
    unlisted = {**card, "training_data": {**card.get("training_data", {}), "corpora": []}}
    monkeypatch.setattr(filter.artifact, "read_card", lambda *a, **k: unlisted)
    corpora = shared_dir / "corpora"
    if not corpora.is_dir():
        pytest.skip(f"{corpora} is absent")
    pytest.importorskip("html_text", reason="text mode needs the eval extra: "
                                            "pip install -e '.[eval]'")
    assert ev.main(["--corpora", str(corpora), "--limit", "3", "--tools", "contamfilter",
                    "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "eval.json").read_text())
    names = {path.name.removesuffix(".jsonl.gz") for path in corpora.glob("*.jsonl.gz")}
    assert set(result["corpora"]) == names
    assert len(result["rows"]) == 2 * len(names)
    for row in result["rows"]:
        assert row["pages"] == 3 and row["errors"] == 0
        assert row["token_f1"] is not None or row["with_kept"] is not None


def test_tools_run_page_by_page_in_a_turning_order():
    calls: list[tuple[str, str]] = []

    def tool(name: str) -> ev.Runner:
        def extract(page, _dump):
            calls.append((page["id"], name))
            if name == "b" and page["id"] == "2":
                raise ValueError("broken page")
            return "a b"
        return ev.Runner(name, "html", extract=extract)

    runners = [tool("a"), tool("b"), tool("c")]
    rows = [ev.Row(r.tool, r.mode, "c") for r in runners]
    pages = [{"id": str(k), "gold_type": "full_text", "gold": "a b", "meta": {}}
             for k in range(4)]
    logged: list[str] = []
    ev.run_interleaved(runners, rows, pages, {}, logged.append)
    scored = [c for c in calls if c[0] != "warm-up"]
    assert scored == [("0", "a"), ("0", "b"), ("0", "c"), ("1", "b"), ("1", "c"), ("1", "a"),
                      ("2", "c"), ("2", "a"), ("2", "b"), ("3", "a"), ("3", "b"), ("3", "c")]
    assert [[r["page"] for r in row.per_page] for row in rows] == [["0", "1", "2", "3"]] * 3
    assert [row.summary()["token_f1"] for row in rows] == [1.0, 0.75, 1.0]
    assert rows[1].errors == {"ValueError": 1} and len(logged) == 1
