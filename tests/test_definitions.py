"""Definitional questions ("Что такое X?") get the text's own «X - это …» sentence first, and a
term the text never names is refused."""
import asyncio
import json

import numpy as np
import pytest

from bot.core.corpus import Passage
from bot.core.definitions import Definitions, asked_term, asked_term_en
from bot.core.excerpts import windows
from bot.core.service import Asker
from bot.core.text import language, sentence_spans

USER = Asker("test", "chat-1", "user-1")


def ask(core, question):
    return asyncio.run(core.service.ask(question, USER))


@pytest.mark.parametrize("question, term", [
    ("Что такое LoRA?", "LoRA"),
    ("А что такое галлюцинации у языковых моделей?", "галлюцинации у языковых моделей"),
    ("Что в тексте называют галлюцинациями LLM?", "галлюцинациями LLM"),
    ('Что означает слово "агент" в тексте?', "агент"),
    ("В этом тексте что такое 'токен'?", "токен"),
    ("Что подразумевается под термином RAG?", "RAG"),
    ("Кто такой Карпати?", "Карпати"),
    ("Что автор думает о LoRA?", ""),
    ("Что такое, по мнению автора, хороший промпт для модели?", ""),  # not a term: too long
])
def test_the_term_of_a_definitional_question(question, term):
    assert asked_term(question) == term


def _passage(n: int, text: str) -> Passage:
    return Passage(f"x:{n}", "x.txt", n, "Раздел", None, None, n, n, "author", text)


def test_a_definition_names_the_term_and_nothing_else():
    passages = [
        _passage(1, "Языковая модель - это программа, которую проще всего представлять как исправление опечаток."),
        _passage(2, "Вот что важно. LLM Агент - это когда языковая модель выполняет в среде задачу."),
        _passage(3, "Галлюцинация - это когда LLM выдаёт информацию, которой нет в контексте."),
        _passage(4, "RAG (Retrieval Augmented Generation) - это метод работы с большими языковыми моделями."),
        _passage(5, "Большие языковые модели - это хорошо."),  # "это хорошо" defines nothing
        _passage(6, "Так и есть. In-context learning означает, что модель учится на примерах из контекста."),
        _passage(7, "Дообучение представляет собой процесс адаптации обученной нейронной сети к новой задаче."),
    ]
    found = Definitions(passages)

    def defined(term):
        d = found.best(term, relevance=lambda pos: 0.0)
        return d and passages[d.position].text[d.start:].split(" - ")[0]

    assert defined("языковая модель") == "Языковая модель"
    assert defined("джейлбрейк языковой модели") is None  # the subject must hold the term's head word
    assert defined("LLM") is None  # "LLM Агент" is something more specific
    assert defined("LLM агент") == "LLM Агент"
    assert defined("галлюцинации у языковых моделей") == "Галлюцинация"  # qualifiers are not the term
    assert defined("галлюцинациями LLM") == "Галлюцинация"
    assert defined("RAG").startswith("RAG (Retrieval")
    assert defined("большие языковые модели") is None
    assert passages[found.best("in-context learning", relevance=lambda pos: 0.0).position].id == "x:6"
    assert passages[found.best("дообучение нейросети", relevance=lambda pos: 0.0).position].id == "x:7"


def test_a_term_asked_in_cyrillic_finds_the_texts_latin_definition():
    passages = [_passage(1, "Существуют разные способы. Jailbreak в llm - это продуманный промпт, который обходит "
                            "ограничения системы.")]
    found = Definitions(passages)
    assert found.best("джейлбрейк языковой модели", relevance=lambda pos: 0.0).position == 0
    assert found.best("джейлбрейкер", relevance=lambda pos: 0.0) is None


def test_of_equally_close_definitions_the_most_relevant_passage_wins():
    passages = [_passage(1, "Промпт - это запрос или инструкция, которые вводят в модель."),
                _passage(2, "Промпт - это вводимые пользователем данные для ответа модели.")]
    found = Definitions(passages)
    assert found.best("промпт", relevance=lambda pos: [0.2, 0.9][pos]).position == 1
    assert found.best("промпт", relevance=lambda pos: [0.9, 0.2][pos]).position == 0


def test_a_definitional_question_gets_the_definition_as_its_first_excerpt(core, llm):
    ask(core, "Что такое LoRA?")
    assert llm.prompts[-1].startswith("Excerpts:\n[1] LoRA - это способ дообучения большой модели")


def test_an_english_definitional_question_finds_it_through_the_translation(core, llm):
    llm.translations["What is LoRA?"] = "Что такое LoRA?"
    ask(core, "What is LoRA?")
    assert llm.prompts[-1].startswith("Excerpts:\n[1] LoRA - это способ дообучения большой модели")


