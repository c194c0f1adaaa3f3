import json

import numpy as np
import pytest

from training.compare import bootstrap_interval, compare, main, read_run


def write_run(path, f1_by_page, tool="contamfilter", mode="text", corpus="news", extra=()):
    records = [{"tool": tool, "mode": mode, "corpus": corpus, "page": page, "token_f1": f1,
                "with_kept": None, "without_removed": None}
               for page, f1 in f1_by_page.items()]
    path.write_text("".join(json.dumps(r) + "\n" for r in [*records, *extra]))
    return path


def test_a_small_gain_on_every_page_is_found_that_page_spread_would_hide(tmp_path):
    rng = np.random.default_rng(1)
    base = {f"p{k}": float(x) for k, x in enumerate(rng.uniform(0.3, 1.0, 200))}
    before = write_run(tmp_path / "a.jsonl", base)
    after = write_run(tmp_path / "b.jsonl", {p: f + 0.01 for p, f in base.items()})
    (result,) = compare(read_run(before), read_run(after))
    assert result.pages == 200 and result.change == pytest.approx(0.01)
    # The pages' spread (about 0.2) dwarfs the gain; pairing sees it exactly.
    assert result.low == pytest.approx(0.01) and result.high == pytest.approx(0.01)


def test_noise_gives_an_interval_across_zero_and_identical_runs_give_zero(tmp_path):
    rng = np.random.default_rng(2)
    base = {f"p{k}": float(x) for k, x in enumerate(rng.uniform(0.3, 1.0, 300))}
    noisy = {p: f + float(rng.normal(0, 0.05)) for p, f in base.items()}
    (result,) = compare(read_run(write_run(tmp_path / "a.jsonl", base)),
                        read_run(write_run(tmp_path / "b.jsonl", noisy)))
    assert result.low < 0 < result.high
    (same,) = compare(read_run(tmp_path / "a.jsonl"), read_run(tmp_path / "a.jsonl"))
    assert (same.change, same.low, same.high) == (0.0, 0.0, 0.0)


def test_only_pages_and_figures_both_runs_scored_are_paired(tmp_path):
    other_tool = {"tool": "trafilatura", "mode": "html", "corpus": "news", "page": "p0",
                  "token_f1": 0.5, "with_kept": 1.0, "without_removed": None}
    before = write_run(tmp_path / "a.jsonl", {"p0": 0.5, "p1": 0.7, "p2": 0.9},
                       extra=[other_tool])
    after = write_run(tmp_path / "b.jsonl", {"p1": 0.8, "p2": 0.9, "p3": 0.1},
                      extra=[dict(other_tool, token_f1=0.6, with_kept=0.5)])
    results = {(r.what, r.metric): r for r in compare(read_run(before), read_run(after))}
    assert set(results) == {("contamfilter text", "token_f1"), ("trafilatura html", "token_f1"),
                            ("trafilatura html", "with_kept")}
    ours = results[("contamfilter text", "token_f1")]
    assert ours.pages == 2 and ours.before == pytest.approx(0.8)
    assert ours.after == pytest.approx(0.85)
    assert results[("trafilatura html", "with_kept")].change == pytest.approx(-0.5)
    only = compare(read_run(before), read_run(after), tools=["trafilatura"])
    assert {r.what for r in only} == {"trafilatura html"}


def test_bootstrap_interval_is_reproducible_and_brackets_the_mean():
    diffs = np.random.default_rng(3).normal(0.02, 0.1, 500)
    low, high = bootstrap_interval(diffs, 1000, seed=7)
    assert (low, high) == bootstrap_interval(diffs, 1000, seed=7)
    assert low < diffs.mean() < high
    assert high - low == pytest.approx(2 * 1.96 * diffs.std() / np.sqrt(500), rel=0.2)


@pytest.mark.parametrize(("line", "message"), [
    ("not json", "a.jsonl:2: not a per-page record"),
    ('{"tool": "x", "mode": "text", "corpus": "c"}', "a.jsonl:2: not a per-page record"),
    ('{"tool": "x", "mode": "text", "corpus": "c", "page": "p", "token_f1": "high"}',
     "a figure is 'high'"),
    ('{"tool": "contamfilter", "mode": "text", "corpus": "news", "page": "p0"}',
     "a.jsonl:2: page 'p0' of contamfilter text on news appears twice"),
])
def test_a_bad_record_is_named_with_its_file_and_line(tmp_path, capsys, line, message):
    path = write_run(tmp_path / "a.jsonl", {"p0": 0.5})
    path.write_text(path.read_text() + line + "\n")
    assert main([str(path), str(path)]) == 1
    assert message in capsys.readouterr().err


def test_command_line_reads_report_folders_and_prints_a_table(tmp_path, capsys):
    for name, shift in (("before", 0.0), ("after", 0.02)):
        (tmp_path / name).mkdir()
        write_run(tmp_path / name / "eval-pages.jsonl",
                  {f"p{k}": 0.5 + k / 100 + shift for k in range(30)})
    assert main([str(tmp_path / "before"), str(tmp_path / "after"), "--resamples", "200"]) == 0
    out = capsys.readouterr().out
    assert "| contamfilter text | news | token_f1 | 30 | 0.6450 | 0.6650 | +0.0200 * |" in out
    assert main([str(tmp_path / "before"), str(tmp_path / "missing")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main([str(tmp_path / "before"), str(tmp_path / "after"), "--tool", "x"]) == 1
    assert "share no scored page" in capsys.readouterr().err


def test_versus_pairs_two_tools_of_one_run_on_the_pages_both_scored(tmp_path, capsys):
    path = tmp_path / "run.jsonl"
    write_run(path, {f"p{k}": 0.9 for k in range(20)}, tool="contamfilter", mode="html")
    peer = [{"tool": "trafilatura", "mode": "html", "corpus": "news", "page": f"p{k}",
             "token_f1": 0.8, "with_kept": None, "without_removed": None} for k in range(25)]
    path.write_text(path.read_text() + "".join(json.dumps(r) + "\n" for r in peer))
    assert main([str(path), "--versus", "contamfilter:html", "trafilatura:html"]) == 0
    out = capsys.readouterr().out
    assert "| peer | ours |" in out
    assert ("| contamfilter html vs trafilatura html | news | token_f1 | 20 | 0.8000 | "
            "0.9000 | +0.1000 * |") in out
    assert main([str(path), "--versus", "contamfilter:text", "trafilatura:html"]) == 1
    assert "no page scored by contamfilter in text mode" in capsys.readouterr().err
    for argv in ([str(path), "--versus", "contamfilter", "trafilatura:html"],  # no :MODE
                 [str(path)],  # neither a second run nor --versus
                 [str(path), str(path), "--versus", "a:html", "b:html"],  # both
                 [str(path), "--versus", "a:html", "b:html", "--tool", "a"]):  # ignored
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
