"""Where a paragraph lies against a page's comment thread.

A reader's comment is prose on the article's topic, one paragraph at a time as good as
the story's; what gives it away is its frame: a heading such as "34 responses to ..."
or "Top Rated Comments" before the thread, and a commenter's line ("joetoronto says:
November 19, 2019 at 6:44 am", "Alex on September 17, 2018 at 6:34 am said:", "2 days
ago", "Reply") before or after each comment. The gate's first pass calls those lines
furniture, but so it calls "Share this:", so its neighbours' scores cannot tell a
comment from the story beside a share bar. These columns name the frame itself.

The patterns cover the languages of the corpora (English, German, Portuguese, Spanish,
French, Italian); a page in another language gets zeros, as text without the frame does.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

from .document import Row
from .features import Runs, document_runs

NAMES = (
    "commenter line", "commenter lines within three", "commenter line just before",
    "log commenter lines before", "after a comment-section heading",
)

# The frame is short, or opens its block: past this, text is prose that may merely
# mention a reply.
_MAX_CHARS = 160
_UNITS = (r"(?:sec(?:ond)?s?|min(?:ute)?s?|hours?|hrs?|days?|weeks?|months?|years?"
          r"|sekunden?|minuten?|stunden?|tagen?|wochen?|monaten?|jahren?"
          r"|segundos?|minutos?|horas?|dias?|días?|semanas?|mes(?:es)?|anos?|años?"
          r"|secondes?|heures?|jours?|semaines?|mois|ans|ore|giorni|settimane|mesi|anni)")
# A page's texts are first searched for literal cues, words that every match of the
# patterns holds (lower-cased, joined: str.find walks a page in microseconds), and the
# patterns run only on the texts that hold one. Run on every text, the patterns cost a
# twentieth of a page's scoring time; in one regex pass over the joined page, more.
_SAYS = re.compile(
    r"\b(?:says|said|wrote|writes|replied|schreibt|schrieb|sagt|meint|antwortete"
    r"|disse|diz|escreveu|respondeu|dice|dijo|escribió|respondió|écrit|scrive)"
    r"[ \t]*:[ \t]*$", re.IGNORECASE | re.MULTILINE)
_AGO = re.compile(
    rf"\d\s+{_UNITS}\s+ago\b|\b(?:vor|há|hace|il y a)\s+\d+\s+{_UNITS}\b",
    re.IGNORECASE)
_RATING = re.compile(r"\brating:\s*-?\d+\s+votes?\b", re.IGNORECASE)
_COLON_AT_END = re.compile(r":[ \t]*$", re.MULTILINE)
_CLOCK = re.compile(r"\d:\d\d")
_ON_AT = re.compile(r"\b(?:on|am|em|el|le|il)\s+\S.{0,40}\b(?:at|um|às|a las|à)\s+"
                    r"\d{1,2}:\d\d", re.IGNORECASE)
_REPLY_LINES = frozenset((
    "reply", "antworten", "responder", "responda", "répondre", "rispondi", "log in to reply",
    "report", "report comment", "melden", "denunciar", "signaler"))
_HEADING = re.compile(  # matched at the start of a paragraph
    r"\W*(?:\d+\s+)?(?:(?:top|most|best|recent|latest|reader|user|newest|oldest)\s+)?"
    r"(?:(?:rated|liked|voted)\s+)?(?:comments?|responses?|replies|reactions|discussion"
    r"|kommentare?|leserkommentare|diskussion|comentários?|comentarios?|commentaires?"
    r"|commenti|réponses)\b"
    r"|\W*(?:leave|post|add|write|submit)\s+(?:a|your|new)\s+(?:reply|comment|response)\b"
    r"|\W*join the (?:discussion|conversation)\b"
    r"|\W*(?:schreibe|hinterlasse)\s+einen\s+kommentar\b"
    r"|\W*(?:deixe|deixa)\s+(?:um|seu|o seu)\s+comentário\b"
    r"|\W*(?:deja|dejar|escribe)\s+(?:un|tu)\s+comentario\b"
    r"|\W*(?:laisser|laissez)\s+un\s+commentaire\b"
    r"|\W*\d+\s+(?:responses?|comments?|replies|thoughts)\s+(?:to|on)\b",
    re.IGNORECASE)
_HEADING_CUES = ("comment", "repl", "respons", "discuss", "kommentar", "coment",
                 "diskussion", "reaction", "thoughts", "réponse")


def _colon_line(text: str) -> bool:
    """ "... says:", "Dana on May 2 at 7:02 am", "Rating: 12 Votes" (a text with a colon)."""
    return ((_COLON_AT_END.search(text) is not None and _SAYS.search(text) is not None)
            or (_CLOCK.search(text) is not None and _ON_AT.search(text) is not None)
            or _RATING.search(text) is not None)


def _ago_line(text: str) -> bool:
    return _AGO.search(text) is not None


def _reply_line(text: str) -> bool:
    return any(line.strip().lower() in _REPLY_LINES for line in text.split("\n"))


# (cues, test): a text is a commenter's line when it holds a cue and passes its test;
# every text a test accepts holds one of its cues (lower-cased).
_COMMENTER_TESTS = (
    ((":",), _colon_line),
    (("ago", "vor", "há", "hace", "il y a"), _ago_line),
    (("repl", "antwort", "respond", "répond", "rispond", "report", "melden", "denunciar",
      "signaler"), _reply_line),
)


def is_section_heading(text: str) -> bool:
    """A comment section's heading: "34 responses to ...", "Leave a Reply", "Comments"."""
    return _HEADING.match(text) is not None


