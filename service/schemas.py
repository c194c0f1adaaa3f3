"""Request and response bodies: the CLI's `score` contract, as pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from filter.labels import LABELS

# Messages that tests reuse.
NEED_CONTENT = "give exactly one of 'text' or 'html'"
EMPTY_CONTENT = "the document is empty"


class Options(BaseModel):
    keep: list[str] | str | None = Field(
        None, description="labels to keep, as a list or comma-separated (default: body)",
        examples=[["body", "transcript"]])
    min_confidence: float | None = Field(
        None, ge=0.0, le=1.0,
        description="drop a paragraph only when the labels not kept reach this probability")


class Content(BaseModel):
    text: str | None = Field(None, description="plain text (format auto-detected)")
    html: str | None = Field(None, description="an HTML page or fragment")

    @model_validator(mode="after")
    def one_of(self) -> Content:
        if (self.text is None) == (self.html is None):
            raise ValueError(NEED_CONTENT)
        if not (self.text if self.text is not None else self.html or "").strip():
            raise ValueError(EMPTY_CONTENT)
        return self


class ScoreRequest(Content, Options):
    explain: bool = Field(False, description="add each paragraph's reasons (top 3)")
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "Share post:\n\nThe council voted on Tuesday.", "keep": ["body"]}]})


class BatchDocument(BaseModel):
    """One slot of a batch; checked per slot so that one bad document fails alone."""

    model_config = ConfigDict(extra="allow")
    id: Any = None
    text: Any = None
    html: Any = None


class BatchRequest(Options):
    model_config = ConfigDict(extra="forbid")
    # Any, not BatchDocument: a slot that is not even an object must fail in its own slot.
    documents: list[BatchDocument | Any] = Field(
        ..., description="documents, scored in order; each {\"id\", \"text\"|\"html\"}")


class Reason(BaseModel):
    feature: str = Field(..., description="the model's name for the feature")
    text: str = Field(..., description="the feature in words, and which way this paragraph "
                      "differs from its page's average")
    weight: float = Field(..., description="log-odds towards the paragraph's label")


class Paragraph(BaseModel):
    text: str
    label: str = Field(..., description=f"one of {', '.join(LABELS)}")
    scores: dict[str, float]
    kept: bool
    reasons: list[Reason] | None = Field(
        None, description="with explain: the features that pushed it most towards its label")


class CleanResponse(BaseModel):
    clean_text: str
    counts: dict[str, int]
    contamination: float = Field(..., description="share of characters removed")
    model: str


class ScoreResponse(CleanResponse):
    paragraphs: list[Paragraph]


class BatchSlot(BaseModel):
    id: Any = None
    error: str | None = None
    paragraphs: list[Paragraph] | None = None
    clean_text: str | None = None
    counts: dict[str, int] | None = None
    contamination: float | None = None
    model: str | None = None


class BatchResponse(BaseModel):
    results: list[BatchSlot]


class ModelInfo(BaseModel):
    version: str
    labels: list[str]
    thresholds: dict[str, Any]
    training_data_sha256: str
    training_data: dict[str, Any]
    metrics: dict[str, Any]
    sha256: str
    libraries: dict[str, str]


class Problem(BaseModel):
    error: str
    request_id: str | None = None
