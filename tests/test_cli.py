"""The ``contamfilter`` command line, run for real as a subprocess with the shipped model.

Each subprocess loads the model (about a second), so the expensive runs are shared:
``cleaned`` and ``scored`` clean and score the five real seed documents plus one HTML page
once, and most tests read their checks off those two runs.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from filter.labels import LABELS
from filter.policy import repeated_stretch
from training.annotations import LabeledDocument, load_seeds

from .conftest import KNOWN_DROPPED_BODY

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "filter" / "model"
CONSOLE_SCRIPT = Path(sys.executable).with_name("contamfilter")

REAL = ("000", "001", "002", "003", "004")
# The shared run: seed 003 comes from standard input ("-"), the others from files.
SHARED_RUN = (*REAL, "p01")
STDIN_KEY = "003"

COMMENT_FORM = ("LEAVE A REPLY", "Please enter your comment!", "Share post:", "spot_imgspot_img")
# Text that only exists inside <script> and <style> elements of seeds/html/p01_*.html.
SCRIPT_STYLE = ("tdBlocksArray", "tdwGlobal", "jQuery", "td_cookie_ok", "font-size",
                "td-header-wrap{", "line-height")
TAG = re.compile(r"</?(?:!doctype|html|head|body|div|p|script|style|span|a)\b", re.I)


# --- running the command ------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    def records(self) -> list[dict[str, Any]]:
        """stdout as JSON, one object per line."""
        return [json.loads(line) for line in self.stdout.splitlines()]

    @property
    def messages(self) -> list[str]:
        return self.stderr.splitlines()


def contamfilter(*args: object, stdin: str | bytes = b"", script: bool = False) -> Run:
    """Run the CLI (``python -m filter`` or the console script) and check it never crashed."""
    command = [str(CONSOLE_SCRIPT)] if script else [sys.executable, "-m", "filter"]
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    proc = subprocess.run([*command, *map(str, args)], input=data, capture_output=True,
                          timeout=120, check=False)
    run = Run(proc.returncode, proc.stdout.decode("utf-8"),
              proc.stderr.decode("utf-8", errors="replace"))
    assert "Traceback" not in run.stderr, run.stderr
    return run


def texts_labeled(doc: LabeledDocument, *labels: str) -> list[str]:
    return [p.text for p, label in zip(doc.document.paragraphs, doc.labels, strict=True)
            if label.value in labels]


def kept_paragraphs(doc: LabeledDocument, clean_text: str) -> list[str]:
    return clean_text.split(doc.document.separator.joiner) if clean_text else []


def fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def jsonl(*lines: object) -> bytes:
    """JSON Lines input: dicts and lists are encoded, strings are taken as raw lines."""
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


# --- shared fixtures ----------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_docs() -> dict[str, LabeledDocument]:
    """The five real documents ("000".."004") and the first HTML page ("p01")."""
    out: dict[str, LabeledDocument] = {}
    for doc in load_seeds(ROOT / "seeds"):
        name = Path(doc.name).name
        key = "p01" if name.startswith("p01_") else name[:3]
        if key in SHARED_RUN:
            out[key] = doc
    assert sorted(out) == sorted(SHARED_RUN)
    return out


@pytest.fixture(scope="module")
def raw(seed_docs) -> dict[str, str]:
    """What the CLI is given for each seed: the raw text or the raw page."""
    return {key: doc.raw for key, doc in seed_docs.items()}


@pytest.fixture(scope="module")
def files(raw, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("docs")
    out = {}
    for key, text in raw.items():
        path = folder / (f"{key}.html" if key == "p01" else f"{key}.txt")
        path.write_bytes(text.encode("utf-8"))
        out[key] = path
    return out


@pytest.fixture(scope="module")
def shared_args(files) -> list[str]:
    return ["-" if key == STDIN_KEY else str(files[key]) for key in SHARED_RUN]


@pytest.fixture(scope="module")
def cleaned(shared_args, raw) -> Run:
    return contamfilter("clean", *shared_args, stdin=raw[STDIN_KEY])


@pytest.fixture(scope="module")
def scored_run(shared_args, raw) -> Run:
    return contamfilter("score", *shared_args, stdin=raw[STDIN_KEY])


@pytest.fixture(scope="module")
def scored(scored_run) -> dict[str, dict[str, Any]]:
    """The score report of each document of the shared run."""
    assert scored_run.returncode == 0, scored_run.stderr
    reports = scored_run.records()
    assert len(reports) == len(SHARED_RUN)
    return dict(zip(SHARED_RUN, reports, strict=True))


@pytest.fixture(scope="module")
def model_version() -> str:
    return json.loads((MODEL_DIR / "card.json").read_text())["version"]


# --- clean: inputs and the default command -------------------------------------------


def test_clean_prints_each_document_of_files_and_stdin_dash_separated_by_a_blank_line(
        cleaned, scored):
    assert cleaned.returncode == 0
    assert cleaned.stderr == ""
    assert all(scored[key]["clean_text"] for key in SHARED_RUN)
    assert cleaned.stdout == "\n".join(scored[key]["clean_text"] + "\n" for key in SHARED_RUN)


def test_console_script_cleans_piped_stdin_without_a_subcommand(raw, scored):
    run = contamfilter(stdin=raw["003"], script=True)
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == scored["003"]["clean_text"] + "\n"


def test_console_script_cleans_a_file_given_without_a_subcommand(files, scored):
    run = contamfilter(files["004"], script=True)
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == scored["004"]["clean_text"] + "\n"


def test_seed_003_loses_its_promo_teasers_and_comment_form_but_keeps_its_body(
        cleaned, scored, seed_docs):
    doc = seed_docs["003"]
    teasers = texts_labeled(doc, "promo")
    assert len(teasers) == 8
    kept = kept_paragraphs(doc, scored["003"]["clean_text"])
    for teaser in teasers:
        assert teaser not in kept
        assert teaser not in cleaned.stdout
    for line in COMMENT_FORM:
        assert line not in cleaned.stdout
    for body in texts_labeled(doc, "body"):
        assert body in kept
    assert kept[0] == "Iran Begins to Evacuate Military Commanders as Syrian Rebels Gain Ground"


def test_no_body_paragraph_of_the_five_real_documents_is_missing_from_clean_output(
        cleaned, scored, seed_docs):
    for key in REAL:
        doc = seed_docs[key]
        kept = kept_paragraphs(doc, scored[key]["clean_text"])
        expected = [t for t in texts_labeled(doc, "body") if (key, t) not in KNOWN_DROPPED_BODY]
        missing = [t[:60] for t in expected if t not in kept]
        assert not missing, (key, missing)
        for body in expected:
            assert body in cleaned.stdout


def test_seed_002_transcript_turns_are_labeled_transcript_and_dropped_by_default(
        scored, seed_docs):
    doc = seed_docs["002"]
    turns = texts_labeled(doc, "transcript")
    assert sum(t.startswith(("**Host:**", "**Dr. Khalil:**")) for t in turns) == 10
    report = scored["002"]
    by_text = {p["text"]: p for p in report["paragraphs"]}
    kept = kept_paragraphs(doc, report["clean_text"])
    for turn in turns:
        assert by_text[turn]["label"] == "transcript", turn
        assert by_text[turn]["kept"] is False
        assert turn not in kept


def test_keep_body_and_transcript_keeps_the_interview_of_seed_002_read_from_stdin(
        raw, seed_docs):
    doc = seed_docs["002"]
    run = contamfilter("clean", "--keep", "body,transcript", stdin=raw["002"])
    assert (run.returncode, run.stderr) == (0, "")
    kept = kept_paragraphs(doc, run.stdout.removesuffix("\n"))
    for text in texts_labeled(doc, "body", "transcript"):
        assert text in kept, text[:60]
    assert "**Host:** Welcome back to the show." in run.stdout


# --- formats ------------------------------------------------------------------------


def test_html_page_is_cleaned_without_any_script_or_style_content(cleaned, scored, seed_docs):
    doc = seed_docs["p01"]
    report = scored["p01"]
    everything = "\n".join(p["text"] for p in report["paragraphs"])
    for marker in SCRIPT_STYLE:
        assert marker in doc.raw  # the page really has it ...
        assert marker not in everything  # ... but it never becomes a paragraph
        assert marker not in cleaned.stdout
    assert not TAG.search(everything)
    kept = kept_paragraphs(doc, report["clean_text"])
    for body in texts_labeled(doc, "body"):
        assert body in kept


def test_format_text_reads_an_html_page_as_plain_text_with_its_tags(files, scored, tmp_path):
    inline = tmp_path / "inline.txt"
    inline.write_text("Prices rose <b>sharply</b> on Monday, traders said.\n\n"
                      "The index closed at <i>4,200</i> points.\n")
    run = contamfilter("score", "--format", "text", files["p01"], inline)
    assert run.returncode == 0, run.stderr
    page, text = run.records()
    as_text = "\n".join(p["text"] for p in page["paragraphs"])
    assert "<!DOCTYPE html>" in as_text
    assert "<script>" in as_text
    assert TAG.search(as_text)
    assert len(page["paragraphs"]) != len(scored["p01"]["paragraphs"])  # auto reads HTML
    assert [p["text"] for p in text["paragraphs"]] == [
        "Prices rose <b>sharply</b> on Monday, traders said.",
        "The index closed at <i>4,200</i> points.",
    ]


def test_format_html_strips_tags_from_a_document_that_looks_like_text(tmp_path):
    inline = tmp_path / "inline.txt"
    inline.write_text("Prices rose <b>sharply</b> on Monday, traders said.\n\n"
                      "The index closed at <i>4,200</i> points.\n")
    run = contamfilter("score", "--format", "html", inline)
    assert run.returncode == 0, run.stderr
    (report,) = run.records()
    texts = [p["text"] for p in report["paragraphs"]]
    joined = " ".join(texts)
    assert "<b>" not in joined and "<i>" not in joined
    assert "Prices rose sharply on Monday" in joined
    assert "4,200 points" in joined


# --- policy options ------------------------------------------------------------------


def test_min_confidence_1_keeps_every_paragraph_except_a_stretch_printed_twice(
        files, seed_docs, tmp_path):
    twice = tmp_path / "twice.txt"
    story = ("Council votes to extend the bus lanes\n\nThe council voted on Tuesday to "
             "extend the bus lanes to the harbour, after a long debate.\n\n")
    twice.write_text(story + "Read more\n\n" + story)
    run = contamfilter("score", "--min-confidence", "1.0", files["001"], files["003"], twice)
    assert run.returncode == 0, run.stderr
    reports = dict(zip(("001", "003", "twice"), run.records(), strict=True))
    for key, report in reports.items():
        texts = [p["text"] for p in report["paragraphs"]]
        stretch = repeated_stretch([fold(t) for t in texts], [True] * len(texts))
        for k, p in enumerate(report["paragraphs"]):
            assert p["kept"] is (k not in stretch), (key, p["text"][:60])
            if k in stretch:
                assert p["label"] == "boilerplate"
    # Seed 003 has no repeats: its promo teasers and comment form all stay.
    assert all(p["kept"] for p in reports["003"]["paragraphs"])
    for teaser in texts_labeled(seed_docs["003"], "promo"):
        assert teaser in reports["003"]["clean_text"]
    # Seed 001 repeats its title on its own, right under it and not as its first
    # paragraph: kept, since nothing is sure enough to drop.
    assert len({fold(p["text"]) for p in reports["001"]["paragraphs"]}) < \
        len(reports["001"]["paragraphs"])
    assert all(p["kept"] for p in reports["001"]["paragraphs"])
    # The story printed twice comes out once.
    assert [p["kept"] for p in reports["twice"]["paragraphs"]] == [True] * 3 + [False] * 2
    assert reports["twice"]["clean_text"].count("bus lanes to the harbour") == 1


@pytest.mark.parametrize("value", ["-1", "2", "abc"])
def test_min_confidence_outside_0_to_1_or_not_a_number_is_a_usage_error(value):
    run = contamfilter("clean", "--min-confidence", value, stdin="Some text.\n")
    assert run.returncode == 2
    assert run.stdout == ""
    assert "--min-confidence" in run.stderr


def test_keep_with_an_unknown_label_is_a_usage_error_naming_the_label():
    run = contamfilter("clean", "--keep", "body,adverts", stdin="Some text.\n")
    assert run.returncode == 2
    assert run.stdout == ""
    assert "'adverts'" in run.stderr
    assert "--keep" in run.stderr


# --- stats and logging ---------------------------------------------------------------


def test_stats_prints_one_line_of_label_counts_on_stderr_and_leaves_stdout_unchanged(
        shared_args, raw, cleaned, scored):
    run = contamfilter("clean", "--stats", *shared_args, stdin=raw[STDIN_KEY])
    assert run.returncode == 0
    assert run.stdout == cleaned.stdout
    (line,) = run.messages
    assert line.startswith("contamfilter:")
    totals = Counter()
    for report in scored.values():
        totals.update(report["counts"])
    for label in LABELS:
        assert f"{label} {totals[label]}" in line
    assert f"{len(SHARED_RUN)} documents" in line


def test_verbose_logs_the_loaded_model_on_stderr_without_changing_stdout(
        shared_args, raw, cleaned, model_version):
    run = contamfilter("-v", "clean", *shared_args, stdin=raw[STDIN_KEY])
    assert run.returncode == 0
    assert run.stdout == cleaned.stdout
    assert run.stderr.startswith("contamfilter:")
    assert "loaded" in run.stderr
    assert model_version in run.stderr


# --- score ---------------------------------------------------------------------------


def test_score_prints_paragraphs_scores_counts_contamination_and_model_per_document(
        scored, seed_docs, files, model_version):
    for key, report in scored.items():
        doc = seed_docs[key]
        assert list(report) == ["source", "paragraphs", "clean_text", "counts",
                                "contamination", "model"]
        assert report["source"] == ("-" if key == STDIN_KEY else str(files[key]))
        assert report["model"] == model_version
        paragraphs = report["paragraphs"]
        assert [p["text"] for p in paragraphs] == [p.text for p in doc.document.paragraphs]
        for p in paragraphs:
            assert list(p) == ["text", "label", "scores", "kept"]
            assert p["label"] in LABELS
            assert set(p["scores"]) == set(LABELS)
            assert all(0.0 <= v <= 1.0 for v in p["scores"].values())
            assert sum(p["scores"].values()) == pytest.approx(1.0, abs=1e-4)
            assert isinstance(p["kept"], bool)
        assert report["counts"] == {label: sum(p["label"] == label for p in paragraphs)
                                    for label in LABELS}
        kept = [p["text"] for p in paragraphs if p["kept"]]
        assert report["clean_text"] == doc.document.separator.joiner.join(kept)
        total = sum(len(p["text"]) for p in paragraphs)
        removed = sum(len(p["text"]) for p in paragraphs if not p["kept"])
        assert 0.0 <= report["contamination"] <= 1.0
        assert report["contamination"] == pytest.approx(removed / total, abs=1e-6)
    assert scored["003"]["contamination"] > 0.0
    assert scored["003"]["counts"]["promo"] == 8


# --- JSON Lines ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["clean", "score"])
def test_jsonl_turns_each_bad_line_into_an_error_record_and_goes_on(mode, raw, scored):
    good_003 = {"id": "a", "text": raw["003"], "meta": {"source": "crawl-7", "tags": [1, 2]}}
    page = {"id": "e", "html": raw["p01"], "lang": "en"}
    good_002 = {"id": 7, "text": raw["002"]}
    run = contamfilter(mode, "--jsonl", "--max-bytes", "40000", stdin=jsonl(
        good_003,                                        # 1
        '{"id": "x", "text": "unterminated',             # 2 malformed JSON
        [1, 2],                                          # 3 not an object
        {"id": "b", "title": "no content"},              # 4 neither text nor html
        {"id": "c", "text": 42},                         # 5 text not a string
        "",                                              # 6 empty line
        {"id": "d", "text": "word " * 10_000},           # 7 over --max-bytes
        page,                                            # 8
        good_002,                                        # 9
    ))
    assert run.returncode == 1
    out = run.records()
    assert len(out) == 9

    def error(n: int, *words: str, id_: object = None) -> None:
        record = out[n - 1]
        assert list(record) == (["error"] if id_ is None else ["id", "error"]), record
        if id_ is not None:
            assert record["id"] == id_
        assert record["error"].startswith(f"line {n}: "), record
        for word in words:
            assert word in record["error"], record

    error(2, "JSON")
    error(3, "object")
    error(4, "'text'", "'html'", id_="b")
    error(5, "string", id_="c")
    error(6, "empty")
    error(7, "limit", id_="d")

    added = ["counts", "contamination", "model"] if mode == "clean" else [
        "paragraphs", "clean_text", "counts", "contamination", "model"]
    for n, record, key in ((1, good_003, "003"), (8, page, "p01"), (9, good_002, "002")):
        result = out[n - 1]
        assert "error" not in result
        assert {k: result[k] for k in record if k != "text"} == {
            k: v for k, v in record.items() if k != "text"}
        clean_text = result["text"] if mode == "clean" else result["clean_text"]
        assert clean_text == scored[key]["clean_text"]
        if mode == "clean":
            order = [*record, *added] if "text" in record else [*record, "text", *added]
            assert list(result) == order
        else:
            assert list(result) == [*record, *added]
            if "text" in record:
                assert result["text"] == record["text"]
            assert result["paragraphs"] == scored[key]["paragraphs"]
    if mode == "score":
        labels = {p["text"]: p["label"] for p in out[8]["paragraphs"]}
        turns = [t for t in labels if t.startswith(("**Host:**", "**Dr. Khalil:**"))]
        assert len(turns) == 10
        assert all(labels[t] == "transcript" for t in turns)


def test_jsonl_record_far_over_max_bytes_keeps_its_id_in_the_error_record():
    run = contamfilter("clean", "--jsonl", "--max-bytes", "1000", stdin=jsonl(
        {"id": "huge", "text": "word " * 1000},
        {"id": "ok", "text": "The council approved the budget on Tuesday by five votes to two."},
    ))
    assert run.returncode == 1
    huge, ok = run.records()
    assert "limit" in huge["error"]
    assert ok["id"] == "ok" and "error" not in ok
    assert huge.get("id") == "huge", huge


@pytest.mark.parametrize("mode", ["clean", "score"])
def test_jsonl_over_64_records_come_back_in_order_and_exit_0(mode, raw, scored, model_version):
    records = [{"n": i, "id": f"doc-{i}", "text": raw[REAL[i % 5]]} for i in range(70)]
    run = contamfilter(mode, "--jsonl", stdin=jsonl(*records))
    assert (run.returncode, run.stderr) == (0, "")
    out = run.records()
    assert [r["id"] for r in out] == [r["id"] for r in records]
    for i, result in enumerate(out):
        assert list(result)[:3] == ["n", "id", "text"]
        assert result["n"] == i
        assert result["model"] == model_version
        expected = scored[REAL[i % 5]]
        assert (result["text"] if mode == "clean" else result["clean_text"]) == \
            expected["clean_text"]
        assert result["counts"] == expected["counts"]


# --- bad inputs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_inputs(files, tmp_path_factory) -> tuple[Run, dict[str, Path]]:
    """One run over a missing file, a directory, a binary file and a good document."""
    folder = tmp_path_factory.mktemp("bad")
    paths = {"missing": folder / "missing.txt", "directory": folder / "a-folder",
             "binary": folder / "archive.bin", "good": files["004"]}
    paths["directory"].mkdir()
    paths["binary"].write_bytes(b"PK\x03\x04\x14\x00\x00\x00binary\x00payload\x00" * 10)
    return contamfilter("clean", *paths.values()), paths


def test_missing_file_directory_and_binary_input_fail_alone_and_the_rest_is_cleaned(
        bad_inputs, scored):
    run, paths = bad_inputs
    assert run.returncode == 1
    assert run.stdout == scored["004"]["clean_text"] + "\n"
    missing, directory, binary = run.messages
    assert missing.startswith(f"contamfilter: cannot read {paths['missing']}")
    assert directory.startswith(f"contamfilter: cannot read {paths['directory']}")
    assert binary.startswith("contamfilter: ")
    assert "binary" in binary
    for line, key in zip(run.messages, ("missing", "directory", "binary"), strict=True):
        assert line.count(str(paths[key])) == 1, line  # each message names its file once


def test_binary_stdin_is_refused_with_a_message_about_binary_data():
    run = contamfilter("clean", stdin=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert run.returncode == 1
    assert run.stdout == ""
    (line,) = run.messages
    assert line.startswith("contamfilter: standard input")
    assert "binary" in line


def test_invalid_utf8_is_still_cleaned_with_a_warning_and_exit_3(tmp_path, seed_docs):
    doc = seed_docs["004"]
    bodies = texts_labeled(doc, "body")
    longest = max(bodies, key=len)
    cut = len(longest) // 2
    broken = doc.raw.replace(longest, longest[:cut] + "\udcff" + longest[cut:])
    path = tmp_path / "latin1.txt"
    path.write_bytes(broken.encode("utf-8", errors="surrogateescape"))
    run = contamfilter("clean", path)
    assert run.returncode == 3
    (line,) = run.messages
    assert line.startswith("contamfilter: ")
    assert "UTF-8" in line
    assert "\ufffd" in run.stdout
    for body in bodies:
        if body != longest:
            assert body in run.stdout


def test_file_over_max_bytes_is_refused_naming_the_limit_and_the_next_file_still_cleaned(
        tmp_path, files, raw, scored):
    limit = len(raw["004"].encode()) + 100
    big = tmp_path / "big.txt"
    big.write_text(raw["004"] + "\n" + "filler words " * 100)
    run = contamfilter("clean", "--max-bytes", limit, big, files["004"])
    assert run.returncode == 1
    assert run.stdout == scored["004"]["clean_text"] + "\n"
    (line,) = run.messages
    assert line.startswith("contamfilter: ")
    assert line.count(str(big)) == 1
    assert "limit" in line and str(limit) in line


def test_tampered_model_file_is_refused_in_one_line_naming_sha256(tmp_path, files):
    model = tmp_path / "model"
    shutil.copytree(MODEL_DIR, model)
    joblib_file = model / "contamfilter.joblib"
    data = bytearray(joblib_file.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 8] = bytes(b ^ 0xFF for b in data[middle:middle + 8])
    joblib_file.write_bytes(bytes(data))
    run = contamfilter("clean", "--model", model, files["004"])
    assert run.returncode == 1
    assert run.stdout == ""
    (line,) = run.messages
    assert line.startswith("contamfilter: ")
    assert "sha256" in line and "altered" in line


def test_broken_pipe_into_head_ends_quietly(tmp_path, files):
    err = tmp_path / "stderr.txt"
    command = [sys.executable, "-m", "filter", "score", *[str(files["003"])] * 40]
    proc = subprocess.run(f"set -o pipefail; {shlex.join(command)} 2>{shlex.quote(str(err))}"
                          " | head -c 10", shell=True, executable="/bin/bash",
                          capture_output=True, timeout=120, check=False)
    assert proc.stdout == b'{"source":'
    stderr = err.read_text()
    assert "Traceback" not in stderr
    assert "Exception ignored" not in stderr
    assert "BrokenPipe" not in stderr
    assert proc.returncode == 0


# --- version and help ----------------------------------------------------------------


def test_version_prints_the_program_and_the_model_card_version(model_version):
    run = contamfilter("--version")
    assert run.returncode == 0
    assert run.stdout.startswith("contamfilter ")
    assert f"model {model_version}" in run.stdout


def test_help_mentions_keep_jsonl_and_examples():
    run = contamfilter("--help")
    assert run.returncode == 0
    for word in ("--keep", "--jsonl", "examples:", "clean", "score", "exit status"):
        assert word in run.stdout


@pytest.fixture(scope="module")
def clean_help() -> Run:
    return contamfilter("clean", "--help")


def test_clean_help_mentions_keep_jsonl_and_the_other_options(clean_help):
    assert clean_help.returncode == 0
    for word in ("--keep", "--jsonl", "--format", "--min-confidence", "--stats",
                 "--max-bytes", "--model"):
        assert word in clean_help.stdout


def test_clean_help_shows_examples(clean_help):
    assert "examples" in clean_help.stdout


# --- known bugs ----------------------------------------------------------------------


def test_verbose_flag_after_the_subcommand_is_accepted(files):
    run = contamfilter("clean", "-v", files["004"])
    assert run.returncode == 0, run.stderr
    assert "loaded" in run.stderr


def test_output_does_not_start_with_a_blank_line_when_the_first_document_is_empty(
        tmp_path, files, scored):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    run = contamfilter("clean", empty, files["004"])
    assert run.returncode == 0
    assert run.stdout == scored["004"]["clean_text"] + "\n"
