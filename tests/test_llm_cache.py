"""The saved-state cache of the llama.cpp backend stays within its memory budget."""
import numpy as np
import pytest

from bot.core.llm import state_cache

llama_cpp = pytest.importorskip("llama_cpp")


def state(tokens: list[int]):
    scores = np.zeros((4, 1000), dtype=np.single)  # 16 kB of logits, as big as the KV part below is small
    return llama_cpp.llama.LlamaState(np.array(tokens, dtype=np.intc), scores, len(tokens), b"kv", 2, 0)


def test_logits_count_towards_the_capacity_and_the_oldest_state_goes_first():
    cache = state_cache(40_000)
    cache[[1, 2, 3]] = state([1, 2, 3])
    cache[[7, 8]] = state([7, 8])
    cache[[1, 2, 9]] = state([1, 2, 9])  # a third one does not fit in 40 kB
    assert cache.cache_size <= 40_000 and len(cache.cache_state) == 2
    assert [7, 8] in cache and cache[[1, 2, 9, 4]].input_ids.tolist() == [1, 2, 9]  # longest prefix wins
