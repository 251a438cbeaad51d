"""The lazy grammar sampler gives the tokens llama-cpp-python's full grammar mask gives, on the real model.

Needs `./run`'s set-up (the model file); BOT_SKIP_MODEL_TESTS=1 skips it like the end-to-end tests.
"""
import json
import os

import pytest

from bot.config import load_settings
from bot.core.prompts import EXCERPT, SYSTEM_PROMPT, USER_PROMPT, answer_grammar

pytestmark = pytest.mark.real

if os.environ.get("BOT_SKIP_MODEL_TESTS") == "1":
    pytest.skip("BOT_SKIP_MODEL_TESTS=1", allow_module_level=True)

EXCERPTS = [
    "Для модели на 7 миллиардов параметров адаптер LoRA занимает около 20 мегабайт.",
    "Галлюцинации - это уверенные, но выдуманные ответы модели.",
]


@pytest.fixture(scope="module")
def models():
    from llama_cpp import Llama

    from bot.core.lazy_grammar import LazyGrammarLlama

    kw = dict(model_path=str(load_settings().llm.model_path), n_ctx=1024, n_threads=2, n_batch=128, verbose=False)
    return LazyGrammarLlama(**kw), Llama(**kw)


def complete(llm, user: str, grammar: str, system: str = SYSTEM_PROMPT, max_tokens: int = 60) -> str:
    from llama_cpp import LlamaGrammar

    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    out = llm.create_chat_completion(messages=messages, grammar=LlamaGrammar.from_string(grammar, verbose=False),
                                     temperature=0.0, top_k=1, max_tokens=max_tokens)
    return out["choices"][0]["message"]["content"]


@pytest.mark.parametrize("question", ["Сколько места занимает адаптер LoRA?", "What are hallucinations?"])
def test_same_answer_as_the_full_grammar_mask(models, question):
    lazy, full = models
    user = USER_PROMPT.format(excerpts="\n".join(EXCERPT.format(n=i, text=x) for i, x in enumerate(EXCERPTS, 1)),
                              question=question, language="Russian" if question[0] > "z" else "English")
    grammar = answer_grammar(len(EXCERPTS))
    answer = complete(lazy, user, grammar)
    assert answer == complete(full, user, grammar)
    assert set(json.loads(answer)) == {"answer", "citations"}


def test_a_token_the_grammar_rejects_is_never_sampled(models):
    # The model's own first choice is a greeting; only the full-mask fallback can produce this.
    lazy, _ = models
    assert complete(lazy, "Say hello.", 'root ::= "[" [0-9] "]"', system="You are a helpful assistant.") in \
        {f"[{d}]" for d in range(10)}
