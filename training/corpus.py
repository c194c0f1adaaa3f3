"""Real pages with reference main content (../shared/corpora): read, segment, align.

A page says which text is the article (``gold``) but not what kind of furniture the rest
is. So every paragraph gets a binary label, body or not, by aligning it with the
reference: the share of its word trigrams (words, for short paragraphs) that the
reference contains. Pages are segmented exactly as at inference time, in HTML mode from
the page, in text mode from the html-text dump a careless scraper would make.

Nothing read here is ever written into the repository.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from filter.artifact import sha256_file
from filter.document import Document, Format
from filter.segment import segment

BODY, OTHER = "body", "other"
# A paragraph is body when at least this share of its n-grams occur in the reference,
# not body when at most NOT_BODY do; in between it is left out of training.
IS_BODY = 0.6
NOT_BODY = 0.2
_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Page:
    corpus: str
    id: str
    site: str
    html: str
    gold: str
    gold_type: str
    meta: dict


def _site(record: dict) -> str:
    meta = record.get("meta") or {}
    if meta.get("domain"):
        return str(meta["domain"])
    if record.get("url"):
        host = urlparse(record["url"]).netloc.lower()
        return host.removeprefix("www.") or str(record["id"])
    return str(record["id"])


def read_pages(path: Path) -> Iterator[Page]:
    name = path.name.split(".")[0]
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            yield Page(name, str(r["id"]), _site(r), r["html"], r.get("gold") or "",
                       r.get("gold_type", "full_text"), r.get("meta") or {})


def corpus_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl.gz"))


def dump_text(html: str) -> str:
    """The page as a careless scraper dumps it (text mode's input)."""
    import html_text

    return html_text.extract_text(html, guess_layout=True)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class Reference:
    """The gold text's words and trigrams, for aligning paragraphs against it."""

    def __init__(self, gold: str) -> None:
        toks = tokens(gold)
        self.words = Counter(toks)
        self.trigrams = set(zip(toks, toks[1:], toks[2:], strict=False))

    def share(self, text: str) -> float | None:
        """Share of the paragraph found in the reference; None when it has no words."""
        toks = tokens(text)
        if not toks:
            return None
        if len(toks) < 5:
            return sum(1 for t in toks if self.words[t]) / len(toks)
        grams = list(zip(toks, toks[1:], toks[2:], strict=False))
        return sum(g in self.trigrams for g in grams) / len(grams)


def snippet_labels(document: Document, meta: dict) -> list[str | None]:
    """For snippet pages: body where a must-keep snippet sits, other where a must-drop one."""
    keep = [" ".join(s.lower().split()) for s in meta.get("with") or []]
    drop = [" ".join(s.lower().split()) for s in meta.get("without") or []]
    out: list[str | None] = []
    for p in document.paragraphs:
        text = " ".join(p.text.lower().split())
        if any(s and s in text for s in keep):
            out.append(BODY)
        elif any(s and (s == text or (len(s) > 20 and s in text)) for s in drop):
            out.append(OTHER)
        else:
            out.append(None)
    return out


def label_page(page: Page, fmt: Format) -> tuple[Document, list[str | None]]:
    """The page segmented as at run time, with body / other / None (unsure) per paragraph."""
    raw = page.html if fmt is Format.HTML else dump_text(page.html)
    document = segment(raw, fmt)
    if page.gold_type == "snippets":
        return document, snippet_labels(document, page.meta)
    ref = Reference(page.gold)
    labels: list[str | None] = []
    for p in document.paragraphs:
        share = ref.share(p.text)
        if share is None:
            labels.append(None)
        elif share >= IS_BODY:
            labels.append(BODY)
        elif share <= NOT_BODY:
            labels.append(OTHER)
        else:
            labels.append(None)
    return document, labels


@dataclass
class RealPages:
    """Real pages ready for training: both modes of every page, labeled body/other/None."""

    documents: list[Document]
    labels: list[list[str | None]]
    sites: list[str]
    corpora: list[dict]


def load_real_pages(directory: Path, limit: int | None = None,
                    exclude: set[tuple[str, str]] | None = None) -> RealPages:
    """Every corpus in ``directory`` (``limit`` pages each), minus (corpus, id) in exclude."""
    files = corpus_files(directory)
    if not files:
        raise FileNotFoundError(f"no *.jsonl.gz corpora in {directory}")
    out = RealPages([], [], [], [])
    for path in files:
        pages = [p for p in read_pages(path) if (p.corpus, p.id) not in (exclude or set())]
        pages = pages[:limit] if limit else pages
        labeled = 0
        for page in pages:
            for fmt in (Format.HTML, Format.TEXT):
                document, labels = label_page(page, fmt)
                out.documents.append(document)
                out.labels.append(labels)
                out.sites.append(f"{page.corpus}:{page.site}")
                labeled += sum(label is not None for label in labels)
        out.corpora.append({"name": path.name.split(".")[0], "pages": len(pages),
                            "sha256": sha256_file(path), "labeled_paragraphs": labeled,
                            "limit": limit})
    return out
