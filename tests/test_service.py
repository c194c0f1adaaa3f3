"""The HTTP service in-process: every endpoint and every refusal, with the real shipped model.

One app per module (``client``) loads the model once in its lifespan, as a server does.
Tests that need other settings (small limits) build their own app around the session's
already loaded ``filt``, so the model file is verified once, not per test. Expected
answers come from ``filter.Filter`` directly: the service must answer exactly what the
library (and so ``contamfilter score``) answers for the same document and options.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from filter import LABELS, Filter, ModelError, Policy
from filter.artifact import MODEL_DIR, read_card
from filter.core import DEFAULT_MAX_BYTES
from filter.policy import DEFAULT_MIN_CONFIDENCE
from service.app import (
    BAD_JSON,
    NOT_JSON,
    NOT_READY,
    NOT_UNICODE,
    NOT_UTF8,
    REQUEST_ID,
    TOO_LARGE,
    TOO_MANY,
    create_app,
)
from service.schemas import EMPTY_CONTENT, NEED_CONTENT
from service.settings import Settings, get_settings
from training.annotations import LabeledDocument

from .prometheus import metric

SCORE, CLEAN, BATCH = "/v1/score", "/v1/clean", "/v1/score/batch"
POSTS = (SCORE, CLEAN, BATCH)
REPORT_KEYS = {"paragraphs", "clean_text", "counts", "contamination", "model"}
CLEAN_KEYS = {"clean_text", "counts", "contamination", "model"}
SEED_002 = "002_1d3e4e9e20bffcba.txt"
SEED_003 = "003_29497bab403b2bdf.txt"
HOST_TURN = "**Host:** Welcome back to the show."
SHORT = "Share post:\n\nThe council voted on Tuesday to extend the bus lanes to the harbour."


# --- helpers ---------------------------------------------------------------------------


def expected(filt: Filter, raw: str, fmt: str | None = None,
             keep: Any = None, min_confidence: float | None = None) -> dict[str, Any]:
    """What the library reports for ``raw``, as it looks after a trip through JSON."""
    policy = Policy.build(keep, min_confidence)
    return json.loads(json.dumps(filt.score(raw, fmt, policy).report()))


def body_of(document: dict[str, Any]) -> dict[str, Any]:
    """The request body for one document of a batch (as the CLI's JSON Lines record)."""
    return {"text": document["text"]} if "text" in document else {"html": document["html"]}


def error_of(response, status: int) -> str:
    """The JSON error of a refusal, after checking its status and request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert body["request_id"] == response.headers[REQUEST_ID]
    return body["error"]




# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """The default app, its lifespan run: the model is loaded and verified once."""
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture(scope="module")
def settings(client) -> Settings:
    return client.app.state.settings


@pytest.fixture(scope="module")
def seed_003(seeds) -> LabeledDocument:
    return seeds[SEED_003]


@pytest.fixture(scope="module")
def page(seeds) -> LabeledDocument:
    """seeds/html/p01_*.html: a whole scraped page with scripts, styles and navigation."""
    (doc,) = [d for name, d in seeds.items() if name.startswith("p01_")]
    return doc


def small_app(filt: Filter, **settings: Any):
    """An app with other settings around the already loaded model."""
    return create_app(Settings(**settings), filt=filt)


# --- health and readiness --------------------------------------------------------------


def test_livez_answers_alive(client):
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_readyz_is_503_before_the_lifespan_loaded_the_model_and_200_after():
    app = create_app()
    cold = TestClient(app)  # no `with`: the lifespan has not run, no model is loaded
    assert error_of(cold.get("/readyz"), 503) == NOT_READY
    assert error_of(cold.post(SCORE, json={"text": SHORT}), 503) == NOT_READY
    assert error_of(cold.get("/v1/model"), 503) == NOT_READY
    assert cold.get("/livez").status_code == 200  # alive, though not ready
    with TestClient(app) as warm:
        response = warm.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "model": read_card()["version"]}
        assert warm.post(SCORE, json={"text": SHORT}).status_code == 200
    # Shut down: the model is released and the app says so again.
    assert error_of(cold.get("/readyz"), 503) == NOT_READY


def test_a_model_that_fails_verification_never_becomes_ready(tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(MODEL_DIR, model_dir)
    card = json.loads((model_dir / "card.json").read_text())
    card["sha256"] = "0" * 64  # the file no longer matches its card
    (model_dir / "card.json").write_text(json.dumps(card))
    app = create_app(Settings(model_dir=model_dir))
    with pytest.raises(ModelError, match="does not match its card"), TestClient(app):
        pass
    assert error_of(TestClient(app).get("/readyz"), 503) == NOT_READY


def test_openapi_lists_every_endpoint_and_docs_are_served(client):
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "contamfilter"
    assert {SCORE, CLEAN, BATCH, "/v1/model", "/livez", "/readyz", "/metrics"} <= set(
        schema["paths"])
    for path in POSTS:
        assert "post" in schema["paths"][path]
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "/openapi.json" in docs.text


# --- /v1/model -------------------------------------------------------------------------


def test_model_answers_the_fields_of_the_model_card(client, settings):
    card = read_card()
    response = client.get("/v1/model")
    assert response.status_code == 200
    info = response.json()
    assert info["version"] == card["version"]
    assert info["labels"] == card["labels"] == list(LABELS)
    assert info["training_data_sha256"] == card["training_data"]["seeds_sha256"]
    assert info["training_data"] == card["training_data"]
    assert info["metrics"] == card["cross_validation"]
    assert info["sha256"] == card["sha256"]
    assert info["libraries"] == card["libraries"]
    assert info["thresholds"] == {**Policy().record(), "max_body_bytes": settings.max_body_bytes,
                                  "max_batch": settings.max_batch}
    assert info["thresholds"]["min_confidence"] == DEFAULT_MIN_CONFIDENCE


# --- /v1/score and /v1/clean -----------------------------------------------------------


def test_score_answers_what_the_library_reports_for_each_real_seed(client, filt, real_seeds):
    for doc in real_seeds:
        response = client.post(SCORE, json={"text": doc.raw})
        assert response.status_code == 200, response.text
        report = response.json()
        assert set(report) == REPORT_KEYS
        assert report == expected(filt, doc.raw), doc.name
        paragraphs = report["paragraphs"]
        assert [p["text"] for p in paragraphs] == [p.text for p in doc.document.paragraphs]
        for p in paragraphs:
            assert set(p) == {"text", "label", "scores", "kept"}
            assert p["label"] in LABELS and set(p["scores"]) == set(LABELS)
        assert report["model"] == read_card()["version"]


def test_score_of_seed_003_drops_its_eight_promo_teasers(client, seed_003):
    report = client.post(SCORE, json={"text": seed_003.raw}).json()
    assert report["counts"]["promo"] == 8
    promos = [p for p in report["paragraphs"] if p["label"] == "promo"]
    assert len(promos) == 8 and not any(p["kept"] for p in promos)
    assert 0.0 < report["contamination"] < 1.0
    assert report["clean_text"].startswith(
        "Iran Begins to Evacuate Military Commanders as Syrian Rebels Gain Ground")


def test_score_reads_an_html_page_given_as_html(client, filt, page):
    response = client.post(SCORE, json={"html": page.raw})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report == expected(filt, page.raw, "html")
    everything = "\n".join(p["text"] for p in report["paragraphs"])
    assert "<script" not in everything and "jQuery" not in everything
    # The same page as "text" is auto-detected as HTML, as the CLI does.
    assert client.post(SCORE, json={"text": page.raw}).json() == report


def test_clean_answers_the_clean_text_counts_contamination_and_model(client, real_seeds, page):
    for body in [{"text": doc.raw} for doc in real_seeds] + [{"html": page.raw}]:
        cleaned = client.post(CLEAN, json=body)
        assert cleaned.status_code == 200, cleaned.text
        scored = client.post(SCORE, json=body).json()
        assert cleaned.json() == {key: scored[key] for key in CLEAN_KEYS}


@pytest.mark.parametrize(("doc", "keep", "min_confidence"), [
    (SEED_002, ["body", "transcript"], None),
    (SEED_002, "body,transcript", None),
    (SEED_003, None, 1.0),
    (SEED_003, ["body", "promo"], 0.9),
    (SEED_003, ["boilerplate"], None),
])
def test_keep_and_min_confidence_are_honoured_as_the_library_applies_them(
        client, filt, seeds, doc, keep, min_confidence):
    raw = seeds[doc].raw
    options = {k: v for k, v in (("keep", keep), ("min_confidence", min_confidence))
               if v is not None}
    want = expected(filt, raw, keep=keep, min_confidence=min_confidence)
    assert want["clean_text"] != expected(filt, raw)["clean_text"]  # the options matter here
    scored = client.post(SCORE, json={"text": raw, **options})
    assert scored.status_code == 200, scored.text
    assert scored.json() == want
    cleaned = client.post(CLEAN, json={"text": raw, **options}).json()
    assert cleaned == {key: want[key] for key in CLEAN_KEYS}
    batch = client.post(BATCH, json={"documents": [{"id": doc, "text": raw}], **options}).json()
    assert batch == {"results": [{"id": doc, **want}]}


def test_keep_transcript_keeps_the_interview_of_seed_002(client, seeds):
    raw = seeds[SEED_002].raw
    default = client.post(CLEAN, json={"text": raw}).json()["clean_text"]
    both = client.post(CLEAN, json={"text": raw, "keep": ["body", "transcript"]}).json()
    assert HOST_TURN not in default
    assert HOST_TURN in both["clean_text"]


# --- /v1/score/batch -------------------------------------------------------------------


def test_batch_answers_one_result_per_document_in_order_equal_to_single_scores(
        client, real_seeds, page):
    documents = [{"id": f"doc-{k}", "text": doc.raw} for k, doc in enumerate(real_seeds)]
    documents.insert(2, {"id": 99, "html": page.raw})
    response = client.post(BATCH, json={"documents": documents})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["id"] for r in results] == [d["id"] for d in documents]
    for document, result in zip(documents, results, strict=True):
        single = client.post(SCORE, json=body_of(document)).json()
        assert result == {"id": document["id"], **single}


def test_batch_with_bad_documents_answers_an_error_in_their_slots_and_scores_the_others(
        client, filt, seed_003, page):
    documents = [
        {"id": "good", "text": seed_003.raw},
        {"id": "no-content", "title": "neither text nor html"},
        {"id": 7, "text": 42},
        {"id": "empty", "text": "  \n\n  "},
        {"id": ["a", 1], "html": page.raw, "lang": "en"},
        {"text": SHORT},
        {"id": "html-not-a-string", "html": ["<p>x</p>"]},
    ]
    response = client.post(BATCH, json={"documents": documents})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(documents)
    good, no_content, not_text, empty, html, no_id, html_list = results
    assert good == {"id": "good", **expected(filt, seed_003.raw)}
    assert html == {"id": ["a", 1], **expected(filt, page.raw, "html")}
    assert no_id == expected(filt, SHORT)  # no id given: none answered
    assert no_content == {"id": "no-content",
                          "error": "record has neither a 'text' nor an 'html' field"}
    assert not_text == {"id": 7, "error": "'text' must be a string, got int"}
    assert empty == {"id": "empty", "error": EMPTY_CONTENT}
    assert html_list == {"id": "html-not-a-string", "error": "'html' must be a string, got list"}


def test_batch_over_the_configured_count_is_413_naming_the_limit(filt):
    with TestClient(small_app(filt, max_batch=3)) as client:
        documents = [{"id": k, "text": SHORT} for k in range(4)]
        response = client.post(BATCH, json={"documents": documents})
        assert error_of(response, 413) == TOO_MANY.format(n=4, limit=3)
        assert "limit of 3" in response.json()["error"]
        at_limit = client.post(BATCH, json={"documents": documents[:3]})
        assert at_limit.status_code == 200
        assert len(at_limit.json()["results"]) == 3


def test_batch_default_limit_is_64_documents(client, settings):
    assert settings.max_batch == 64
    documents = [{"id": k, "text": SHORT} for k in range(65)]
    assert error_of(client.post(BATCH, json={"documents": documents}), 413) == TOO_MANY.format(
        n=65, limit=64)
    assert client.post(BATCH, json={"documents": documents[:64]}).status_code == 200


def test_empty_batch_answers_no_results(client):
    response = client.post(BATCH, json={"documents": []})
    assert response.status_code == 200
    assert response.json() == {"results": []}


def test_batch_slot_that_is_not_an_object_gets_an_error_in_its_slot(client):
    response = client.post(BATCH, json={"documents": [None, {"id": "ok", "text": SHORT}]})
    assert response.status_code == 200, response.text
    bad, good = response.json()["results"]
    assert "object" in bad["error"]
    assert good["id"] == "ok" and "paragraphs" in good


# --- refusals: each a 4xx whose JSON error names the problem ---------------------------


@pytest.mark.parametrize("path", [SCORE, CLEAN])
@pytest.mark.parametrize("body", [
    {"text": ""},
    {"text": "   \n\n\t  "},
    {"html": ""},
    {"html": " \n "},
], ids=["empty-text", "blank-text", "empty-html", "blank-html"])
def test_empty_document_is_422_the_document_is_empty(client, path, body):
    assert error_of(client.post(path, json=body), 422) == EMPTY_CONTENT


@pytest.mark.parametrize("path", [SCORE, CLEAN])
@pytest.mark.parametrize("body", [
    {},
    {"keep": ["body"]},
    {"text": SHORT, "html": "<p>x</p>"},
    {"text": None, "html": None},
], ids=["nothing", "only-options", "both", "both-null"])
def test_not_exactly_one_of_text_or_html_is_422_naming_both_fields(client, path, body):
    assert error_of(client.post(path, json=body), 422) == NEED_CONTENT


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("headers", [
    {"content-type": "text/plain"},
    {"content-type": "application/x-www-form-urlencoded"},
    {"content-type": "application/xml"},
    {},
], ids=["text-plain", "form", "xml", "none"])
def test_a_body_that_is_not_declared_json_is_415(client, path, headers):
    body = json.dumps({"text": SHORT, "documents": []}).encode()
    response = client.post(path, content=body, headers=headers)
    assert error_of(response, 415) == NOT_JSON


@pytest.mark.parametrize("path", [SCORE, CLEAN])
def test_json_content_type_with_parameters_or_in_capitals_is_accepted(client, path):
    for ctype in ("application/json; charset=utf-8", "Application/JSON"):
        response = client.post(path, content=json.dumps({"text": SHORT}).encode(),
                               headers={"content-type": ctype})
        assert response.status_code == 200, (ctype, response.text)


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("body", [
    b'{"text": "unterminated',
    b"{'text': 'single quotes'}",
    b'{"text": "a",}',
    b"not json at all",
], ids=["unterminated", "single-quotes", "trailing-comma", "words"])
def test_malformed_json_is_400_malformed_json_with_the_parser_message(client, path, body):
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    error = error_of(response, 400)
    prefix = BAD_JSON.format(detail="")
    assert error.startswith(prefix)
    assert len(error) > len(prefix)  # the parser's own words say where it broke


@pytest.mark.parametrize("path", POSTS)
def test_a_body_that_is_not_utf8_is_400_malformed_json_not_utf8(client, path):
    response = client.post(path, content=b'{"text": "caf\xe9 \xff"}',
                           headers={"content-type": "application/json"})
    assert error_of(response, 400) == BAD_JSON.format(detail=NOT_UTF8)


@pytest.mark.parametrize("body", [
    {"text": "Prices rose \ud800 on Monday."},
    {"html": "<p>Prices rose \udfff on Monday.</p>"},
    {"text": SHORT, "keep": ["body\udc00"]},
    {"text": SHORT, "\ud83d": 1},
], ids=["text", "html", "keep", "field-name"])
def test_an_unpaired_surrogate_is_400_not_valid_unicode_never_a_500(client, body):
    # json.dumps escapes it as \ud800; json.loads accepts that but it is not Unicode text.
    response = client.post(SCORE, content=json.dumps(body).encode(),
                           headers={"content-type": "application/json"})
    assert error_of(response, 400) == BAD_JSON.format(detail=NOT_UNICODE)


def test_an_unpaired_surrogate_in_a_batch_id_or_document_is_400_never_a_500(client):
    for documents in ([{"id": "\ud800", "text": SHORT}], [{"id": 1, "text": "a \udbff b"}]):
        response = client.post(BATCH, content=json.dumps({"documents": documents}).encode(),
                               headers={"content-type": "application/json"})
        assert error_of(response, 400) == BAD_JSON.format(detail=NOT_UNICODE)


def test_a_surrogate_pair_is_ordinary_unicode_and_is_scored(client):
    response = client.post(SCORE, content=b'{"text": "Fans cheered \\ud83c\\udf89 loudly."}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["paragraphs"][0]["text"] == "Fans cheered \N{PARTY POPPER} loudly."


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("body", [[1, 2], "a string", None, 42],
                         ids=["list", "string", "null", "number"])
def test_a_json_body_that_is_not_an_object_is_422(client, path, body):
    response = client.post(path, content=json.dumps(body).encode(),
                           headers={"content-type": "application/json"})
    assert "object" in error_of(response, 422)


@pytest.mark.parametrize("path", POSTS)
def test_a_json_body_that_is_missing_is_422(client, path):
    response = client.post(path, headers={"content-type": "application/json"})
    assert error_of(response, 422) == "Field required"


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("keep", [["body", "adverts"], "body,adverts"])
def test_an_unknown_label_in_keep_is_422_naming_the_label(client, path, keep):
    body = {"keep": keep, **({"documents": [{"text": SHORT}]} if path == BATCH
                            else {"text": SHORT})}
    error = error_of(client.post(path, json=body), 422)
    assert "unknown label 'adverts'" in error
    assert "body, boilerplate, transcript, promo" in error


@pytest.mark.parametrize("keep", [[" "], ",", ["", "  "], " , "])
def test_keep_that_names_no_label_is_422(client, keep):
    error = error_of(client.post(SCORE, json={"text": SHORT, "keep": keep}), 422)
    assert error == "keep must name at least one label"


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("value", [-0.1, 1.5, "high", [0.5]])
def test_min_confidence_outside_0_to_1_or_not_a_number_is_422_naming_the_field(
        client, path, value):
    body = {"min_confidence": value, **({"documents": []} if path == BATCH
                                        else {"text": SHORT})}
    assert error_of(client.post(path, json=body), 422).startswith("min_confidence:")


@pytest.mark.parametrize("path", [SCORE, CLEAN])
@pytest.mark.parametrize(("body", "field"), [
    ({"text": 42}, "text"),
    ({"html": {"p": 1}}, "html"),
    ({"text": SHORT, "keep": [1]}, "keep"),
    ({"text": SHORT, "extra_field": 1}, "extra_field"),
    ({"text": SHORT, "format": "html"}, "format"),
])
def test_a_wrong_field_is_422_naming_the_field(client, path, body, field):
    assert error_of(client.post(path, json=body), 422).startswith(field)


@pytest.mark.parametrize(("body", "field"), [
    ({}, "documents"),
    ({"documents": "not a list"}, "documents"),
    ({"documents": [], "extra_field": 1}, "extra_field"),
    ({"documents": [], "text": SHORT}, "text"),
])
def test_a_wrong_batch_is_422_naming_the_field(client, body, field):
    assert error_of(client.post(BATCH, json=body), 422).startswith(field)


def test_unknown_path_is_a_json_404_and_wrong_method_a_json_405_with_allow(client):
    assert error_of(client.get("/v1/nope"), 404) == "Not Found"
    assert error_of(client.get("/v2/score"), 404) == "Not Found"
    response = client.get(SCORE)
    assert error_of(response, 405) == "Method Not Allowed"
    assert "POST" in response.headers["allow"]
    assert error_of(client.post("/livez"), 405) == "Method Not Allowed"


# --- body size limit: 413 before the body is parsed ------------------------------------


def test_body_over_the_limit_by_content_length_is_413_naming_the_limit(filt):
    with TestClient(small_app(filt, max_body_bytes=1000)) as client:
        for path in POSTS:
            body = {"text": "word " * 400, "documents": []}  # > 1000 bytes of valid JSON
            response = client.post(path, json=body)
            assert response.status_code == 413, response.text
            assert response.json()["error"] == TOO_LARGE.format(limit=1000)
            assert response.json()["request_id"] == response.headers[REQUEST_ID]


def test_body_over_the_limit_is_413_even_when_it_is_not_json_at_all(filt):
    # Refused by size before anything reads it: content type and syntax are not looked at.
    with TestClient(small_app(filt, max_body_bytes=1000)) as client:
        response = client.post(SCORE, content=b"\xff" * 5000,
                               headers={"content-type": "application/octet-stream"})
        assert response.status_code == 413
        assert response.json()["error"] == TOO_LARGE.format(limit=1000)


def test_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413(filt):
    with TestClient(small_app(filt, max_body_bytes=1000)) as client:
        head, tail = b'{"text": "', b'"}'
        exact = head + b"x" * (1000 - len(head) - len(tail)) + tail
        assert len(exact) == 1000
        ok = client.post(SCORE, content=exact, headers={"content-type": "application/json"})
        assert ok.status_code == 200, ok.text
        over = head + b"x" * (1001 - len(head) - len(tail)) + tail
        refused = client.post(SCORE, content=over, headers={"content-type": "application/json"})
        assert refused.status_code == 413


def chunks(total: int, size: int = 256) -> Iterator[bytes]:
    """A JSON body sent in pieces, without Content-Length (chunked transfer)."""
    body = b'{"text": "' + b"Word " * ((total - 12) // 5) + b'"}'
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_streamed_body_over_the_limit_is_413_naming_the_limit(filt):
    with TestClient(small_app(filt, max_body_bytes=1000)) as client:
        for path in POSTS:
            response = client.post(path, content=chunks(5000),
                                   headers={"content-type": "application/json",
                                            REQUEST_ID: "stream-1"})
            assert "content-length" not in response.request.headers
            assert response.status_code == 413, response.text
            assert response.json() == {"error": TOO_LARGE.format(limit=1000),
                                       "request_id": "stream-1"}
            assert response.headers[REQUEST_ID] == "stream-1"


def test_streamed_body_under_the_limit_is_scored(filt):
    with TestClient(small_app(filt, max_body_bytes=1000)) as client:
        response = client.post(SCORE, content=chunks(900),
                               headers={"content-type": "application/json"})
        assert "content-length" not in response.request.headers
        assert response.status_code == 200, response.text
        assert response.json()["paragraphs"][0]["text"].startswith("Word Word")


def test_default_body_limit_is_5_mb(client, settings):
    assert settings.max_body_bytes == DEFAULT_MAX_BYTES == 5_000_000
    response = client.post(SCORE, content=b"x" * 5_000_001,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == TOO_LARGE.format(limit=5_000_000)


# --- request ids and the 500 that should never happen ----------------------------------


def test_every_answer_carries_a_fresh_request_id(client):
    ids = {client.get("/livez").headers[REQUEST_ID] for _ in range(3)}
    ids.add(client.post(SCORE, json={"text": SHORT}).headers[REQUEST_ID])
    ids.add(client.post(SCORE, json={"text": ""}).headers[REQUEST_ID])
    assert len(ids) == 5
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/livez", None, 200),
    ("POST", SCORE, {"text": SHORT}, 200),
    ("POST", BATCH, {"documents": [{"id": 1, "text": SHORT}]}, 200),
    ("POST", SCORE, {"text": ""}, 422),
    ("GET", "/nowhere", None, 404),
])
def test_a_request_id_sent_by_the_client_is_echoed(client, method, path, body, status):
    response = client.request(method, path, json=body, headers={REQUEST_ID: "client-id-42"})
    assert response.status_code == status
    assert response.headers[REQUEST_ID] == "client-id-42"
    if status >= 400:
        assert response.json()["request_id"] == "client-id-42"


def test_a_request_id_is_echoed_on_a_413_by_content_length(filt):
    with TestClient(small_app(filt, max_body_bytes=1000)) as client:
        response = client.post(SCORE, json={"text": "x" * 2000}, headers={REQUEST_ID: "big-1"})
        assert response.status_code == 413
        assert response.headers[REQUEST_ID] == "big-1"
        assert response.json()["request_id"] == "big-1"


@pytest.fixture()
def failing_app(filt):
    """The real app plus a test-only route with a bug in it."""
    app = create_app(filt=filt)

    @app.get("/test-only/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("secret internals of the failure")

    return app


@pytest.mark.parametrize("sent", [None, "client-chosen-id"])
def test_an_unexpected_error_is_a_json_500_with_a_request_id_that_is_logged(
        failing_app, caplog, sent):
    headers = {REQUEST_ID: sent} if sent else {}
    with (TestClient(failing_app, raise_server_exceptions=False) as client,
          caplog.at_level(logging.ERROR, logger="contamfilter.service")):
        response = client.get("/test-only/boom", headers=headers)
        after = client.get("/livez")
        metrics = client.get("/metrics").text
    assert response.status_code == 500
    rid = response.headers[REQUEST_ID]
    if sent:
        assert rid == sent
    body = response.json()
    assert body == {"error": f"internal error (request id {rid})", "request_id": rid}
    assert "secret internals" not in response.text
    logged = [r for r in caplog.records if rid in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None and logged[0].exc_info[0] is RuntimeError
    assert "/test-only/boom" in logged[0].getMessage()
    assert after.status_code == 200  # the app goes on serving
    assert metric(metrics, "contamfilter_requests_total", route="/test-only/boom",
                  method="GET", status="500") == 1


# --- /metrics --------------------------------------------------------------------------


def test_metrics_count_requests_latency_paragraphs_by_label_and_refusals(filt, seed_003):
    with TestClient(small_app(filt, max_body_bytes=200_000, max_batch=2)) as client:
        assert client.post(SCORE, json={"text": seed_003.raw}).status_code == 200
        client.post(SCORE, json={"text": ""})  # 422
        client.post(CLEAN, content=b"x", headers={"content-type": "text/plain"})  # 415
        client.post(SCORE, content=b"{", headers={"content-type": "application/json"})  # 400
        client.post(SCORE, json={"text": "x" * 300_000})  # 413 by Content-Length
        client.post(SCORE, content=chunks(300_000, 4096),
                    headers={"content-type": "application/json"})  # 413 while streaming
        client.post(BATCH, json={"documents": [{"text": SHORT}] * 3})  # 413 batch too large
        client.post(BATCH, json={"documents": [{"id": 1, "text": SHORT}, {"id": 2}]})
        client.post(SCORE, json={"text": SHORT, "keep": "adverts"})  # 422 bad input
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert re.search(r'contamfilter_requests_total\{[^}]*route="/v1/score"', text)
    assert re.search(r'contamfilter_requests_total\{[^}]*route="/v1/clean"', text)

    def requests(route: str, status: int, method: str = "POST") -> float:
        return metric(text, "contamfilter_requests_total", route=route, method=method,
                      status=str(status))

    assert requests(SCORE, 200) == 1
    assert requests(SCORE, 422) == 2
    assert requests(CLEAN, 415) == 1
    assert requests(SCORE, 400) == 1
    assert requests(SCORE, 413) == 1  # the streamed one; by Content-Length it never routes
    assert requests(BATCH, 413) == 1
    assert requests(BATCH, 200) == 1
    assert metric(text, "contamfilter_request_seconds_count", route=SCORE) == 5
    assert metric(text, "contamfilter_request_seconds_bucket", route=SCORE, le="+Inf") == 5
    counts = expected(filt, seed_003.raw)["counts"]
    short = expected(filt, SHORT)["counts"]
    assert counts["promo"] == 8
    for label in LABELS:
        want = counts[label] + short[label]
        assert metric(text, "contamfilter_paragraphs_total", label=label) == want, label
    assert 'contamfilter_paragraphs_total{label="promo"} 8.0' in text

    def refused(reason: str) -> float:
        return metric(text, "contamfilter_documents_refused_total", reason=reason)

    assert refused("invalid_request") == 1
    assert refused("wrong_content_type") == 1
    assert refused("malformed_json") == 1
    assert refused("body_too_large") == 2
    assert refused("batch_too_large") == 1
    assert refused("bad_document") == 1
    assert refused("bad_input") == 1


def test_metrics_of_the_module_app_name_routes_not_raw_paths(client):
    client.get("/v1/does-not-exist")
    text = client.get("/metrics").text
    assert "contamfilter_requests_total" in text
    assert "/v1/does-not-exist" not in text
    assert metric(text, "contamfilter_requests_total", route="unmatched", method="GET",
                  status="404") >= 1


# --- settings --------------------------------------------------------------------------


def test_settings_come_from_contamfilter_environment_variables(monkeypatch):
    monkeypatch.setenv("CONTAMFILTER_MAX_BATCH", "5")
    monkeypatch.setenv("CONTAMFILTER_MAX_BODY_BYTES", "12345")
    monkeypatch.setenv("CONTAMFILTER_MICRO_BATCH", "3")
    settings = Settings()
    assert (settings.max_batch, settings.max_body_bytes, settings.micro_batch) == (5, 12345, 3)


def test_settings_defaults_without_environment(monkeypatch):
    for name in ("MODEL_DIR", "MAX_BODY_BYTES", "MAX_BATCH", "WORKERS", "MICRO_BATCH"):
        monkeypatch.delenv(f"CONTAMFILTER_{name}", raising=False)
    settings = Settings()
    assert settings.max_body_bytes == 5_000_000
    assert settings.max_batch == 64
    assert settings.workers == 1
    assert settings.model_dir is None


def test_create_app_without_settings_reads_the_environment(monkeypatch, filt):
    monkeypatch.setenv("CONTAMFILTER_MAX_BATCH", "2")
    monkeypatch.setenv("CONTAMFILTER_MAX_BODY_BYTES", "4000")
    get_settings.cache_clear()
    try:
        with TestClient(create_app(filt=filt)) as client:
            thresholds = client.get("/v1/model").json()["thresholds"]
            assert (thresholds["max_batch"], thresholds["max_body_bytes"]) == (2, 4000)
            response = client.post(BATCH, json={"documents": [{"text": SHORT}] * 3})
            assert error_of(response, 413) == TOO_MANY.format(n=3, limit=2)
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_bad_limit_in_the_environment_is_refused_at_startup(monkeypatch, value):
    monkeypatch.setenv("CONTAMFILTER_MAX_BATCH", value)
    with pytest.raises(ValueError, match="max_batch"):
        Settings()


def test_settings_given_to_create_app_override_the_environment(monkeypatch, filt):
    monkeypatch.setenv("CONTAMFILTER_MAX_BATCH", "50")
    with TestClient(create_app(Settings(max_batch=1), filt=filt)) as client:
        response = client.post(BATCH, json={"documents": [{"text": SHORT}] * 2})
        assert error_of(response, 413) == TOO_MANY.format(n=2, limit=1)


def test_settings_model_dir_loads_that_model(tmp_path):
    shutil.copytree(MODEL_DIR, tmp_path / "model")
    with TestClient(create_app(Settings(model_dir=Path(tmp_path / "model")))) as client:
        assert client.get("/readyz").json()["model"] == read_card()["version"]
        assert client.post(SCORE, json={"text": SHORT}).status_code == 200
