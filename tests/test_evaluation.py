"""`python -m bot eval`'s measures, on the fixture corpus with the scripted model."""
import asyncio
import json

import pytest

from bot.core.service import Asker
from bot.evaluation import evaluate, load_questions, print_report

QUESTION = "Что можно делать с адаптерами LoRA?"


def test_correct_citation_counts_the_passage_and_quote_on_gold_the_quote(core, llm):
    # The model's own answer fails verification; the sentence it then picks (one line of a two-line
    # passage) is the quote.
    invented = {"answer": "LoRA экономит память в тысячу раз.", "citations": [1]}
    llm.outputs += [json.dumps(invented, ensure_ascii=False)] * 4
    llm.pick = "менять на лету"
    answer = asyncio.run(core.service.ask(QUESTION, Asker("test", "u", "c")))
    quote = answer.citations[0]
    passage = core.passage(quote.passage_id)
    assert quote.line_start == quote.line_end == passage.line_end == passage.line_start + 1
    golds = {"on": [quote.line_end, quote.line_end + 5], "near": [passage.line_start - 3, passage.line_start],
             "off": [1, 2]}
    questions = [{"id": k, "question": QUESTION, "kind": "answerable", "gold_line_range": v} for k, v in golds.items()]
    # Another place that answers it as well counts like the gold range.
    questions.append({"id": "other", "question": QUESTION, "kind": "answerable", "gold_line_range": [1, 2],
                      "other_gold_ranges": [[5, 6], golds["on"]]})
    questions.append({"id": "weather", "question": "Какая погода будет завтра в Москве?", "kind": "offtopic"})
    report = evaluate(core, questions, progress=False)
    rows = {r["id"]: r for r in report["rows"]}
    assert [(rows[k]["correct_citation"], rows[k]["quote_on_gold"]) for k in ("on", "near", "off", "other")] == \
        [(True, True), (True, False), (False, False), (True, True)]
    assert report["answerable_ru"] == {"total": 4, "correct_citation": 3, "quote_on_gold": 2, "refused": 0}
    assert report["offtopic"] == {"total": 1, "refused": 1}
    assert report["quotes_verbatim"]["verbatim"] == report["quotes_verbatim"]["total"] == 4
    assert "answered with a correct citation 3/4 (75%) (its quote on the gold lines: 2)" in print_report(report)


def test_a_question_file_line_without_a_known_kind_is_named(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"question": "x", "kind": "answerable"}) + "\n\n"
                    + json.dumps({"question": "y", "kind": "maybe"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"qa.jsonl:3: needs 'question' and a known 'kind'"):
        load_questions(path)
