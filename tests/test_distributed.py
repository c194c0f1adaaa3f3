"""The Ray Data cluster path on a real local Ray cluster (2 CPUs), checked against the CLI.

One cluster serves the module, and the expensive runs are shared: the JSON Lines input
is scored once by the cluster (with the rejected side output) and once by
``python -m filter score --jsonl``, and most tests read their checks off those two runs.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip(
    "ray", reason="the cluster path needs ray: pip install 'contamfilter[ray]'")
pa = pytest.importorskip("pyarrow", reason="ray[data] needs pyarrow")
import pyarrow.parquet as pq  # noqa: E402

from filter.distributed import run  # noqa: E402
from filter.errors import InputError  # noqa: E402
from training.annotations import load_seeds  # noqa: E402

from .conftest import SEEDS  # noqa: E402

DOCUMENTS = 150
# Lines that are not a seed document, by the line they are written on (1-based).
MALFORMED = 11  # invalid JSON: an error record without an id
BLANK = 21  # an empty line: the CLI reports it, so must the cluster
NO_CONTENT = 31  # neither text nor html
LOSSY = 41  # invalid UTF-8: decoded with replacement and scored
LINE_SEPARATOR = 51  # a raw U+2028 inside a string: still one line, one record


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """A JSON Lines file of repeated seed documents and bad lines; ids by line number."""
    seeds = load_seeds(SEEDS)
    docs = []
    for i in range(DOCUMENTS):
        seed = seeds[i % len(seeds)]
        key = "html" if seed.name.endswith(".html") else "text"
        docs.append(json.dumps({"id": f"doc-{i:04}", key: seed.raw, "seed": seed.name},
                               ensure_ascii=False).encode())
    special = {
        MALFORMED: b'{"id": "broken", "text": ',
        BLANK: b"",
        NO_CONTENT: json.dumps({"id": "no-content", "title": "x"}).encode(),
        LOSSY: b'{"id": "lossy", "text": "Caf\xe9 owners met the mayor.\\n\\nShare post:"}',
        LINE_SEPARATOR: json.dumps({"id": "separator", "text": "Line one\u2028line two\n\n"
                                    "The council voted on Tuesday."},
                                   ensure_ascii=False).encode(),
    }
    for number in sorted(special):
        docs.insert(number - 1, special[number])
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    path.write_bytes(b"\n".join(docs) + b"\n")
    ids = {}
    for number, line in enumerate(docs, 1):
        with contextlib.suppress(ValueError, KeyError):
            ids[json.loads(line.decode("utf-8", "replace"))["id"]] = number
    return path, ids


def _key(record: dict[str, Any]) -> str:
    """Records by id; an error record without one by its message (it names its line)."""
    return record.get("id") or record["error"]


def _lines(text: str) -> list[str]:
    # Not str.splitlines(): it also splits at U+2028, which JSON leaves raw in a string.
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")


def _read_dir(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted(directory.glob("*.jsonl"))
            for line in _lines(f.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def cli_scored(corpus) -> dict[str, dict[str, Any]]:
    path, _ids = corpus
    proc = subprocess.run([sys.executable, "-m", "filter", "score", "--jsonl", str(path)],
                          capture_output=True, text=True, timeout=300)
    records = [json.loads(line) for line in _lines(proc.stdout)]
    assert len(records) == len(path.read_bytes().splitlines()), proc.stderr
    return {_key(r): r for r in records}


@pytest.fixture(scope="module")
def cluster_scored(cluster, corpus, tmp_path_factory):
    path, _ids = corpus
    out = tmp_path_factory.mktemp("scored")
    tally = run(str(path), str(out / "output"), str(out / "rejected"), command="score",
                concurrency=2, batch_size=16)
    return _read_dir(out / "output"), _read_dir(out / "rejected"), tally


def test_every_record_comes_out_once(corpus, cluster_scored):
    path, ids = corpus
    records, _rejected, tally = cluster_scored
    assert len(records) == len(path.read_bytes().splitlines())
    assert Counter(r["id"] for r in records if "id" in r) == Counter(list(ids))
    errors = {_key(r): r["error"] for r in records if "error" in r}
    assert errors.keys() == {"no-content", f"line {MALFORMED}: invalid JSON (Expecting value: "
                             "line 1 column 26 (char 25))",
                             f"line {BLANK}: empty line, expected a JSON object"}
    assert errors["no-content"] == (f"line {NO_CONTENT}: record has neither a 'text' nor "
                                    "an 'html' field")
    assert (tally.documents, tally.errors, tally.lossy) == (len(records) - 3, 3, 1)


def test_labels_match_the_cli(cli_scored, cluster_scored):
    records = {_key(r): r for r in cluster_scored[0]}
    assert records.keys() == cli_scored.keys()
    for key, expected in cli_scored.items():
        got = records[key]
        assert {k: v for k, v in got.items() if k != "paragraphs"} == \
            {k: v for k, v in expected.items() if k != "paragraphs"}, key
        assert [(p["text"], p["label"], p["kept"]) for p in got.get("paragraphs", [])] == \
            [(p["text"], p["label"], p["kept"]) for p in expected.get("paragraphs", [])], key
        for p, q in zip(got.get("paragraphs", []), expected.get("paragraphs", []), strict=True):
            assert p["scores"] == pytest.approx(q["scores"], abs=1e-6), key
    # the odd lines were read as the CLI reads them
    assert records["separator"]["paragraphs"][0]["text"] == "Line one\u2028line two"
    assert records["lossy"]["paragraphs"][0]["text"].startswith("Caf\ufffd owners")


def test_rejected_holds_exactly_the_dropped_paragraphs(corpus, cli_scored, cluster_scored):
    _path, ids = corpus
    _records, rejected, tally = cluster_scored
    expected = {
        (key, index): (p["label"], p["scores"][p["label"]], p["text"])
        for key, record in cli_scored.items()
        for index, p in enumerate(record.get("paragraphs", [])) if not p["kept"]
    }
    got = {(r["id"], r["paragraph"]): (r["label"], r["score"], r["text"]) for r in rejected}
    assert len(got) == len(rejected), "a dropped paragraph was written twice"
    assert got.keys() == expected.keys()
    for key, (label, score, text) in expected.items():
        assert got[key][0] == label and got[key][2] == text, key
        assert got[key][1] == pytest.approx(score, abs=1e-6), key
    assert all(r["record"] == ids[r["id"]] for r in rejected)
    assert sum(len(r["text"]) for r in rejected) == tally.removed


def test_parquet_with_a_chosen_text_column(cluster, tmp_path, filt):
    seeds = [s for s in load_seeds(SEEDS) if s.name.endswith(".txt")][:20]
    rows = [{"id": f"pq-{i:02}", "content": s.raw, "n": i} for i, s in enumerate(seeds)]
    rows[4]["content"] = None  # row 5 of the first file
    (tmp_path / "in").mkdir()
    pq.write_table(pa.Table.from_pylist(rows[:12]), tmp_path / "in" / "a.parquet")
    pq.write_table(pa.Table.from_pylist(rows[12:]), tmp_path / "in" / "b.parquet")

    tally = run(str(tmp_path / "in" / "*.parquet"), str(tmp_path / "out"),
                text_key="content", concurrency=2, batch_size=8)

    records = {r["id"]: r for r in _read_dir(tmp_path / "out")}
    assert sorted(records) == sorted(r["id"] for r in rows)
    assert records["pq-04"] == {
        "id": "pq-04", "error": "row 5: record has neither a 'content' nor an 'html' field"}
    for row in rows:
        if row["content"] is not None:
            got = records[row["id"]]
            assert got["content"] == filt.clean(row["content"]), row["id"]
            assert got["n"] == row["n"] and "text" not in got
    assert (tally.documents, tally.errors) == (len(rows) - 1, 1)
    assert not (tmp_path / "rejected").exists()


def test_gzip_json_lines_in_a_directory(cluster, corpus, cli_scored, tmp_path):
    path, _ids = corpus
    lines = path.read_bytes().splitlines(keepends=True)[:30]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "part.jsonl.gz").write_bytes(gzip.compress(b"".join(lines)))
    (tmp_path / "in" / "_SUCCESS").write_bytes(b"")  # job markers are not input

    tally = run(str(tmp_path / "in"), str(tmp_path / "out"), concurrency=2, batch_size=8)

    records = _read_dir(tmp_path / "out")
    assert len(records) == len(lines) == tally.records
    for record in records:
        expected = cli_scored[_key(record)]
        if "error" in expected:
            assert record == expected
        else:
            assert record["text"] == expected["clean_text"], record["id"]


def test_refuses_an_output_directory_that_holds_files(tmp_path, corpus):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.jsonl").write_text("{}\n")
    with pytest.raises(InputError, match="not empty"):
        run(str(corpus[0]), str(tmp_path / "out"))


def test_without_ray_says_how_to_install_it(monkeypatch, tmp_path, corpus):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    with pytest.raises(InputError, match=r"pip install 'contamfilter\[ray\]'"):
        run(str(corpus[0]), str(tmp_path / "out"))
