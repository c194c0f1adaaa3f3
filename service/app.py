"""The HTTP service: a thin shell over `filter.Filter`.

    uvicorn service.app:create_app --factory        or        contamfilter serve

The model is loaded once in the lifespan and verified (sha256, scikit-learn version, a
probe document) before /readyz answers 200. Scoring is CPU-bound, so it never runs on
the event loop: in a worker thread with one worker, in scorer processes with more
(``service.scorers``); /livez answers while a large document is scored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from filter import ContamFilterError, Filter, Policy
from filter.records import error_record, job_for

from .batcher import Batcher
from .metrics import Metrics
from .review import review_router
from .schemas import (
    EMPTY_CONTENT,
    BatchDocument,
    BatchRequest,
    BatchResponse,
    CleanResponse,
    ModelInfo,
    Options,
    ScoreRequest,
    ScoreResponse,
)
from .scorers import LocalScorer, ModelFacts, Rendered, Scorer, ScorerDied, start_scorers
from .settings import Settings, get_settings

log = logging.getLogger("contamfilter.service")

REQUEST_ID = "X-Request-ID"
_RID_HEADER = REQUEST_ID.lower().encode("latin-1")  # as ASGI headers spell it
TOO_LARGE = "request body is larger than the limit of {limit} bytes"
NOT_JSON = "expected a JSON body (Content-Type: application/json)"
BAD_JSON = "malformed JSON: {detail}"
TOO_MANY = "batch has {n} documents, more than the limit of {limit}"
NOT_READY = "model is not loaded yet"
TOO_LARGE_KEY = "contamfilter.body_too_large"  # set in the ASGI scope by BodyLimit
NOT_UNICODE = "a string has an unpaired surrogate (\\ud800-\\udfff): not valid Unicode"
NOT_UTF8 = "the body is not valid UTF-8"

_SURROGATE = re.compile("[\ud800-\udfff]")


def _problem(status: int, message: str, request: Request | None = None,
             headers: Mapping[str, str] | None = None, rid: str | None = None) -> JSONResponse:
    """``{"error", "request_id"}``; the id is the request's unless ``rid`` is given."""
    if rid is None and request is not None:
        rid = getattr(request.state, "request_id", None)
    body: dict[str, Any] = {"error": message}
    out = dict(headers or {})
    if rid:
        body["request_id"] = rid
        out[REQUEST_ID] = rid
    return JSONResponse(body, status_code=status, headers=out or None)


def _request_id(scope: Scope) -> str:
    """The id ``Observe`` gave this request, else the client's header, else a new one."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == _RID_HEADER), "")
        state["request_id"] = given or uuid.uuid4().hex
    return state["request_id"]


def _has_surrogate(value: Any) -> bool:
    """True when a string anywhere in parsed JSON holds an unpaired UTF-16 surrogate.

    ``json.loads`` accepts ``"\\ud800"``, but such a string is not Unicode: it cannot be
    encoded as UTF-8, so echoing it back (a paragraph, an id, a field name) would fail.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


async def get_model(request: Request) -> ModelFacts:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a thread
    # hand-off on every request (py-spy: a fifth of the HTTP process's samples).
    loaded = request.app.state.model
    if loaded is None:
        raise StarletteHTTPException(503, NOT_READY)
    return loaded


LoadedModel = Annotated[ModelFacts, Depends(get_model)]


