"""The throughput benchmark's interleaving: every tool on a chunk before the next chunk,
the order turning, each tool timed only over its own calls, and each with its own
class-token cache."""

import sys

from benchmarks.throughput import ClassTokenCaches, interleaved_rates


def test_tools_take_turns_chunk_by_chunk():
    calls = []
    tools = {name: (lambda docs, name=name: calls.append((name, tuple(docs))))
             for name in ("a", "b", "c")}
    docs = [str(i) for i in range(5)]
    rates = interleaved_rates(tools, docs, repeats=2, chunk=2)
    chunks = [("0", "1"), ("2", "3"), ("4",)]
    # 3 passes (one warm-up) x 3 chunks x 3 tools; chunk k of pass r starts at tool r*3+k.
    expected = []
    for repeat in range(3):
        for k, chunk in enumerate(chunks):
            turn = (repeat * 3 + k) % 3
            expected += [(name, chunk) for name in ("abc"[turn:] + "abc"[:turn])]
    assert calls == expected
    assert set(rates) == {"a", "b", "c"}
    assert all(r["items"] == 5 and r["per_s"] > 0 for r in rates.values())


def test_a_slow_tool_is_slower_whatever_its_turn():
    import time

    tools = {"fast": lambda docs: None, "slow": lambda docs: time.sleep(0.002 * len(docs))}
    rates = interleaved_rates(tools, ["x"] * 6, repeats=2, chunk=2)
    assert rates["slow"]["per_s"] < rates["fast"]["per_s"]
    assert rates["slow"]["best_s"] >= 0.012


def test_each_tool_keeps_its_own_class_token_cache():
    cache = sys.modules["filter.segment"]._TOKENS
    saved = dict(cache)
    try:
        caches = ClassTokenCaches()
        caches(0, "a")
        assert cache == {}
        cache[("div", "x", "")] = ("x",)
        caches(0, "b")
        assert cache == {}  # b does not see what a cached
        cache[("div", "y", "")] = ("y",)
        caches(0, "a")
        assert cache == {("div", "x", ""): ("x",)}
        caches(1, "a")  # a new pass: every tool starts empty
        assert cache == {}
    finally:
        cache.clear()
        cache.update(saved)


def test_pure_python_swaps_every_compiled_module_and_restores_them():
    from benchmarks.throughput import pure_python
    from filter import features, inference, shape

    segment = sys.modules["filter.segment"]
    def compiled_modules():
        return (segment.fastwalk, shape.fastwords, features.fastwords, features.fastblocks,
                inference.fasttrees)

    before = compiled_modules()
    with pure_python() as compiled:
        assert compiled
        assert compiled_modules() == (None,) * 5
    assert compiled_modules() == before
