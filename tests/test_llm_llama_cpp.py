"""The llama.cpp backend evaluates a prompt in the same batches whatever came before, on the real model.

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

SHORT = ["Для модели на 7 миллиардов параметров адаптер LoRA занимает около 20 мегабайт.",
         "Галлюцинации - это уверенные, но выдуманные ответы модели."]
# Long enough for the prompts to share more than two whole evaluation batches (128 tokens each).
LONG = [" ".join(f"В {year} году модель номер {year - 2000} обучили на {year % 7 + 2} терабайтах текста."
                 for year in range(2010, 2030))] + SHORT


@pytest.fixture
def model(monkeypatch):
    """The backend, recording the context position where each evaluation batch begins."""
    backend = LlamaCppLLM(load_settings().llm.model_path, n_ctx=1024)
    llm = backend.load()
    backend.starts = []
    eval_ = llm.eval
    monkeypatch.setattr(llm, "eval", lambda tokens: (backend.starts.append(llm.n_tokens), eval_(tokens)))
    return backend


def answer(model, excerpts: list[str], question: str, drafts: bool = False) -> tuple[str, int, list[int]]:
    """The answer, where this prompt's own evaluation began, and the prompt's tokens."""
    user = USER_PROMPT.format(excerpts="\n".join(EXCERPT.format(n=i, text=x) for i, x in enumerate(excerpts, 1)),
                              question=question, language="Russian")
    model.starts.clear()
    out = model.generate(SYSTEM_PROMPT, user, grammar=answer_grammar(len(excerpts)), max_tokens=40, drafts=drafts)
    return out, next(s for s in model.starts if s > 0), model._prompt(SYSTEM_PROMPT, user)[0]


def translate(model) -> None:
    model.generate(TRANSLATE_PROMPT, TRANSLATE_USER.format(question="What is LoRA?"), grammar=ONE_LINE_GRAMMAR,
                   max_tokens=20)


def shared(a: list[int], b: list[int]) -> int:
    return next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)


def test_a_prompt_sharing_less_than_a_batch_is_evaluated_from_its_system_prompts_end(model):
    first, at, prompt = answer(model, SHORT, "Сколько места занимает адаптер LoRA?")
    _, at_other, other = answer(model, SHORT, "Что такое галлюцинации?")  # the same excerpts, another question
    translate(model)
    again, at_again, _ = answer(model, SHORT, "Сколько места занимает адаптер LoRA?")
    assert at == at_other == at_again
    assert at < shared(prompt, other) - 50  # where the system prompt ends, not where the shared excerpts end
    assert again == first and '"citations": [1]' in first


def test_whole_batches_shared_with_the_prompt_before_are_reused_and_change_nothing(model):
    _, start, prompt = answer(model, LONG, "Сколько места занимает адаптер LoRA?")
    follow_up, at, other = answer(model, LONG, "Что такое галлюцинации?")  # resumes inside the excerpts
    translate(model)
    fresh, at_fresh, _ = answer(model, LONG, "Что такое галлюцинации?")  # from the system prompt's end
    assert shared(prompt, other) - start > 256
    assert at_fresh == start and at - start >= 256 and (at - start) % 128 == 0
    assert follow_up == fresh


def test_prompt_lookup_drafts_copy_an_excerpt_in_fewer_steps_and_change_nothing(model):
    steps = lambda: sum(1 for s in model.starts if s > at)  # evaluations after the prompt's: one per step
    drafted, at, _ = answer(model, SHORT, "Что такое галлюцинации?", drafts=True)
    with_drafts = steps()
    model.start_fresh()
    plain, at, _ = answer(model, SHORT, "Что такое галлюцинации?")
    assert drafted == plain and "выдуманные ответы" in plain  # copied from the excerpt
    assert with_drafts < steps() / 2
