"""Prompt-lookup decoding for the llama.cpp backend: drafts copied from the prompt, checked in one batch.

The bot's answers mostly copy their excerpts word for word. After each generated token, the tokens
that followed the last earlier occurrence of the context's final two tokens (in the prompt or in the
output so far) are drafted; llama.cpp evaluates the token and its draft in one batch, and greedy
sampling keeps the drafted tokens it would have chosen anyway, up to the first it would not. On 2 CPU
cores a batch of nine tokens costs about what one token does, so every kept token is time saved.

Measured on the 16 model calls of 12 development questions, each replayed with drafts and without
(`scripts/bench_answer.py --drafts` replays them so): Russian answer calls 52.6 → 40.4 s, all calls
96.2 → 83.0 s, the Russian answers identical. Five calls of English questions (translations, an
English answer) came out different: a batch's arithmetic differs from one token's in the last bits,
and greedy decoding follows that where two tokens are nearly tied. Single-token matches are not
drafted: they recur everywhere and are mostly wrong (drafting them too: 96.8 → 93.5 s, translations
slower).
"""
from __future__ import annotations

import numpy as np

from .lazy_grammar import LazyGrammarLlama

_NONE = np.array([], dtype=np.intc)


class PromptLookup:
    """The draft "model": what followed the last earlier occurrence of the final `ngram` tokens."""

    def __init__(self, tokens: int = 8, ngram: int = 2) -> None:
        self.tokens, self.ngram = tokens, ngram

    def __call__(self, ids: np.ndarray, /, **_) -> np.ndarray:
        n = self.ngram
        if len(ids) <= n:
            return _NONE
        earlier = np.lib.stride_tricks.sliding_window_view(ids[:-1], n)  # every n-gram but the final one
        hits = np.flatnonzero((earlier == ids[-n:]).all(axis=1))
        if not len(hits):
            return _NONE
        start = int(hits[-1]) + n
        return ids[start: start + self.tokens]


class LookupLlama(LazyGrammarLlama):
    """LazyGrammarLlama with prompt-lookup drafts (none with draft_tokens=0)."""

    def __init__(self, *args, draft_tokens: int = 8, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Set here, not passed to Llama(): there a draft model turns on logits for every prompt token
        # (a 1.2 GB array for Qwen2.5's vocabulary, and slower prompts).
        self.draft_model = PromptLookup(draft_tokens) if draft_tokens else None

    def eval(self, tokens) -> None:
        if self.draft_model is None or len(tokens) > self.draft_model.tokens + 1:
            return super().eval(tokens)  # a prompt: logits for its last token only
        # A generated token and its draft: logits at every position, one per drafted token to check.
        self._ctx.kv_cache_seq_rm(-1, self.n_tokens, -1)
        self._batch.set_batch(batch=tokens, n_past=self.n_tokens, logits_all=True)
        self._ctx.decode(self._batch)
        self.input_ids[self.n_tokens: self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)
        self._requires_eval = False
