"""The review page and its seed-file routes, in-process (service/review.py).

The page must be self-contained (nothing fetched from elsewhere); /v1/seeds/format must
write what the seeds loader reads back to exactly the same paragraphs and labels; and
/v1/seeds (--allow-save) must never write outside its folder or over an existing file.
The browser drives the page for real in test_review_browser.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from filter import LABELS, Filter
from service.app import REQUEST_ID, create_app
from service.review import (
    EXISTS,
    NAME_ABSOLUTE,
    NAME_DOTDOT,
    NAME_EMPTY,
    NAME_NOTHING,
    NAME_NUL,
    NAME_SEPARATOR,
    NAME_TOO_LONG,
    SAVE_OFF,
    seed_file_name,
)
from service.settings import Settings
from training.annotations import LabeledDocument, load_file, parse_text

REPO = Path(__file__).resolve().parent.parent
FORMAT, SAVE = "/v1/seeds/format", "/v1/seeds"
SEED_003 = "003_29497bab403b2bdf.txt"
_LINK = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


# --- fixtures and helpers --------------------------------------------------------------


@pytest.fixture(scope="module")
def client(filt: Filter) -> Iterator[TestClient]:
    """Saving off, as by default."""
    with TestClient(create_app(Settings(), filt=filt)) as client:
        yield client


@pytest.fixture
def save_dir(tmp_path) -> Path:
    folder = tmp_path / "seeds"
    folder.mkdir()
    return folder


@pytest.fixture
def saving(filt: Filter, save_dir: Path) -> Iterator[TestClient]:
    """An app started with --allow-save save_dir."""
    with TestClient(create_app(Settings(allow_save=save_dir), filt=filt)) as client:
        yield client


@pytest.fixture(scope="module")
def seed_003(seeds) -> LabeledDocument:
    return seeds[SEED_003]


def scored(client: TestClient, doc: LabeledDocument, html: bool = False) -> list[dict[str, Any]]:
    """The page's request: every label kept, so the answer holds the raw labels."""
    body = {"html" if html else "text": doc.raw, "keep": list(LABELS), "min_confidence": 0}
    response = client.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    return response.json()["paragraphs"]


def document(paragraphs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"paragraphs": [{"text": p["text"], "label": p["label"]} for p in paragraphs],
            **extra}


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["request_id"] == response.headers[REQUEST_ID]
    return body["error"]


# --- the page --------------------------------------------------------------------------


