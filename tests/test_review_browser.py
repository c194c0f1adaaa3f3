"""The review page in a real browser: the system Chromium driven by Playwright.

A real server (`contamfilter serve --allow-save DIR` on a free loopback port) and Debian's
`chromium` (launched by path: no browser is downloaded). Skipped, saying why, when either
Chromium or the playwright package is missing. The page is checked against the service
itself: the labels it shows and the paragraphs it keeps under a policy must be what
`/v1/score` answers for that policy.

The screenshot goes to the test's folder and to reports/review-page.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from filter import LABELS, Policy
from filter.policy import THIN_WORDS, merged_copies, repeat_key
from training.annotations import LabeledDocument, load_file

from .test_service_e2e import Server, connect, free_port, server_env, stop, wait_ready

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install "
    "playwright; the browser itself is Debian's chromium)")
expect = sync_api.expect

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = next((path for path in ("/usr/bin/chromium", shutil.which("chromium"))
                 if path and os.access(path, os.X_OK)), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (/usr/bin/chromium): the browser tests need "
    "Debian's chromium package (apt-get install chromium)")

SEED_003 = "003_29497bab403b2bdf.txt"
NAME = "seed-003-reviewed"
SCREENSHOT = REPO / "reports" / "review-page.png"
TIMEOUT_MS = 30_000


# --- the server and the browser --------------------------------------------------------


@pytest.fixture(scope="module")
def save_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("allow-save")


@pytest.fixture(scope="module")
def server(tmp_path_factory, save_dir) -> Iterator[Server]:
    """`contamfilter serve --allow-save save_dir`, stopped (cleanly) after the module."""
    for _attempt in range(3):  # the free port may be taken again before the server binds
        port = free_port()
        log = tmp_path_factory.mktemp("review-server") / "stderr.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "filter", "serve", "--host", "127.0.0.1", "--port",
                 str(port), "--allow-save", str(save_dir)],
                cwd=REPO, env=server_env(), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err)
        server = Server(proc, f"http://127.0.0.1:{port}", log)
        try:
            wait_ready(server)
        except RuntimeError:
            if "address already in use" in server.stderr().lower():
                continue
            raise
        try:
            yield server
        finally:
            stop(server)
        return
    raise RuntimeError("no free port for the server after 3 attempts")


@pytest.fixture(scope="module")
def api(server) -> Iterator[httpx.Client]:
    with connect(server.url) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, server) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A refused request (the 409 of a second save) is logged by the browser: not a bug.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.goto(f"{server.url}/")
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    yield page
    context.close()
    assert errors == [], errors


@pytest.fixture(scope="module")
def seed_003(seeds) -> LabeledDocument:
    return seeds[SEED_003]


def score_in_page(page, raw: str) -> Any:
    page.fill("#raw", raw)
    page.click("#score")
    items = page.locator("#paragraphs > li")
    expect(items.first).to_be_visible()
    return items


def service_says(api: httpx.Client, raw: str, **options: Any) -> dict[str, Any]:
    response = api.post("/v1/score", json={"text": raw, **options})
    assert response.status_code == 200, response.text
    return response.json()


def shown(items, attribute: str) -> list[str]:
    return items.evaluate_all(f"els => els.map(e => e.dataset.{attribute})")


def contamination(page) -> float:
    return float(page.get_attribute("#summary", "data-contamination"))


def set_policy(page, keep: list[str], min_confidence: float) -> None:
    for label in LABELS:
        box = page.locator(f'#keep input[value="{label}"]')
        box.check() if label in keep else box.uncheck()
    page.fill("#min-confidence", str(min_confidence))


# --- the tests -------------------------------------------------------------------------


def test_seed_003_scored_relabeled_exported_and_saved(page, api, seed_003, save_dir,
                                                       tmp_path, capsys):
    raw = seed_003.raw
    items = score_in_page(page, raw)
    expect(items).to_have_count(len(seed_003.labels))
    everything = service_says(api, raw, keep=list(LABELS), min_confidence=0)
    model_labels = [p["label"] for p in everything["paragraphs"]]
    assert shown(items, "label") == model_labels

    # The eight promo teasers at the end: shown as promo (P) and struck through, dropped.
    promos = [k for k, label in enumerate(seed_003.labels) if label == "promo"]
    assert len(promos) == 8
    for k in promos:
        item = items.nth(k)
        expect(item).to_have_attribute("data-label", "promo")
        expect(item).to_have_attribute("data-kept", "false")
        expect(item).to_have_class(_has("dropped"))
        expect(item.locator(".badge")).to_have_text("P")
        decoration = item.locator(".text").evaluate("e => getComputedStyle(e).textDecorationLine")
        assert "line-through" in decoration
    default = service_says(api, raw)
    summary = page.inner_text("#summary")
    assert f"{default['counts']['promo']} promo (P)" in summary
    assert contamination(page) == default["contamination"]
    assert f"contamination {default['contamination']:g}" in summary
    assert f"model {default['model']}" in summary
    assert page.input_value("#clean-text") == default["clean_text"]

    # The policy controls re-render kept/dropped and the clean text exactly as the service
    # would decide them.
    for keep, min_confidence in [(["body"], 0.0), (["body"], 0.95), (["body"], 1.0),
                                 (["body", "boilerplate"], 0.5), (["promo"], 0.3),
                                 (["body", "transcript"], 0.02), (["body"], 0.5)]:
        set_policy(page, keep, min_confidence)
        expected = service_says(api, raw, keep=keep, min_confidence=min_confidence)
        assert shown(items, "kept") == [str(p["kept"]).lower() for p in expected["paragraphs"]]
        assert page.input_value("#clean-text") == expected["clean_text"], (keep, min_confidence)
        assert contamination(page) == expected["contamination"]

    # Relabel: the title by key (t: transcript), the first teaser with its label menu.
    title = items.nth(0)
    title.focus()
    page.keyboard.press("t")
    expect(title).to_have_attribute("data-label", "transcript")
    expect(title).to_have_class(_has("corrected"))
    expect(title.locator(".fix-tag")).to_have_text("corrected (model: body)")
    expect(title).to_have_attribute("data-kept", "false")  # transcript is not kept
    teaser = items.nth(promos[0])
    teaser.locator("select").select_option("body")
    expect(teaser).to_have_attribute("data-label", "body")
    expect(teaser).to_have_attribute("data-kept", "true")
    expect(page.locator("#summary")).to_contain_text("2 corrected")
    expected_labels = list(model_labels)
    expected_labels[0], expected_labels[promos[0]] = "transcript", "body"
    assert shown(items, "label") == expected_labels

    # Export: the download is a seed file the loader reads back, with both corrections.
    page.fill("#name", NAME)
    with page.expect_download() as download_info:
        page.click("#export")
    download = download_info.value
    assert download.suggested_filename == f"{NAME}.txt"
    exported = tmp_path / download.suggested_filename
    download.save_as(exported)
    doc = load_file(exported)
    assert doc.document.texts == seed_003.document.texts
    assert [label.value for label in doc.labels] == expected_labels
    assert doc.raw == raw

    # Save to seeds: the same file in the --allow-save folder.
    page.click("#save")
    expect(page.locator("#message")).to_contain_text("Saved")
    saved = save_dir / f"{NAME}.txt"
    assert saved.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")
    assert [label.value for label in load_file(saved).labels] == expected_labels

    # The screenshot: the whole page, the corrected title focused (its reasons open).
    page.mouse.move(0, 0)
    title.focus()
    shot = tmp_path / "review.png"
    page.screenshot(path=shot, full_page=True)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
    with capsys.disabled():
        print(f"\nreview page screenshot: {shot} (copied to {SCREENSHOT})")

    # Never a second time over the same name.
    page.click("#save")
    expect(page.locator("#message")).to_contain_text("exists already")
    assert saved.read_bytes() == exported.read_bytes()


def test_the_page_applies_the_repeat_rule_as_the_service_does(page, api):
    raw = ("Council votes to extend the bus lanes\n\nBy Jane Roe\n\nThe council voted on "
           "Tuesday to extend the bus lanes to the harbour, after a long debate.\n\n"
           "COUNCIL   votes to extend the BUS lanes\n\nby jane roe\n\nStraße sperren\n\n"
           "Umleitung folgen\n\nSTRASSE SPERREN\n\numleitung  folgen\n\nThe end.")
    items = score_in_page(page, raw)
    for keep, min_confidence in [(["body"], 0.5), (["body"], 1.0), (["promo"], 1.0)]:
        set_policy(page, keep, min_confidence)
        expected = service_says(api, raw, keep=keep, min_confidence=min_confidence)
        assert shown(items, "label") == [p["label"] for p in expected["paragraphs"]]
        assert shown(items, "kept") == [str(p["kept"]).lower() for p in expected["paragraphs"]]
    # Under the last policy every paragraph is kept, so both stretches' second copies are
    # the rule's (ß folds to ss as in Python).
    labels = shown(items, "label")
    assert [labels[k] for k in (3, 4, 7, 8)] == ["boilerplate"] * 4
    assert shown(items, "kept")[3:5] == ["false", "false"]


def test_page_folds_text_exactly_as_python_does(page):
    """fold() (the policy's repeat key) against Python's, for every code point."""
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(chars), 100_000):
        chunk = chars[start:start + 100_000]
        folded = page.evaluate("chars => chars.map(fold)", chunk)
        wrong = [(f"U+{ord(c):04X}", f, " ".join(c.split()).casefold())
                 for c, f in zip(chunk, folded, strict=True)
                 if f != " ".join(c.split()).casefold()]
        assert wrong == [], wrong[:10]
    text = " Hello\u00a0\u2028WORLD\t Straße \u3000ǅ\x1c"
    assert page.evaluate("t => fold(t)", text) == " ".join(text.split()).casefold()


def test_every_control_is_reachable_and_operable_by_keyboard(page, seed_003):
    items = score_in_page(page, seed_003.raw)
    page.focus(".skip")  # the first thing on the page: "Skip to the paragraphs"
    reached: list[str] = []
    for _ in range(40):
        reached.append(page.evaluate("""() => {
            const e = document.activeElement;
            if (e.classList.contains('para')) return 'paragraph ' + e.dataset.index;
            if (e.closest('.para')) return e.dataset.role + ' ' + e.closest('.para').dataset.index;
            return e.id || (e.name ? e.name + ':' + e.value : e.tagName.toLowerCase());
        }"""))
        if reached[-1] == "save":
            break
        page.keyboard.press("Tab")
    assert reached == ["a", "raw", "file", "format", "score",
                       *(f"keep:{label}" for label in LABELS), "min-confidence-range",
                       "min-confidence", "summary", "paragraph 0", "label 0", "why 0",
                       "clean-text", "name",
                       "export", "save"], reached
    # Every focused control shows where the focus is.
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")

    # In the list: arrows move, a letter relabels, Enter opens the reasons, Esc closes them.
    items.nth(0).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    second = items.nth(2)
    expect(second).to_be_focused()
    page.keyboard.press("o")
    expect(second).to_have_attribute("data-label", "boilerplate")
    page.keyboard.press("u")
    expect(second).not_to_have_class(_has("corrected"))
    expect(second).to_have_attribute("data-label", "body")
    page.keyboard.press("Enter")
    expect(second.locator(".why")).to_have_attribute("aria-expanded", "true")
    expect(second.locator(".reasons")).to_be_visible()
    page.keyboard.press("Escape")
    expect(second.locator(".reasons")).to_be_hidden()
    page.keyboard.press("End")
    expect(items.last).to_be_focused()
    # Tab from the paragraph reaches its own label menu, which the keyboard operates too.
    page.keyboard.press("Tab")
    expect(items.last.locator("select")).to_be_focused()
    items.last.locator("select").select_option("transcript")
    expect(items.last).to_have_attribute("data-label", "transcript")


def test_readable_at_400_percent_zoom_without_horizontal_scrolling(page, seed_003):
    score_in_page(page, seed_003.raw)
    # 400% of a 1280 px wide window is 320 CSS pixels (WCAG 1.4.10, reflow).
    page.set_viewport_size({"width": 320, "height": 640})
    widths = page.evaluate("() => [document.documentElement.scrollWidth, "
                           "document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths


def test_the_page_works_with_a_service_that_gives_no_reasons(page, seed_003):
    """A service whose /v1/score refuses "explain" (422): labels and probabilities only."""
    asked: list[dict[str, Any]] = []

    def without_explain(route) -> None:
        body = route.request.post_data_json
        asked.append(body)
        if "explain" in body:
            route.fulfill(status=422, content_type="application/json",
                          body='{"error": "explain: Extra inputs are not permitted"}')
        else:
            route.continue_()

    page.route("**/v1/score", without_explain)
    items = score_in_page(page, seed_003.raw)
    expect(items).to_have_count(len(seed_003.labels))
    assert [("explain" in body) for body in asked] == [True, False]
    expect(page.locator("#explain-note")).to_be_visible()
    expect(page.locator("#message")).to_be_empty()
    items.last.focus()
    expect(items.last.locator(".reasons")).to_contain_text("no reasons from this service")
    expect(items.last).to_have_attribute("data-label", "promo")


def test_reasons_show_on_hover_focus_and_click(page, api, seed_003):
    """Needs /v1/score's "explain": every paragraph's reasons, in words, on the page."""
    items = score_in_page(page, seed_003.raw)
    explained = api.post("/v1/score", json={"text": seed_003.raw, "keep": list(LABELS),
                                            "min_confidence": 0, "explain": True})
    assert explained.status_code == 200, explained.text
    paragraphs = explained.json()["paragraphs"]
    expect(page.locator("#explain-note")).to_be_hidden()
    last = len(paragraphs) - 1  # a teaser ending with '...'
    reasons = items.nth(last).locator(".reasons")
    expect(reasons).to_be_hidden()
    items.nth(last).hover()
    expect(reasons).to_be_visible()
    expect(reasons).to_contain_text("Why the model says promo")
    for reason in paragraphs[last]["reasons"]:
        expect(reasons).to_contain_text(reason["text"])
    page.mouse.move(0, 0)
    items.nth(0).focus()
    expect(items.nth(0).locator(".reasons")).to_be_visible()
    expect(items.nth(0).locator(".reasons li")).to_have_count(len(paragraphs[0]["reasons"]))
    items.nth(1).locator(".why").click()
    expect(items.nth(1).locator(".why")).to_have_attribute("aria-expanded", "true")
    items.nth(0).focus()  # still open after the focus left it
    expect(items.nth(1).locator(".reasons")).to_be_visible()


def _has(name: str) -> re.Pattern[str]:
    """A class attribute holding ``name``."""
    return re.compile(rf"(^|\s){name}(\s|$)")


def test_page_decides_kept_exactly_as_the_library_does_on_thin_documents(page):
    """decide() against Policy.decide on documents the threshold empties or leaves thin,
    where the never-empty rule tops up from a best stretch by words (and leaves repeats
    and chrome out)."""
    rng = np.random.default_rng(7)
    # The last text alone holds policy.THIN_WORDS words: kept, it leaves nothing to top up.
    words = ["Home", "Story line one here", "story line ONE here", "A much longer "
             "paragraph that the model doubted, with many words in it.", "Menu", "Share",
             " ".join(["word"] * THIN_WORDS)]
    cases = []
    for _ in range(300):
        n = int(rng.integers(1, 12))
        # Mostly dropped paragraphs (emptied documents), or a mix (thin ones).
        alpha = [0.3, 3.0, 0.3, 0.3] if rng.random() < 0.6 else [1.5, 1.5, 0.3, 0.3]
        proba = rng.dirichlet(alpha, size=n).round(6)
        keep = [label for label in LABELS if rng.random() < 0.3] or ["body"]
        cases.append(([str(rng.choice(words)) for _ in range(n)], proba, keep,
                      float(rng.choice([0.5, 0.9]))))
    fell_back = topped_up = 0
    for texts, proba, keep, min_confidence in cases:
        policy = Policy.build(keep=keep, min_confidence=min_confidence)
        _, kept = policy.decide(texts, proba)
        _, plain = Policy(policy.keep, min_confidence, never_empty=False).decide(texts, proba)
        fell_back += kept != plain
        topped_up += kept != plain and any(plain)
        scores = [dict(zip(LABELS, row, strict=True)) for row in proba.tolist()]
        shown_kept = page.evaluate(
            "([t, s, k, m]) => decide(t, s, new Set(k), m).map(d => d.kept)",
            [texts, scores, keep, min_confidence])
        assert shown_kept == kept, (texts, proba.tolist(), keep, min_confidence)
    # The rule was exercised, not only the plain threshold, on thin documents too.
    assert fell_back >= 40 and topped_up >= 5, (fell_back, topped_up)


@pytest.mark.parametrize("max_work", [None, 800])
def test_page_drops_merged_copies_exactly_as_the_library_does(page, monkeypatch, max_work):
    """decide() against Policy.decide on documents holding a block that merges a copy of
    some of their paragraphs (policy.merged_copies), in any order, case and spacing; and
    with a work bound low enough to skip some of them."""
    if max_work is not None:
        from filter import policy as policy_module
        monkeypatch.setattr(policy_module, "COPY_MAX_WORK", max_work)
        rule = json.loads(page.evaluate("() => document.body.dataset.copyRule"))
        page.evaluate("(r) => { document.body.dataset.copyRule = r; }",
                      json.dumps({**rule, "max_work": max_work}))
    rng = np.random.default_rng(11)
    story = [f"Paragraph {k} of the story tells what the council decided on day {k}."
             for k in range(12)]
    others = ["Week 1", "Share this", " ".join(["filler"] * 120), "Ends here."]
    merged = 0
    for _ in range(200):
        chosen = [str(p) for p in rng.choice(story, size=int(rng.integers(2, 10)),
                                             replace=False)]
        block = ("  ".join(p.upper() if rng.random() < 0.5 else p for p in chosen)
                 + " tags:council " * int(rng.integers(0, 60)))
        texts = [*chosen, *rng.choice(others, size=int(rng.integers(0, 3))), block]
        texts = [texts[k] for k in rng.permutation(len(texts))]
        proba = rng.dirichlet([3.0, 0.5, 0.3, 0.3], size=len(texts)).round(6)
        keep = ["body"] if rng.random() < 0.8 else ["body", "boilerplate"]
        policy = Policy.build(keep=keep)
        labels, kept = policy.decide(texts, proba)
        merged += bool(merged_copies([repeat_key(t) for t in texts],
                                     [bool(p[0] >= 0.5) for p in proba]))
        scores = [dict(zip(LABELS, row, strict=True)) for row in proba.tolist()]
        shown = page.evaluate(
            "([t, s, k, m]) => decide(t, s, new Set(k), m).map(d => [d.label, d.kept])",
            [texts, scores, keep, 0.5])
        assert shown == [[str(label), k] for label, k in zip(labels, kept, strict=True)], (
            texts, proba.tolist(), keep)
    # The rule was exercised, not only the plain threshold; the bound skipped some.
    assert (merged >= 40) if max_work is None else (10 <= merged <= 40), merged
