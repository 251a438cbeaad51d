"""The llama.cpp backend resumes every request from its system prompt's state, on the real model.

Needs `./run`'s set-up (the model file); BOT_SKIP_MODEL_TESTS=1 skips it like the end-to-end tests.
"""
import os

import pytest

from bot.config import load_settings
from bot.core.llm import LlamaCppLLM
from bot.core.prompts import (EXCERPT, ONE_LINE_GRAMMAR, SYSTEM_PROMPT, TRANSLATE_PROMPT, TRANSLATE_USER,
                              USER_PROMPT, answer_grammar)

pytestmark = pytest.mark.real

if os.environ.get("BOT_SKIP_MODEL_TESTS") == "1":
    pytest.skip("BOT_SKIP_MODEL_TESTS=1", allow_module_level=True)

EXCERPTS = "\n".join(EXCERPT.format(n=i, text=x) for i, x in enumerate([
    "Для модели на 7 миллиардов параметров адаптер LoRA занимает около 20 мегабайт.",
    "Галлюцинации - это уверенные, но выдуманные ответы модели.",
], 1))


def test_the_same_prompt_is_evaluated_from_the_same_position_whatever_came_before(monkeypatch):
    model = LlamaCppLLM(load_settings().llm.model_path, n_ctx=1024)
    llm = model.load()
    starts = []  # the context position of each evaluation batch
    eval_ = llm.eval
    monkeypatch.setattr(llm, "eval", lambda tokens: (starts.append(llm.n_tokens), eval_(tokens)))

    def answer(question: str) -> tuple[str, int, list[int]]:
        user = USER_PROMPT.format(excerpts=EXCERPTS, question=question, language="Russian")
        starts.clear()
        out = model.generate(SYSTEM_PROMPT, user, grammar=answer_grammar(2), max_tokens=40)
        return out, next(s for s in starts if s > 0), model._prompt(SYSTEM_PROMPT, user)[0]

    first, at, prompt = answer("Сколько места занимает адаптер LoRA?")
    _, at_other, other = answer("Что такое галлюцинации?")  # the same excerpts, another question
    model.generate(TRANSLATE_PROMPT, TRANSLATE_USER.format(question="What is LoRA?"), grammar=ONE_LINE_GRAMMAR,
                   max_tokens=20)
    again, at_again, _ = answer("Сколько места занимает адаптер LoRA?")

    shared = next(i for i, (a, b) in enumerate(zip(prompt, other)) if a != b)
    assert at == at_other == at_again
    assert at < shared - 50  # where the system prompt ends, not where the shared excerpts end
    assert again == first and '"citations": [1]' in first