def test_a_term_the_text_never_names_is_refused_without_the_model(core, llm):
    assert not ask(core, "Что такое галлюцинации нейросеток?").refused  # the user's own qualifier
    llm.prompts.clear()
    answer = ask(core, "Что такое федеративное обучение?")
    assert answer.refused and answer.reason == "unknown_entity" and "«федеративное обучение»" in answer.text
    assert llm.prompts == []


def test_an_english_question_for_a_term_never_named_is_refused_after_its_translation(core, llm):
    question = "What is federated fine-tuning of a model?"
    llm.translations[question] = "Что такое федеративное дообучение модели?"  # its other words are the text's
    answer = ask(core, question)
    assert answer.refused and answer.lang == "en"
    assert llm.translated == [question] and llm.prompts == []


def test_a_half_translated_term_is_not_judged_never_named(core, llm):
    question = "What is the key-value cache of a LoRA model?"
    llm.translations[question] = "Что такое KV-кэш модели LoRA?"  # the model's half-translation
    ask(core, question)
    assert llm.prompts  # searched and answered, not refused as a term the text never names


def test_a_term_the_user_wrote_as_the_text_does_survives_a_garbled_translation(core, llm):
    question = "What is GGUF?"
    llm.translations[question] = "Что такое незаполненный формат?"  # the model's garble: never named
    ask(core, question)
    assert llm.prompts and "GGUF" in llm.prompts[-1]  # searched and answered, not refused
    llm.prompts.clear()  # a term the text does not have is still refused
    question = "What is federated fine-tuning?"
    llm.translations[question] = "Что такое федеративное дообучение?"
    assert ask(core, question).refused and llm.prompts == []


@pytest.mark.parametrize("question, term", [
    ("What is zero-shot prompting?", "zero-shot prompting"),
    ("What does 'alignment' of a language model mean?", "alignment"),
    ("What is an LSTM network?", "LSTM network"),
    ("What did the author say about LoRA?", ""),
    ("Who is Karpathy?", ""),
])
def test_the_term_of_an_english_definitional_question(question, term):
    assert asked_term_en(question) == term


def test_a_russian_question_with_a_long_english_term_is_russian():
    assert language("Что означает in-context learning?") == "ru"
    assert language("What does «ГПТэшка» mean?") == "en"


def test_an_answer_to_what_is_x_must_name_x(core, llm):
    # Supported by the excerpt, but about something else than what LoRA is.
    llm.outputs.append(json.dumps({"answer": "Адаптеры меняют на лету без перезагрузки основной модели.",
                                   "citations": [1]}, ensure_ascii=False))
    answer = ask(core, "Что такое LoRA?")
    assert answer.refused and answer.reason == "unsupported"
    llm.outputs.append(json.dumps({"answer": "LoRA - это способ дообучения большой модели.", "citations": [1]},
                                  ensure_ascii=False))
    assert ask(core, "Что такое LoRA?").text == "LoRA - это способ дообучения большой модели. [1]"


def test_a_name_given_after_its_explanation_is_a_definition_too():
    passages = [
        _passage(1, "Модель сжимают, уменьшая точность весов - этот процесс называется квантованием, и память падает."),
        _passage(2, "Правило 30 так называется, потому что 30 - наименьший код."),  # names nothing
        _passage(3, "Так получают ответ, который часто называют галлюцинацией."),
        _passage(4, "Галлюцинации - это уверенные, но выдуманные ответы модели."),
    ]
    found = Definitions(passages)
    quantization = found.best("квантование", relevance=lambda pos: 0.0)
    assert quantization.position == 0 and quantization.named_after
    assert passages[0].text[quantization.start:].startswith("называется квантованием")
    assert found.best("правило", relevance=lambda pos: 0.0) is None
    # Of two definitions as close, «X - это …» wins over a more relevant «… называют X».
    assert found.best("галлюцинации", relevance=lambda pos: [0, 0, 0.9, 0.1][pos]).position == 3


def test_the_excerpt_of_a_named_after_definition_holds_its_explanation():
    text = ("Погода сегодня хорошая. Модель сжимают, уменьшая точность весов. Этот процесс называется "
            "квантованием. Потом погода испортилась.")
    passage = _passage(1, text)
    [d] = Definitions([passage]).found
    [window] = windows("Что такое квантование?", passage, np.zeros(len(sentence_spans(text))), 1, 90, d)
    assert "уменьшая точность весов" in window and "называется квантованием" in window
