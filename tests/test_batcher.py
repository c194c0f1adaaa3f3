"""The queue between requests and scorers: shares out bursts, batches what waits."""

from __future__ import annotations

import asyncio
import json

from filter import Policy
from service.batcher import Batcher
from service.metrics import Metrics
from service.scorers import LocalScorer, render, score_jobs

from .prometheus import metric


def scored(metrics: Metrics, lane: str) -> float:
    return metric(metrics.render()[0].decode(), "contamfilter_scorer_documents_total",
                  scorer=lane)


def run_burst(filt, texts, lanes: int, max_docs: int = 16) -> tuple[list, Metrics]:
    metrics = Metrics()

    async def main():
        batcher = Batcher([LocalScorer(filt) for _ in range(lanes)], max_docs, metrics)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.score(t, None, Policy()) for t in texts))
        finally:
            await batcher.stop()

    return asyncio.run(main()), metrics


def test_a_burst_is_shared_out_between_free_scorers(filt, real_seeds):
    texts = [d.raw for d in real_seeds] + [real_seeds[0].raw] * 3
    results, metrics = run_burst(filt, texts, lanes=2)
    assert scored(metrics, "0") == scored(metrics, "1") == 4
    for text, result in zip(texts, results, strict=True):
        assert result == render(filt.score(text))


def test_one_scorer_takes_what_waits_up_to_the_batch_limit(filt, real_seeds):
    texts = [real_seeds[2].raw] * 7
    results, metrics = run_burst(filt, texts, lanes=1, max_docs=3)
    assert scored(metrics, "0") == 7
    assert all(r == results[0] for r in results)


def test_score_jobs_answers_each_job_or_its_input_error(filt, real_seeds):
    promo = Policy.build("body,promo")
    outcomes = score_jobs(filt, [(real_seeds[0].raw, None, Policy(), False, True),
                                 (12345, None, Policy(), False, True),
                                 (real_seeds[1].raw, None, promo, True, True),
                                 (real_seeds[1].raw, None, promo, False, False)])
    assert outcomes[0] == render(filt.score(real_seeds[0].raw))
    assert isinstance(outcomes[1], Exception) and "expected text" in str(outcomes[1])
    explained = filt.score(real_seeds[1].raw, policy=promo, explain=True)
    assert outcomes[2] == render(explained)
    first, third = json.loads(outcomes[0].body), json.loads(outcomes[2].body)
    assert all("reasons" not in p for p in first["paragraphs"])
    assert all(p["reasons"] for p in third["paragraphs"])
    # Without paragraphs: the same answer less that field, and the counts for the metrics.
    assert json.loads(outcomes[3].body) == {k: v for k, v in third.items() if k != "paragraphs"}
    assert outcomes[3].counts == explained.counts == third["counts"]


def test_a_rendered_answer_is_the_report_as_json(filt, real_seeds):
    result = filt.score(real_seeds[3].raw)
    rendered = render(result)
    assert json.loads(rendered.body) == json.loads(json.dumps(result.report()))
    assert rendered.body.decode("utf-8")  # non-ASCII text goes out as UTF-8, not escapes
