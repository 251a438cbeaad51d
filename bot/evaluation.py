"""`python -m bot eval`: answer a question set through the real service and measure quality.

Question file: JSON lines with "question", "lang", "kind" (answerable | unanswerable | offtopic |
injection) and "gold_line_range" [a, b] for answerable ones; optionally "other_gold_ranges" [[a, b], …],
other places that answer it as well (the text defines some terms more than once). An answer has a
correct citation when a cited passage overlaps the gold lines; `quote_on_gold` counts the stricter
case where the quote shown does.
"""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from .core.service import Asker
from .core.text import collapse


class QuestionSetError(ValueError):
    """A question set that cannot be read: said in one line, where it goes wrong."""


def _is_range(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(x, int) for x in value)


def load_questions(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"cannot read {path}: {exc}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise QuestionSetError(f"{path}:{n}: not a JSON object ({exc})") from None
            if not isinstance(item, dict) or not isinstance(item.get("question"), str) or \
                    item.get("kind") not in ("answerable", "unanswerable", "offtopic", "injection"):
                raise QuestionSetError(f"{path}:{n}: needs 'question' and a known 'kind'")
            ranges = [item["gold_line_range"]] if item.get("gold_line_range") else []
            others = item.get("other_gold_ranges", [])
            if not isinstance(others, list) or not all(_is_range(r) for r in ranges + others):
                raise QuestionSetError(f"{path}:{n}: a gold range is two line numbers, [first, last]")
            out.append(item)
    return out


def _overlap(start: int, end: int, gold: list[list[int]]) -> bool:
    return any(start <= b and a <= end for a, b in gold)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def _rate(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.0f}%)" if total else "–"


def evaluate(core, questions: list[dict], progress: bool = True) -> dict:
    service = core.service
    rows = []
    for i, q in enumerate(questions, 1):
        answer = asyncio.run(service.ask(q["question"], Asker("eval", f"q{i}", "eval", limited=False)))
        gold = [q["gold_line_range"]] + q.get("other_gold_ranges", []) if q.get("gold_line_range") else []
        cited = [core.passage(c.passage_id) for c in answer.citations]
        correct = bool(gold) and any(p and _overlap(p.line_start, p.line_end, gold) for p in cited)
        # Stricter: the quote shown, not just its passage, is on the gold lines (a passage holds ~30
        # lines; a quote from its other end rarely answers).
        on_gold = bool(gold) and any(_overlap(c.line_start, c.line_end, gold) for c in answer.citations)
        verbatim = [collapse(c.quote) in core.index.sources[c.source].collapsed for c in answer.citations]
        rows.append({"id": q.get("id", str(i)), "question": q["question"], "lang": q.get("lang", "ru"),
                     "kind": q["kind"], "refused": answer.refused, "reason": answer.reason,
                     "correct_citation": correct, "quote_on_gold": on_gold, "citations": len(answer.citations),
                     "verbatim": sum(verbatim), "answer": answer.text, "timings": answer.timings})
        if progress:
            mark = "ok " if (correct if q["kind"] == "answerable" else answer.refused) else "XX "
            print(f"{mark}{i}/{len(questions)} [{q['kind']}/{q.get('lang')}] {answer.reason} "
                  f"{answer.timings.get('total_ms', 0) / 1000:.1f}s  {q['question'][:70]}", file=sys.stderr)
    return summarize(rows)


def summarize(rows: list[dict]) -> dict:
    def of(kind, lang=None):
        return [r for r in rows if r["kind"] == kind and (lang is None or r["lang"] == lang)]

    report = {"questions": len(rows)}
    for lang in ("ru", "en"):
        items = of("answerable", lang)
        report[f"answerable_{lang}"] = {"total": len(items), "correct_citation": sum(r["correct_citation"] for r in items),
                                        "quote_on_gold": sum(r["quote_on_gold"] for r in items),
                                        "refused": sum(r["refused"] for r in items)}
    for kind in ("unanswerable", "offtopic", "injection"):
        items = of(kind)
        report[kind] = {"total": len(items), "refused": sum(r["refused"] for r in items)}
    answered = [r for r in rows if not r["refused"]]
    quotes = sum(r["citations"] for r in rows)
    report["quotes_verbatim"] = {"total": quotes, "verbatim": sum(r["verbatim"] for r in rows)}
    report["answers_without_citation"] = sum(1 for r in answered if r["citations"] == 0)
    generated = [r["timings"] for r in rows if "generate_ms" in r["timings"]]
    report["latency_ms"] = {
        "total_p50": _pct([t["total_ms"] for t in generated], 0.5),
        "total_p95": _pct([t["total_ms"] for t in generated], 0.95),
        "sources_p50": _pct([t["sources_ms"] for t in generated if "sources_ms" in t], 0.5),
        "first_token_p50": _pct([t["first_token_ms"] for t in generated if "first_token_ms" in t], 0.5),
        "first_sentence_p50": _pct([t["first_sentence_ms"] for t in generated if "first_sentence_ms" in t], 0.5),
        "model_calls": len(generated),
    }
    report["rows"] = rows
    return report


def print_report(report: dict) -> str:
    lines = [f"questions: {report['questions']}"]
    for lang in ("ru", "en"):
        a = report[f"answerable_{lang}"]
        lines.append(f"answerable {lang}: answered with a correct citation {_rate(a['correct_citation'], a['total'])} "
                     f"(its quote on the gold lines: {a['quote_on_gold']}), refused {a['refused']}")
    for kind in ("unanswerable", "offtopic", "injection"):
        k = report[kind]
        lines.append(f"{kind}: refused {_rate(k['refused'], k['total'])}")
    v = report["quotes_verbatim"]
    lines.append(f"quotes verbatim: {_rate(v['verbatim'], v['total'])}")
    lines.append(f"answers without a citation: {report['answers_without_citation']}")
    lat = report["latency_ms"]
    lines.append(f"latency with a model call (n={lat['model_calls']}): total p50 {lat['total_p50']} ms, "
                 f"p95 {lat['total_p95']} ms; sources ready p50 {lat['sources_p50']} ms; "
                 f"first token p50 {lat['first_token_p50']} ms; first verified sentence shown p50 "
                 f"{lat['first_sentence_p50']} ms")
    misses = [r for r in report["rows"]
              if (r["kind"] == "answerable" and not r["correct_citation"]) or (r["kind"] != "answerable" and not r["refused"])]
    if misses:
        lines.append("misses:")
        lines += [f"  {r['id']} [{r['kind']}/{r['lang']}] {r['reason']}: {r['question'][:80]} → {r['answer'][:100]}"
                  for r in misses]
    return "\n".join(lines)