def test_the_page_and_its_files_are_served_with_no_external_url(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    links = _LINK.findall(page.text)
    assets = [link for link in links if not link.startswith(("#", "data:"))]
    assert sorted(assets) == ["static/fold.js", "static/review.css", "static/review.js"]
    texts = {"/": page.text}
    for asset in assets:
        response = client.get(f"/{asset}")
        assert response.status_code == 200, asset
        assert response.headers["content-type"].startswith(
            "text/css" if asset.endswith(".css") else "text/javascript")
        texts[asset] = response.text
    for name, text in texts.items():
        assert "http://" not in text and "https://" not in text, name
        assert not [u for u in _LINK.findall(text) if u.startswith("//")], name
        assert "@import" not in text and "url(" not in text, name
    # Nothing is left of the server's placeholders, and the page is the package's file.
    assert "{{" not in page.text
    assert 'data-allow-save="false"' in page.text
    assert client.get("/static/review.py").status_code == 404
    assert client.get("/static/..%2Fapp.py").status_code == 404


def test_the_page_knows_the_policy_defaults_and_whether_saving_is_on(client, saving,
                                                                     save_dir):
    assert 'data-default-keep="body"' in client.get("/").text
    assert 'data-default-min-confidence="0.5"' in client.get("/").text
    page = saving.get("/").text
    assert 'data-allow-save="true"' in page
    assert f'data-save-folder="{save_dir.resolve()}"' in page


def test_fold_script_carries_this_pythons_whitespace_and_case_folding(client):
    script = client.get("/static/fold.js").text
    assert "const PY_SPACE = /[" in script and "const PY_CASEFOLD = new Map(" in script
    for char in ("\u00a0", "\u2028", "\u3000", "\x1c"):  # str.split() splits on these
        assert f"\\u{{{ord(char):x}}}" in script
    assert '"\\u00df":"ss"' in script  # ß casefolds to ss (lower() keeps it)


# --- /v1/seeds/format ------------------------------------------------------------------


def test_format_round_trips_through_the_seeds_parser_with_a_changed_label(client, seed_003):
    paragraphs = scored(client, seed_003)
    body = document(paragraphs, comment="reviewed\nby hand")
    promo = next(k for k, label in enumerate(seed_003.labels) if label == "promo")
    body["paragraphs"][promo]["label"] = "body"  # a person disagrees with the model
    response = client.post(FORMAT, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["paragraphs"] == len(paragraphs)
    content = answer["content"]
    assert content.startswith("# reviewed\n# by hand\n@separator: blank\n")
    doc = parse_text(content, "review.txt")
    assert doc.document.texts == [p["text"] for p in paragraphs] == seed_003.document.texts
    assert [label.value for label in doc.labels] == [p["label"] for p in body["paragraphs"]]
    assert doc.labels[promo] == "body"
    # A paragraph with a line break inside became a continuation line, and reads back whole.
    assert "            | Please enter your name here\n" in content
    assert doc.raw == seed_003.raw


@pytest.mark.parametrize("key", ["001_", "002_", "p01_"])
def test_format_reads_back_line_documents_and_html_pages_as_blank_text_documents(
        client, seeds, key):
    """001 is a '@separator: line' document, p01 an HTML page: both come back exactly."""
    (doc,) = [d for name, d in seeds.items() if name.startswith(key)]
    paragraphs = scored(client, doc, html=key.startswith("p"))
    content = client.post(FORMAT, json=document(paragraphs)).json()["content"]
    back = parse_text(content, "x.txt")
    assert back.document.texts == [p["text"] for p in paragraphs] == doc.document.texts
    assert [label.value for label in back.labels] == [p["label"] for p in paragraphs]


def test_format_refuses_what_the_loader_would_refuse_naming_the_paragraph(client):
    repeat = {"paragraphs": [{"text": "Breaking news", "label": "body"},
                             {"text": "Other words here.", "label": "body"},
                             {"text": "breaking NEWS", "label": "body"}]}
    error = error_of(client.post(FORMAT, json=repeat), 422)
    assert error.startswith("not a valid seed file: paragraph 3 ('breaking NEWS'):")
    assert "labeled body" in error
    split = {"paragraphs": [{"text": "One line\n- a list item", "label": "body"}]}
    assert "paragraph 1" in error_of(client.post(FORMAT, json=split), 422)
    padded = {"paragraphs": [{"text": "  padded ", "label": "body"}]}
    assert "would not read back" in error_of(client.post(FORMAT, json=padded), 422)
    line_break = {"paragraphs": [{"text": "a\nb", "label": "body"}], "separator": "line"}
    assert "continuation line" in error_of(client.post(FORMAT, json=line_break), 422)


def test_format_refuses_bad_bodies(client):
    unknown = {"paragraphs": [{"text": "x", "label": "advert"}]}
    assert "paragraphs.0.label" in error_of(client.post(FORMAT, json=unknown), 422)
    assert "paragraphs" in error_of(client.post(FORMAT, json={"paragraphs": []}), 422)
    empty_text = {"paragraphs": [{"text": "", "label": "body"}]}
    assert "paragraphs.0.text" in error_of(client.post(FORMAT, json=empty_text), 422)
    extra = {"paragraphs": [{"text": "x", "label": "body"}], "name": "x"}
    assert "name" in error_of(client.post(FORMAT, json=extra), 422)
    response = client.post(FORMAT, content=b"{}", headers={"content-type": "text/plain"})
    assert error_of(response, 415)


# --- /v1/seeds (--allow-save) ----------------------------------------------------------


ONE = {"paragraphs": [{"text": "The council voted on Tuesday.", "label": "body"},
                      {"text": "Share post:", "label": "boilerplate"}]}


def test_save_is_refused_when_the_service_was_not_started_with_allow_save(client, tmp_path):
    before = set(Path.cwd().iterdir())
    assert error_of(client.post(SAVE, json={**ONE, "name": "x"}), 403) == SAVE_OFF
    assert set(Path.cwd().iterdir()) == before


@pytest.mark.parametrize(("name", "problem"), [
    ("../x", NAME_DOTDOT),
    ("..", NAME_DOTDOT),
    ("/etc/passwd", NAME_ABSOLUTE),
    ("\\\\server\\share", NAME_ABSOLUTE),
    ("C:\\x", NAME_ABSOLUTE),
    ("a/b", NAME_SEPARATOR),
    ("a\\b", NAME_SEPARATOR),
    ("a\0b", NAME_NUL),
    ("x\0", NAME_NUL),
    ("", NAME_EMPTY),
    ("   ", NAME_EMPTY),
    ("!!!", NAME_NOTHING),
    (".txt", NAME_NOTHING),
    ("a" * 65, NAME_TOO_LONG),
])
def test_save_refuses_names_that_could_leave_its_folder(saving, save_dir, name, problem):
    error = error_of(saving.post(SAVE, json={**ONE, "name": name}), 422)
    assert error == f"name: {problem}"
    assert list(save_dir.iterdir()) == []
    assert not (save_dir.parent / "x.txt").exists() and not (save_dir.parent / "x").exists()


@pytest.mark.parametrize(("name", "file"), [
    ("council-vote", "council-vote.txt"),
    ("Council Vote.TXT", "council-vote.txt"),
    ("Café: été 2024!", "cafe-ete-2024.txt"),
    ("story.v2", "story-v2.txt"),
    (".hidden", "hidden.txt"),
    ("-rf", "rf.txt"),
    ("a" * 64, "a" * 64 + ".txt"),
])
def test_file_names_are_reduced_to_lowercase_letters_digits_dash_and_underscore(name, file):
    assert seed_file_name(name) == file


def test_saved_file_loads_with_the_seeds_loader_and_carries_the_changed_label(
        saving, save_dir, seed_003):
    paragraphs = scored(saving, seed_003)
    body = document(paragraphs, name="Seed 003 reviewed")
    body["paragraphs"][0]["label"] = "boilerplate"
    response = saving.post(SAVE, json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["file"] == "seed-003-reviewed.txt"
    path = save_dir / answer["file"]
    assert answer["path"] == str(path.resolve())
    assert [p.name for p in save_dir.iterdir()] == [answer["file"]]
    assert path.read_text(encoding="utf-8") == answer["content"]
    doc = load_file(path)
    assert doc.document.texts == seed_003.document.texts
    assert doc.labels[0] == "boilerplate"
    assert [label.value for label in doc.labels[1:]] == [p["label"] for p in paragraphs[1:]]


def test_save_never_overwrites_a_file(saving, save_dir, tmp_path):
    first = saving.post(SAVE, json={**ONE, "name": "story"})
    assert first.status_code == 201, first.text
    written = (save_dir / "story.txt").read_bytes()
    changed = {**ONE, "name": "STORY.txt"}
    changed["paragraphs"] = [{"text": "Something else.", "label": "promo"}]
    assert error_of(saving.post(SAVE, json=changed), 409) == EXISTS.format(file="story.txt")
    assert (save_dir / "story.txt").read_bytes() == written
    # Not through a symbolic link either: the file it points to stays as it was.
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    (save_dir / "link.txt").symlink_to(outside)
    assert error_of(saving.post(SAVE, json={**ONE, "name": "link"}), 409)
    assert outside.read_text() == "keep me\n"


def test_save_validates_the_file_before_writing_it(saving, save_dir):
    repeat = {"name": "bad", "paragraphs": [{"text": "Title", "label": "body"},
                                            {"text": "Title", "label": "body"}]}
    assert "paragraph 2" in error_of(saving.post(SAVE, json=repeat), 422)
    assert list(save_dir.iterdir()) == []


# --- the setting and the command line --------------------------------------------------


def test_allow_save_must_be_an_existing_folder(tmp_path, monkeypatch):
    with pytest.raises(ValidationError, match="is not a directory"):
        Settings(allow_save=tmp_path / "missing")
    monkeypatch.setenv("CONTAMFILTER_ALLOW_SAVE", str(tmp_path))
    assert Settings().allow_save == tmp_path.resolve()
    monkeypatch.setenv("CONTAMFILTER_ALLOW_SAVE", "")  # empty: off, not the current folder
    assert Settings().allow_save is None
    monkeypatch.delenv("CONTAMFILTER_ALLOW_SAVE")
    assert Settings().allow_save is None


def test_serve_refuses_an_allow_save_that_is_not_a_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTAMFILTER_")}
    run = subprocess.run([sys.executable, "-m", "filter", "serve", "--allow-save",
                          str(tmp_path / "missing")], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=60)
    assert run.returncode == 2
    assert "--allow-save" in run.stderr and "is not a directory" in run.stderr
    assert "Traceback" not in run.stderr
