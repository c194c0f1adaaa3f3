"""The queue between requests and scorers: shares out bursts, batches what waits."""

from __future__ import annotations

import asyncio

from filter import Policy
from service.batcher import Batcher
from service.metrics import Metrics
from service.scorers import LocalScorer, score_jobs

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
        assert result == filt.score(text)


def test_one_scorer_takes_what_waits_up_to_the_batch_limit(filt, real_seeds):
    texts = [real_seeds[2].raw] * 7
    results, metrics = run_burst(filt, texts, lanes=1, max_docs=3)
    assert scored(metrics, "0") == 7
    assert all(r == results[0] for r in results)


def test_score_jobs_answers_each_job_or_its_input_error(filt, real_seeds):
    outcomes = score_jobs(filt, [(real_seeds[0].raw, None, Policy(), False),
                                 (12345, None, Policy(), False),
                                 (real_seeds[1].raw, None, Policy.build("body,promo"), True)])
    assert outcomes[0] == filt.score(real_seeds[0].raw)
    assert isinstance(outcomes[1], Exception) and "expected text" in str(outcomes[1])
    assert outcomes[2] == filt.score(real_seeds[1].raw, policy=Policy.build("body,promo"),
                                     explain=True)
    assert all(p.reasons is None for p in outcomes[0].paragraphs)
    assert all(p.reasons is not None for p in outcomes[2].paragraphs)
