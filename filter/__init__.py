"""contamfilter: keep the article, drop the page furniture, teasers and transcripts."""

from .core import DEFAULT_MAX_BYTES, Filter
from .document import Document, Format, Paragraph, Separator
from .errors import AnnotationError, ContamFilterError, InputError, ModelError
from .labels import LABELS, Label
from .policy import Policy
from .result import Result, ScoredParagraph
from .segment import detect_format, segment, segment_html, segment_text

__all__ = [
    "DEFAULT_MAX_BYTES", "LABELS", "AnnotationError", "ContamFilterError", "Document",
    "Filter", "Format", "InputError", "Label", "ModelError", "Paragraph", "Policy",
    "Result", "ScoredParagraph", "Separator", "detect_format", "segment", "segment_html",
    "segment_text",
]
