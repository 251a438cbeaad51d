"""Prompt-lookup decoding for the llama.cpp backend: drafts copied from the prompt, checked in one batch.

The bot's answers mostly copy their excerpts word for word. After each generated token, the tokens
that followed the last earlier occurrence of the context's final two tokens (in the prompt or in the
output so far) are drafted; llama.cpp evaluates the token and its draft in one batch, and greedy
sampling keeps the drafted tokens it would have chosen anyway, up to the first it would not. On 2 CPU
cores a step with eight drafted tokens took 220 and 231 ms against 96 and 103 ms for a plain one (two
runs, medians of 12, after a 288-token prompt), so drafting pays once a step keeps more than about 1.3
drafted tokens.

Only Russian answers are drafted (the pipeline asks for it): they copy Russian excerpts. Replaying
the 16 model calls of 12 development questions with drafts and without: the Russian answer calls
took 40.4 s, not 52.6 s, with the same outputs; all calls 83.0 s, not 96.2 s, but five calls of
English questions (translations, an English answer) came out different: a batch's arithmetic
differs from one token's in the last bits, and greedy decoding follows that where two tokens are
nearly tied. Drafting every call in a development run, English answers changed, one right answer
was lost, a refusal became a made-up answer that passed, and English p95 rose from 17.4 to 25.4 s.
With Russian answers alone drafted, 10 of their 79 in both question sets changed wording (one
right answer lost) and their whole-answer p50 fell 7.6 → 5.9 s and 9.9 → 7.7 s (partly because the
machine ran a little faster). Single-token matches are not drafted: they recur everywhere and are
mostly wrong (drafting them too: 96.8 → 93.5 s in all, translations slower).
"""
from __future__ import annotations

import numpy as np

from .lazy_grammar import LazyGrammarLlama

_NONE = np.array([], dtype=np.intc)


class PromptLookup:
    """The draft "model": what followed the last earlier occurrence of the final `ngram` tokens."""

    def __init__(self, tokens: int = 8, ngram: int = 2) -> None:
        self.tokens, self.ngram = tokens, ngram

    def __call__(self, ids: np.ndarray, /) -> np.ndarray:
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
    """LazyGrammarLlama that checks the drafts of a `draft_model` set per completion. Set on the
    instance, not passed to Llama(): there a draft model turns on logits for every prompt token
    (a 1.2 GB array for Qwen2.5's vocabulary, and slower prompts)."""

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