def _holding(low: str, starts: list[int], cues: Sequence[str]) -> set[int]:
    """Which texts of ``low`` (texts joined by NUL, each starting at ``starts``) hold one
    of ``cues``."""
    out: set[int] = set()
    last = len(starts) - 1
    for cue in cues:
        at = low.find(cue)
        while at != -1:
            k = bisect_right(starts, at) - 1
            out.add(k)
            at = low.find(cue, starts[k + 1]) if k < last else -1
    return out


def _frame_part(text: str) -> str:
    """The part of a text that may be a frame line: all of a short one; of a long block
    of lines, its first two lines; of long one-line prose, nothing (whatever "ten years
    ago" it mentions). Text dumps join a commenter's lines with the comment."""
    if len(text) <= _MAX_CHARS:
        return text
    if "\n" not in text[:_MAX_CHARS]:
        return ""
    opening = "\n".join(text.split("\n", 2)[:2])
    return opening if len(opening) <= _MAX_CHARS else ""


def frame_flags(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(commenter line, comment-section heading) flags of each text."""
    n = len(texts)
    commenter = np.zeros(n)
    heading = np.zeros(n)
    if not n:
        return commenter, heading
    parts = [t if len(t) <= _MAX_CHARS else _frame_part(t) for t in texts]
    lengths = list(map(len, parts))
    low = "\x00".join(parts).lower()
    if len(low) != sum(lengths) + n - 1:  # lower() lengthened some text: lower each alone
        lowered = [p.lower() for p in parts]
        low, lengths = "\x00".join(lowered), list(map(len, lowered))
    starts = np.cumsum([0] + [k + 1 for k in lengths[:-1]]).tolist()
    for i in _holding(low, starts, _HEADING_CUES):
        # A heading is a whole paragraph, never the opening of a long one.
        if len(texts[i]) <= _MAX_CHARS and is_section_heading(texts[i]):
            heading[i] = 1.0
    for cues, test in _COMMENTER_TESTS:
        for i in _holding(low, starts, cues):
            if not heading[i] and not commenter[i] and test(parts[i]):
                commenter[i] = 1.0
    return commenter, heading


def comment_matrix(rows: Sequence[Row], runs: Runs | None = None) -> np.ndarray:
    """One row of ``NAMES`` per row (``runs``: ``document_runs(rows)``, when known)."""
    out = np.zeros((len(rows), len(NAMES)))
    runs = document_runs(rows) if runs is None else runs
    # Flags are each text's own (its cues are looked for within it): one call for all.
    commenter, heading = frame_flags([rows[o].paragraph.text for o in runs.order.tolist()])
    if not commenter.any() and not heading.any():
        return out
    j, at = runs.rank, runs.sums_at
    total = runs.cumsum(commenter)
    near, count = runs.nearby(commenter, total)
    earlier = total[at + j]
    after_heading = (runs.cumsum(heading)[at + j] > 0).astype(float)
    out[runs.order] = np.column_stack([
        commenter, near / np.maximum(1, count), runs.neighbour(commenter, -1),
        np.log1p(earlier) / math.log(64), after_heading,
    ])
    return out


def near_commenters(matrix: np.ndarray) -> np.ndarray:
    """Rows of a ``comment_matrix`` with a commenter's line within three paragraphs."""
    return matrix[:, NAMES.index("commenter lines within three")] > 0
