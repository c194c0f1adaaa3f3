"""The review page (``GET /``) and the routes that turn its corrections into seed files.

The page (``service/static/``: plain HTML, CSS and JavaScript, nothing fetched from
elsewhere) scores a document with ``POST /v1/score``, applies the policy itself, lets a
person relabel paragraphs, and sends the labels back here:

- ``POST /v1/seeds/format``: the seed text file (seeds/README.md) for the paragraphs,
  written by ``filter.seedfile.format_text`` and refused unless ``parse_text`` reads it
  back to exactly the same paragraphs and labels;
- ``POST /v1/seeds``: the same file saved into the ``--allow-save`` folder (403 when
  saving is off), under a sanitised name, never over an existing file (409).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import sys
import unicodedata
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from filter.document import Separator
from filter.errors import AnnotationError
from filter.labels import LABELS, Label
from filter.policy import (
    COPY_CANDIDATES,
    COPY_MAX_WORK,
    COPY_SHARE,
    COPY_SOURCE_WORDS,
    COPY_SOURCES,
    COPY_WORDS,
    DEFAULT_KEEP,
    DEFAULT_MIN_CONFIDENCE,
    FALLBACK_FLOOR,
    THIN_WORDS,
)
from filter.seedfile import format_text, parse_text

from .settings import Settings

STATIC = ("review.js", "review.css")
FOLD_SCRIPT = "fold.js"
NAME_MAX = 64  # characters of a saved file's name, without ".txt"
SEED_SUFFIX = ".txt"
DOCUMENT = "document.txt"  # the name AnnotationError messages would carry; never shown

SAVE_OFF = "saving is off: start the service with --allow-save DIR to save into DIR"
NAME_EMPTY = "the name is empty"
NAME_NUL = "the name contains a NUL character"
NAME_ABSOLUTE = "the name is an absolute path: give a file name only"
NAME_SEPARATOR = "the name contains a path separator ('/' or '\\'): give a file name only"
NAME_DOTDOT = "the name contains '..': give a file name only"
NAME_NOTHING = "the name has no letter or digit (only a-z, 0-9, '_' and '-' are kept)"
NAME_TOO_LONG = f"the name is longer than {NAME_MAX} characters"
EXISTS = "{file} exists already in the save folder: choose another name (files are never " \
    "overwritten)"

# The page may only talk to this server: nothing external can load even by mistake.
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_HEADERS = {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}
_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_UNSAFE = re.compile(r"[^a-z0-9_-]+")
_DRIVE = re.compile(r"^[A-Za-z]:")


# --- bodies ----------------------------------------------------------------------------


class SeedParagraph(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., min_length=1, description="the paragraph's text, as scored")
    label: Label = Field(..., description=f"one of {', '.join(LABELS)}")


class SeedDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "paragraphs": [{"text": "Share post:", "label": "boilerplate"},
                       {"text": "The council voted on Tuesday.", "label": "body"}]}]})
    paragraphs: list[SeedParagraph] = Field(..., min_length=1,
                                            description="the document's paragraphs, in order")
    separator: Separator = Field(
        Separator.BLANK, description="how the rebuilt document separates paragraphs: "
        "'blank' (a blank line; a paragraph may hold line breaks) or 'line'")
    comment: str | None = Field(None, max_length=2000,
                                description="written at the top as '#' comment lines")


class SeedSave(SeedDocument):
    name: str = Field(..., max_length=256, description=f"file name: only a-z, 0-9, '_' and "
                      f"'-' are kept (lower-cased), at most {NAME_MAX}; '.txt' is added")


class SeedFile(BaseModel):
    content: str = Field(..., description="the seed file (seeds/README.md text format)")
    paragraphs: int


class SavedSeed(SeedFile):
    file: str = Field(..., description="the file's name in the save folder")
    path: str = Field(..., description="where it was written")


# --- the seed file ---------------------------------------------------------------------


def seed_file(doc: SeedDocument) -> str:
    """The file for ``doc``; 422 naming the paragraph when it would not read back as given."""
    texts = [p.text for p in doc.paragraphs]
    labels = [p.label for p in doc.paragraphs]
    content = format_text(texts, labels, doc.separator, doc.comment)
    try:
        parsed = parse_text(content, DOCUMENT)
    except AnnotationError as exc:
        message = str(exc).removeprefix(f"{exc.path}:{exc.line}: " if exc.line is not None
                                        else f"{exc.path}: ")
        where = _paragraph_at(doc, exc.line)
        raise HTTPException(422, f"not a valid seed file: {where}{message}") from None
    for k, (text, label) in enumerate(zip(texts, labels, strict=True)):
        if k >= len(parsed.labels) or parsed.document.paragraphs[k].text != text \
                or parsed.labels[k] is not label:
            raise HTTPException(422, f"not a valid seed file: paragraph {k + 1} "
                                f"({_excerpt(text)}) would not read back as it is given")
    return content


def _paragraph_at(doc: SeedDocument, line: int | None) -> str:
    """'paragraph N (excerpt): ' for a line of the file ``seed_file`` writes, else ''."""
    if line is None:
        return ""
    header = format_text(["x"], [Label.BODY], doc.separator, doc.comment).splitlines()
    at = len(header) - 1  # the lines before the first paragraph's
    for k, p in enumerate(doc.paragraphs):
        at += len(format_text([p.text], [p.label]).splitlines()) - 1
        if line <= at:
            return f"paragraph {k + 1} ({_excerpt(p.text)}): "
    return ""


def _excerpt(text: str, width: int = 40) -> str:
    one = " ".join(text.split())
    return repr(one if len(one) <= width else one[:width - 1] + "…")


def seed_file_name(name: str) -> str:
    """``name`` made safe for the save folder, or ValueError saying what is wrong with it.

    What could reach outside the folder is refused, not repaired: a NUL, an absolute
    path, a path separator, '..'. The rest is lower-cased and reduced to a-z, 0-9, '_'
    and '-' (accents dropped, other runs become '-'); '.txt' is added.
    """
    if "\0" in name:
        raise ValueError(NAME_NUL)
    name = name.strip()
    if not name:
        raise ValueError(NAME_EMPTY)
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise ValueError(NAME_ABSOLUTE)
    if ".." in name:
        raise ValueError(NAME_DOTDOT)
    if "/" in name or "\\" in name:
        raise ValueError(NAME_SEPARATOR)
    if name.lower().endswith(SEED_SUFFIX):
        name = name[:-len(SEED_SUFFIX)]
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = _UNSAFE.sub("-", ascii_name.lower()).strip("-_")
    if not stem:
        raise ValueError(NAME_NOTHING)
    if len(stem) > NAME_MAX:
        raise ValueError(NAME_TOO_LONG)
    return stem + SEED_SUFFIX


def save_seed(folder: Path, file: str, content: str) -> Path:
    """Write a new file; FileExistsError when one is there (O_EXCL: never overwritten)."""
    path = folder / file
    if path.parent != folder or path.name != file:  # seed_file_name makes this impossible
        raise ValueError(f"{file!r} is not a plain file name")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(content)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


# --- the page's text folding -----------------------------------------------------------


@functools.cache
def fold_script() -> str:
    """JavaScript data for the page's copy of ``filter.document.repeat_key``.

    The policy folds a paragraph with Python's ``str.split()`` and ``str.casefold()``; the
    page gets the whitespace and the case folding of this very Python (its Unicode
    version), so that it finds exactly the repeats the service finds.
    """
    space: list[str] = []
    fold: dict[str, str] = {}
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        if char.isspace():
            space.append(f"\\u{{{code:x}}}")
        folded = char.casefold()
        if folded != char:
            fold[char] = folded
    table = json.dumps(fold, separators=(",", ":"))
    return (
        "// Generated by service/review.py from the server's Python "
        f"(Unicode {unicodedata.unidata_version}):\n"
        "// the whitespace of str.split() and the mapping of str.casefold().\n"
        f"const PY_SPACE = /[{''.join(space)}]+/u;\n"
        f"const PY_CASEFOLD = new Map(Object.entries({table}));\n")


# --- the routes ------------------------------------------------------------------------


def _static(name: str) -> str:
    return resources.files("service").joinpath("static", name).read_text(encoding="utf-8")


def _page(settings: Settings) -> str:
    folder = settings.allow_save
    values = {
        "allow_save": "true" if folder else "false",
        "save_folder": str(folder) if folder else "",
        "default_keep": ",".join(sorted(k.value for k in DEFAULT_KEEP)),
        "default_min_confidence": str(DEFAULT_MIN_CONFIDENCE),
        "fallback_floor": repr(FALLBACK_FLOOR),
        "thin_words": str(THIN_WORDS),
        "copy_rule": json.dumps({"words": COPY_WORDS, "share": COPY_SHARE,
                                 "sources": COPY_SOURCES, "source_words": COPY_SOURCE_WORDS,
                                 "candidates": COPY_CANDIDATES, "max_work": COPY_MAX_WORK}),
    }
    page = _static("index.html")
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    return page


def review_router(settings: Settings, json_only: Sequence[Any] = ()) -> APIRouter:
    """The page and its routes; ``json_only``: the app's dependencies for a JSON body."""
    router = APIRouter()
    page = _page(settings)
    assets = {name: _static(name) for name in STATIC}

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def review_page() -> HTMLResponse:
        return HTMLResponse(page, headers=_HEADERS)

    @router.get("/static/{name}", include_in_schema=False)
    async def review_asset(name: str) -> Response:
        if name == FOLD_SCRIPT:
            body = fold_script()
        elif name in assets:
            body = assets[name]
        else:
            raise HTTPException(404, f"no such file: {name}")
        return Response(body, media_type=_MEDIA[Path(name).suffix], headers=_HEADERS)

    @router.post("/v1/seeds/format", response_model=SeedFile, dependencies=list(json_only),
                 tags=["seeds"], responses={422: {"description": "not a valid seed file"}})
    def format_seed(body: SeedDocument) -> SeedFile:
        """The seed file (seeds/README.md text format) for these paragraphs and labels."""
        return SeedFile(content=seed_file(body), paragraphs=len(body.paragraphs))

    @router.post("/v1/seeds", response_model=SavedSeed, status_code=201,
                 dependencies=list(json_only), tags=["seeds"],
                 responses={403: {"description": "saving is off"},
                            409: {"description": "a file of that name exists"},
                            422: {"description": "a bad name, or not a valid seed file"}})
    def save_seed_file(body: SeedSave) -> SavedSeed:
        """Save the seed file into the --allow-save folder under a new name."""
        folder = settings.allow_save
        if folder is None:
            raise HTTPException(403, SAVE_OFF)
        try:
            file = seed_file_name(body.name)
        except ValueError as exc:
            raise HTTPException(422, f"name: {exc}") from None
        content = seed_file(body)
        try:
            path = save_seed(folder, file, content)
        except FileExistsError:
            raise HTTPException(409, EXISTS.format(file=file)) from None
        except OSError as exc:
            raise HTTPException(500, f"cannot write {file}: {exc.strerror or exc}") from None
        return SavedSeed(content=content, paragraphs=len(body.paragraphs), file=file,
                         path=str(path))

    return router
