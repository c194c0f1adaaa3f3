"""Corpus runs of the ``contamfilter`` command: worker processes, compressed JSON Lines,
Parquet, WARC, the rejected file, progress and the run summary. Every run is a real
subprocess with the shipped model; the inputs are built from the repository's seeds.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.service_load import children_of, is_scorer
from filter.sources import decode_html
from training.annotations import load_seeds

from .test_cli import ROOT, Run, contamfilter, jsonl

pa = pytest.importorskip("pyarrow", reason="Parquet tests need pyarrow (the corpus extra)")
pq = pytest.importorskip("pyarrow.parquet", reason="Parquet tests need pyarrow")
zstandard = pytest.importorskip("zstandard", reason="zstd tests need zstandard (corpus extra)")


@pytest.fixture(scope="module")
def seed_records() -> list[dict[str, Any]]:
    """Every seed twice over (226 records: four chunks of 64), unique ids, text and HTML."""
    docs = load_seeds(ROOT / "seeds")
    out = []
    for i in range(2 * len(docs)):
        doc = docs[i % len(docs)]
        key = "html" if doc.name.endswith(".html") else "text"
        out.append({"id": f"doc-{i}", key: doc.raw, "n": i})
    return out


@pytest.fixture(scope="module")
def corpus(seed_records, tmp_path_factory) -> Path:
    """The seed records as JSON Lines with a malformed line and a record without content
    in the middle of the second chunk."""
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    lines: list[object] = list(seed_records)
    lines[70:70] = ['{"id": "broken", "text": ', {"id": "empty", "title": "no content"}]
    path.write_bytes(jsonl(*lines))
    return path


@pytest.fixture(scope="module")
def one_worker(corpus) -> Run:
    return contamfilter("score", "--jsonl", "--workers", "1", corpus)


def test_two_workers_give_the_one_worker_output_byte_for_byte_in_input_order(
        corpus, one_worker, seed_records):
    two = contamfilter("score", "--jsonl", "--workers", "2", corpus)
    assert (two.returncode, two.stderr) == (1, "")  # two bad records; silent in a pipe
    assert two.stdout == one_worker.stdout
    out = two.records()
    ids = [r["id"] for r in seed_records]
    assert [r.get("id") for r in out] == [*ids[:70], None, "empty", *ids[70:]]
    assert out[70]["error"].startswith("line 71: invalid JSON")
    assert "neither" in out[71]["error"]


def test_gzip_and_zstd_compressed_json_lines_read_like_the_plain_file(corpus, one_worker,
                                                                     tmp_path):
    data = corpus.read_bytes()
    (tmp_path / "docs.jsonl.gz").write_bytes(gzip.compress(data))
    (tmp_path / "docs.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    for name in ("docs.jsonl.gz", "docs.jsonl.zst"):
        run = contamfilter("score", "--jsonl", tmp_path / name)
        assert run.returncode == 1 and run.stdout == one_worker.stdout, name


def test_compressed_output_by_suffix_holds_the_same_records(corpus, one_worker, tmp_path):
    run = contamfilter("score", "--jsonl", corpus, "-o", tmp_path / "out.jsonl.gz")
    assert run.returncode == 1 and run.stdout == ""
    assert gzip.decompress((tmp_path / "out.jsonl.gz").read_bytes()).decode() == \
        one_worker.stdout


def test_rejected_file_lists_exactly_the_dropped_paragraphs_with_id_label_and_score(
        corpus, one_worker, tmp_path):
    rejected = tmp_path / "rejected.jsonl"
    run = contamfilter("clean", "--jsonl", "--rejected", rejected, corpus)
    assert run.returncode == 1
    expected = []
    for number, report in enumerate(one_worker.records(), 1):
        for index, p in enumerate(report.get("paragraphs", [])):
            if not p["kept"]:
                expected.append({"id": report["id"], "record": number, "paragraph": index,
                                 "label": p["label"], "score": p["scores"][p["label"]],
                                 "text": p["text"]})
    rows = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert len(rows) > 1000
    assert rows == expected


def test_progress_and_the_run_summary_on_stderr_when_asked_in_a_pipe(corpus, seed_records):
    run = contamfilter("clean", "--jsonl", "--progress", corpus)
    assert run.returncode == 1
    progress, summary = run.messages[:-1], run.messages[-1]
    assert progress and all("docs/s" in line and "of text removed" in line for line in progress)
    total = len(seed_records) + 2
    assert summary.startswith(f"contamfilter: {total} documents in, {total - 2} out, "
                              "2 errored; ")
    for label in ("body", "boilerplate", "transcript", "promo"):
        assert f"{label} " in summary
    assert "of characters removed" in summary


def test_parquet_in_with_a_chosen_text_column_and_parquet_out(seed_records, one_worker,
                                                             tmp_path):
    text_only = [r for r in seed_records if "text" in r][:100]
    table = pa.Table.from_pylist(
        [{"id": r["id"], "content": r["text"], "lang": "en"} for r in text_only]
        + [{"id": "null-content", "content": None, "lang": "en"}])
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=40)
    run = contamfilter("score", "--text-column", "content", tmp_path / "in.parquet",
                       "-o", tmp_path / "out.parquet")
    assert run.returncode == 1, run.stderr
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [r["id"] for r in rows] == [*(r["id"] for r in text_only), "null-content"]
    expected = {r["id"]: r for r in one_worker.records() if "id" in r}
    for row in rows[:-1]:
        assert row["error"] is None
        assert [p["label"] for p in row["paragraphs"]] == \
            [p["label"] for p in expected[row["id"]]["paragraphs"]]
        assert row["clean_text"] == expected[row["id"]]["clean_text"]
        assert json.loads(row["record"]) == {"lang": "en"}
    assert rows[-1]["error"] == "row 101: record has neither a 'content' nor an 'html' field"


def test_parquet_without_the_column_names_the_columns_and_the_option(tmp_path):
    pq.write_table(pa.table({"body_text": ["x"]}), tmp_path / "in.parquet")
    run = contamfilter("clean", tmp_path / "in.parquet")
    assert run.returncode == 1 and run.stdout == ""
    (message,) = run.messages
    assert "body_text" in message and "--text-column" in message


def _warc_record(uri: str, content_type: str, body: bytes) -> bytes:
    http = (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\n"
            f"WARC-Date: 2026-11-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:{len(uri)}>\r\n"
            f"Content-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(http)}\r\n\r\n").encode()
    return head + http + b"\r\n\r\n"


@pytest.fixture(scope="module")
def warc(seed_records, tmp_path_factory) -> tuple[Path, list[dict[str, Any]]]:
    """A gzipped WARC: a warcinfo record, the seed HTML pages as responses (one of them in
    windows-1252), and an image response that is not a document."""
    pages = [r for r in seed_records if "html" in r][:6]
    data = (b"WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Type: application/warc-fields\r\n"
            b"Content-Length: 12\r\n\r\nsoftware: t\n\r\n\r\n")
    for i, page in enumerate(pages):
        charset = "windows-1252" if i == 1 else "utf-8"
        body = page["html"].encode(charset, errors="replace" if i == 1 else "strict")
        data += _warc_record(f"https://news.example/{i}", f"text/html; charset={charset}",
                             body)
        if i == 2:
            data += _warc_record("https://news.example/logo.png", "image/png", b"\x89PNG\r\n")
    path = tmp_path_factory.mktemp("warc") / "crawl.warc.gz"
    path.write_bytes(gzip.compress(data))
    return path, pages


def test_warc_html_responses_become_documents_keyed_by_target_uri(warc):
    path, pages = warc
    run = contamfilter("-v", "clean", path)
    assert run.returncode == 0, run.stderr
    out = run.records()
    assert [r["id"] for r in out] == [f"https://news.example/{i}" for i in range(len(pages))]
    assert all(r["url"] == r["id"] and "html" not in r and r["text"] for r in out)
    assert "1 WARC response records were not HTML" in run.stderr
    # the page sent as windows-1252 was decoded as such, not as broken UTF-8
    assert "\ufffd" not in out[1]["text"]


def test_warc_text_equals_cleaning_the_same_pages_as_json_lines(warc, tmp_path):
    path, pages = warc
    (tmp_path / "pages.jsonl").write_bytes(jsonl(*({"html": p["html"]} for p in pages)))
    from_jsonl = contamfilter("clean", "--jsonl", tmp_path / "pages.jsonl").records()
    from_warc = contamfilter("clean", path).records()
    for i in (0, 2, 3, 4, 5):  # page 1 was re-encoded to windows-1252, lossy on purpose
        assert from_warc[i]["text"] == from_jsonl[i]["text"]


def test_corrupt_input_is_named_and_the_next_file_is_still_scored(corpus, tmp_path):
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(corpus.read_bytes())[:5000])
    run = contamfilter("clean", "--jsonl", broken, corpus)
    assert run.returncode == 1
    assert any(m.startswith(f"contamfilter: cannot read {broken}") for m in run.messages)
    assert run.records()[-1]["id"] == "doc-225"


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "at least 1"),
    (["-o", "out.parquet"], "Parquet output needs record input"),
])
def test_bad_corpus_options_are_usage_errors(args, message, tmp_path):
    (tmp_path / "a.txt").write_text("One paragraph of text.")
    run = contamfilter("clean", *args, tmp_path / "a.txt")
    assert run.returncode == 2 and message in run.stderr


def test_a_worker_killed_mid_run_loses_no_record(seed_records, tmp_path):
    """SIGKILL one worker process while records are in flight: the pool is restarted,
    its chunks are scored again, and every record comes out once, in order."""
    records = [dict(r, id=f"r{k}") for k in range(8) for r in seed_records]
    path = tmp_path / "big.jsonl"
    path.write_bytes(jsonl(*records))
    proc = subprocess.Popen([sys.executable, "-m", "filter", "clean", "--jsonl",
                             "--workers", "2", path], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        first = proc.stdout.readline()  # the workers are up and scoring
        assert first
        workers = [pid for pid in children_of(proc.pid) if is_scorer(pid)]
        assert workers
        os.kill(workers[0], signal.SIGKILL)
        # Not communicate(): it reads the pipe itself and skips what readline buffered.
        rest, err = proc.stdout.read(), proc.stderr.read()
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = [first, *rest.split(b"\n")[:-1]]
    out = [json.loads(line) for line in lines]
    assert [r["id"] for r in out] == [r["id"] for r in records]
    assert all("error" not in r for r in out)
    assert proc.returncode == 0, err.decode()


def test_decode_html_uses_http_charset_then_meta_then_utf8():
    page = "<p>Caf\u00e9 cr\u00e8me</p>"
    assert decode_html(page.encode("latin-1"), "text/html; charset=iso-8859-1") == page
    meta = f'<meta charset="windows-1252">{page}'
    assert decode_html(meta.encode("cp1252"), "text/html") == meta
    assert decode_html(page.encode("utf-8"), "text/html; charset=no-such-codec") == page


def test_progress_line_reports_documents_rate_and_removed_share():
    from filter.batch import Tally
    from filter.progress import Progress

    tally = Tally(documents=1500, errors=3, chars=1000, removed=250)
    line = Progress.line(tally, 2.0)
    assert line == ("contamfilter: 1,503 documents, 752 docs/s, 25.0% of text removed, "
                    "3 errored")