class BodyLimit:
    """413 before the body is parsed: by Content-Length, or while it streams in."""

    def __init__(self, app: ASGIApp, limit: int, metrics: Metrics) -> None:
        self.app, self.limit, self.metrics = app, limit, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    scope[TOO_LARGE_KEY] = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            # The framework answers a body reader's exception itself (FastAPI: 400 "error
            # parsing the body"): once the limit is hit, that answer is replaced by the 413.
            if not scope.get(TOO_LARGE_KEY):
                await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not scope.get(TOO_LARGE_KEY):
                raise
        if scope.get(TOO_LARGE_KEY):
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.metrics.refused.labels("body_too_large").inc()
        response = _problem(413, TOO_LARGE.format(limit=self.limit),
                            headers={"Connection": "close"}, rid=_request_id(scope))
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class Observe:
    """Request id, metrics by route and status, and a logged 500 for a bug.

    Plain ASGI: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``) runs the app in a
    task of its own and streams the answer through a queue, which cost more CPU than the
    rest of the request handling.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        start = time.perf_counter()
        status = 0

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(k.lower() == _RID_HEADER for k, _ in headers):
                    headers.append((_RID_HEADER, rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        except _TooLarge:
            raise  # BodyLimit, outside this middleware, answers 413
        except Exception:  # a bug: log it with the id the client is given
            log.exception("request %s %s failed (request id %s)", scope["method"],
                          scope["path"], rid)
            if status:  # the answer had started: nothing more can be said on this connection
                raise
            await _problem(500, f"internal error (request id {rid})", rid=rid)(
                scope, receive, tagged)
        route = getattr(scope.get("route"), "path", "unmatched")
        # BodyLimit replaces the answer to a body that streamed in over the limit with a 413.
        status = 413 if scope.get(TOO_LARGE_KEY) else status
        self.metrics.requests.labels(route, scope["method"], str(status)).inc()
        self.metrics.latency.labels(route).observe(time.perf_counter() - start)


def create_app(settings: Settings | None = None, filt: Filter | None = None) -> FastAPI:
    """The app; ``filt`` lets a caller share an already loaded Filter."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scorers, facts = await anyio.to_thread.run_sync(_scorers, settings, filt)
        app.state.batcher = Batcher(scorers, settings.micro_batch, metrics,
                                    settings.batch_wait_ms / 1000)
        app.state.batcher.start()
        app.state.model = facts
        log.info("model %s loaded and verified by %d scorer%s", facts.version, len(scorers),
                 "" if len(scorers) == 1 else "s")
        try:
            yield
        finally:
            app.state.model = None
            await app.state.batcher.stop()
            await asyncio.gather(*(s.aclose() for s in scorers))

    app = FastAPI(
        title="contamfilter",
        summary="Label every paragraph of scraped text or HTML as body, boilerplate, "
        "transcript or promo, and keep what you ask for.",
        version=_package_version(),
        lifespan=lifespan,
    )
    app.state.model = None
    app.state.settings = settings
    app.state.metrics = metrics

    def policy_of(options: Options) -> Policy:
        try:
            return Policy.build(options.keep if options.keep else None, options.min_confidence)
        except ValueError as exc:
            raise _BadInput(str(exc)) from None

    def count(counts: Mapping[str, int]) -> None:
        for label, n in counts.items():
            if n:
                metrics.paragraphs.labels(label).inc(n)

    async def score_one(request: Request, body: ScoreRequest, paragraphs: bool) -> Response:
        """The answer as the scorer rendered it (``scorers.Rendered``): FastAPI passes a
        Response through without validating it against the route's response model."""
        raw, fmt = (body.html, "html") if body.html is not None else (body.text, None)
        try:
            rendered = await request.app.state.batcher.score(
                raw, fmt, policy_of(body), body.explain, paragraphs)
        except ContamFilterError as exc:
            raise _BadInput(str(exc)) from None
        count(rendered.counts)
        return Response(rendered.body, media_type="application/json")

    @app.exception_handler(_BadInput)
    async def bad_input(request: Request, exc: _BadInput) -> JSONResponse:
        metrics.refused.labels("bad_input").inc()
        return _problem(422, str(exc), request)

    @app.exception_handler(ScorerDied)
    async def scorer_died(request: Request, exc: ScorerDied) -> JSONResponse:
        # Not the document's fault as far as anyone knows: the client may try again.
        log.error("request %s: %s", getattr(request.state, "request_id", "?"), exc)
        return _problem(503, str(exc), request, {"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            detail = next(e for e in errors if e.get("type") == "json_invalid")
            metrics.refused.labels("malformed_json").inc()
            return _problem(400, BAD_JSON.format(detail=detail.get("ctx", {}).get("error", "")),
                            request)
        metrics.refused.labels("invalid_request").inc()
        return _problem(422, "; ".join(_describe(e) for e in errors), request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI's "There was an error parsing the body": say what is wrong with it.
            metrics.refused.labels("malformed_json").inc()
            return _problem(400, BAD_JSON.format(detail=NOT_UTF8), request)
        return _problem(exc.status_code, str(exc.detail), request, exc.headers)

    async def require_json(request: Request) -> None:
        ctype = request.headers.get("content-type", "")
        if ctype.split(";")[0].strip().lower() != "application/json":
            metrics.refused.labels("wrong_content_type").inc()
            raise StarletteHTTPException(415, NOT_JSON)
        # An unpaired surrogate can only arrive as a \uD800-\uDFFF escape: parse the
        # body again to look only when one of those escapes is there.
        raw = await request.body()
        if (b"\\ud" in raw or b"\\uD" in raw) and _has_surrogate(await request.json()):
            metrics.refused.labels("malformed_json").inc()
            raise StarletteHTTPException(400, BAD_JSON.format(detail=NOT_UNICODE))

    json_only = [Depends(require_json)]

    @app.get("/livez", tags=["health"])
    async def livez() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", tags=["health"], responses={503: {"model": dict}})
    async def readyz(request: Request):
        if request.app.state.model is None:
            return _problem(503, NOT_READY, request)
        return {"status": "ready", "model": request.app.state.model.version}

    @app.get("/v1/model", response_model=ModelInfo, tags=["model"])
    async def model_info(f: LoadedModel) -> ModelInfo:
        card = f.card
        return ModelInfo(
            version=f.version,
            labels=card["labels"],
            # The policy this service applies by default, which the card records as of the
            # model's training: a later change of the default shows here at once.
            thresholds={**Policy().record(), "max_body_bytes": settings.max_body_bytes,
                        "max_batch": settings.max_batch},
            training_data_sha256=card["training_data"]["seeds_sha256"],
            training_data=card["training_data"],
            metrics=card["cross_validation"],
            sha256=card["sha256"],
            libraries=card.get("libraries", {}),
        )

    @app.post("/v1/score", response_model=ScoreResponse, dependencies=json_only, tags=["score"],
              response_model_exclude_none=True)  # no "reasons": null unless asked for
    async def score(body: ScoreRequest, request: Request, _: LoadedModel) -> Response:
        return await score_one(request, body, paragraphs=True)

    @app.post("/v1/clean", response_model=CleanResponse, dependencies=json_only, tags=["score"])
    async def clean(body: ScoreRequest, request: Request, _: LoadedModel) -> Response:
        return await score_one(request, body, paragraphs=False)

    @app.post("/v1/score/batch", response_model=BatchResponse, dependencies=json_only,
              tags=["score"], response_model_exclude_none=True)
    async def score_batch(body: BatchRequest, request: Request, _: LoadedModel) -> Response:
        if len(body.documents) > settings.max_batch:
            metrics.refused.labels("batch_too_large").inc()
            raise StarletteHTTPException(
                413, TOO_MANY.format(n=len(body.documents), limit=settings.max_batch))
        policy = policy_of(body)
        records = [d.model_dump() if isinstance(d, BatchDocument) else d for d in body.documents]
        slots = await _score_batch(request.app.state.batcher, records, policy,
                                   settings.max_body_bytes)
        for slot in slots:
            if isinstance(slot, dict):
                metrics.refused.labels("bad_document").inc()
            else:
                count(slot[1].counts)
        return Response(b'{"results":[' + b",".join(map(_slot_json, slots)) + b"]}",
                        media_type="application/json")

    @app.get("/metrics", tags=["health"], response_class=Response)
    async def prometheus() -> Response:
        data, ctype = metrics.render()
        return Response(data, media_type=ctype)

    # The review page at / and its seed-file routes (service/review.py).
    app.include_router(review_router(settings, json_only))

    app.add_middleware(Observe, metrics=metrics)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, metrics=metrics)
    return app


def _scorers(settings: Settings, filt: Filter | None) -> tuple[list[Scorer], ModelFacts]:
    """One worker scores in this process; more are scorer processes (see ``scorers``)."""
    if filt is None and settings.workers > 1:
        return start_scorers(settings.workers, settings.model_dir, settings.max_body_bytes)
    filt = filt or Filter(settings.model_dir, max_bytes=settings.max_body_bytes)
    return [LocalScorer(filt)], ModelFacts(filt.version, filt.card)


class _BadInput(Exception):
    """Input that parsed but cannot be scored: 422 with the library's message."""


Slot = dict[str, Any] | tuple[dict[str, Any], Rendered]  # error record, or (record, answer)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


def _slot_json(slot: Slot) -> bytes:
    """``{"id", "error"}``, or ``{"id", ...the answer's fields}``: the id first, and only
    when the document had one."""
    if isinstance(slot, dict):
        return _json(slot)
    record, rendered = slot
    if "id" not in record:
        return rendered.body
    return b'{"id":' + _json(record["id"]) + b"," + rendered.body[1:]


async def _score_batch(batcher: Batcher, records: list[Any], policy: Policy,
                       max_bytes: int) -> list[Slot]:
    """Each slot checked as the CLI checks a JSON Lines record; good ones scored together."""
    slots: list[Slot | None] = []
    pending = []
    for number, record in enumerate(records):
        if not isinstance(record, dict):
            slots.append(error_record(None, f"document {number} is not a JSON object "
                                      f"(got {type(record).__name__})"))
            continue
        record = {k: v for k, v in record.items() if v is not None}
        try:
            job = job_for(record, None, max_bytes)
            if not job.raw.strip():
                raise ContamFilterError(EMPTY_CONTENT)
        except ContamFilterError as exc:
            slots.append(error_record(record, str(exc)))
            continue
        pending.append((len(slots), record, batcher.score(job.raw, job.fmt, policy)))
        slots.append(None)
    outcomes = await asyncio.gather(*(c for _, _, c in pending), return_exceptions=True)
    for (k, record, _), outcome in zip(pending, outcomes, strict=True):
        if isinstance(outcome, ContamFilterError):
            slots[k] = error_record(record, str(outcome))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            slots[k] = (record, outcome)
    return slots  # type: ignore[return-value]


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(x) for x in error.get("loc", ()) if x != "body")
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _package_version() -> str:
    from importlib.metadata import version

    return version("contamfilter")
