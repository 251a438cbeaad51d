"""Answer latency benchmark on the real model: time to sources, first token, whole answer, and the
pipeline's overhead against llama-cpp-python alone on the very same prompt. Prints figures.

    python scripts/bench_answer.py [--qa tests/data/dev_questions.jsonl] [--n 12] [--stock] [--drafts]

"Alone" replays the calls through the bot's own backend (its lazy grammar sampler and prompt-lookup
drafts included); --stock also replays them through an unmodified llama_cpp.Llama, which masks the
whole vocabulary with the grammar at every token and drafts nothing; --drafts also replays them on
the bot's backend with drafting off, and counts the calls whose output is the same.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import Core  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.core.service import Asker  # noqa: E402


class RecordingLLM:
    """Passes calls through to the real backend and keeps what was asked, to replay it alone."""

    def __init__(self, inner) -> None:
        self.inner, self.model_id, self.calls = inner, inner.model_id, []

    def generate(self, system, user, **kw):
        text = self.inner.generate(system, user, **kw)
        # The bot may stop a call early (once its answer has passed, before the citations): the replay
        # generates as many tokens as the call did, not up to the limit.
        made = len(self.inner.load().tokenize(text.encode(), add_bos=False, special=False))
        self.calls.append((system, user, kw["grammar"], min(kw["max_tokens"], made + 1), kw.get("drafts", False)))
        return text


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--qa", default="tests/data/dev_questions.jsonl")
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--stock", action="store_true", help="also replay on stock llama-cpp-python")
    ap.add_argument("--drafts", action="store_true", help="also replay with prompt-lookup drafting off")
    args = ap.parse_args()
    settings = load_settings()
    from bot.core.llm import make_llm

    llm = RecordingLLM(make_llm(settings))
    t0 = time.perf_counter()
    core = Core(settings, llm=llm)
    core.service.limiter = None
    core.embedder.embed_query("прогрев")
    llm.inner.load()
    print(f"core + model loaded in {time.perf_counter() - t0:.1f} s")
    stock = stock_llama(settings) if args.stock else None
    items = [json.loads(x) for x in Path(args.qa).read_text(encoding="utf-8").splitlines() if x.strip()]
    answerable = [q for q in items if q["kind"] == "answerable"]
    half = args.n // 2  # both languages: English questions cost a translation call more
    by_lang = {lang: [q for q in answerable if q["lang"] == lang] for lang in ("ru", "en")}
    items = by_lang["ru"][: args.n - half] + by_lang["en"][:half]
    rows, calls = [], {"all": 0, "same": 0, "ms": 0.0, "undrafted_ms": 0.0}
    for i, q in enumerate(items):
        start = len(llm.calls)
        asker = Asker("bench", str(i), "bench")
        answer = asyncio.run(core.service.ask(q["question"], asker, on_partial=lambda d: None))
        if "generate_ms" not in answer.timings:
            continue
        # Replay each model call of this question alone on the same backend, from its system
        # prompt's evaluated state, not reusing the batches of the call just made.
        alone = undrafted = 0.0
        for system, user, grammar, max_tokens, drafts in llm.calls[start:]:
            llm.inner.start_fresh()
            g0 = time.perf_counter()
            out = llm.inner.generate(system, user, grammar=grammar, max_tokens=max_tokens, drafts=drafts)
            took = plain = (time.perf_counter() - g0) * 1000
            if args.drafts and drafts:
                llm.inner.start_fresh()
                g0 = time.perf_counter()
                same = llm.inner.generate(system, user, grammar=grammar, max_tokens=max_tokens) == out
                plain = (time.perf_counter() - g0) * 1000
                calls["all"] += 1
                calls["same"] += same
                calls["ms"] += took
                calls["undrafted_ms"] += plain
            alone += took
            undrafted += plain
        row = {**answer.timings, "alone_ms": alone}
        if args.drafts:
            row["undrafted_ms"] = undrafted
        if stock is not None:
            row["stock_ms"] = sum(stock(*call) for call in llm.calls[start:])
        rows.append(row)
        print(f"{q['id']} ({q['lang']}): total {answer.timings['total_ms']:.0f} ms, model alone {alone:.0f} ms, "
              f"sources {answer.timings.get('sources_ms', 0):.0f} ms, "
              f"first token {answer.timings.get('first_token_ms', float('nan')):.0f} ms, refused={answer.refused}")
    core.close()
    if not rows:
        print("no question reached the model")
        return
    keys = ("translate_ms", "sources_ms", "first_token_ms", "first_sentence_ms", "total_ms", "alone_ms",
            "undrafted_ms", "stock_ms")
    for key in keys:
        vals = [r[key] for r in rows if key in r]
        if not vals:
            continue
        print(f"{key:<15} p50 {statistics.median(vals):7.0f}  p95 {pct(vals, 0.95):7.0f}  (n={len(vals)})")
    overhead = [(r["total_ms"] - r["alone_ms"]) / r["alone_ms"] for r in rows]
    print(f"pipeline overhead vs model alone on the same prompt: median {100 * statistics.median(overhead):.1f}%")
    if args.drafts:
        print(f"model calls with prompt-lookup drafts (Russian answers): {calls['ms'] / 1000:.1f} s, without: "
              f"{calls['undrafted_ms'] / 1000:.1f} s; the same output for {calls['same']} of {calls['all']}")
    if stock is not None:
        vs_stock = [(r["total_ms"] - r["stock_ms"]) / r["stock_ms"] for r in rows]
        print("pipeline vs stock llama-cpp-python on the same prompts: "
              f"median {100 * statistics.median(vs_stock):+.1f}%")


def stock_llama(settings):
    """A timer of one call on an unmodified llama_cpp.Llama (same file and threads)."""
    from llama_cpp import Llama, LlamaGrammar

    s = settings.llm
    model = Llama(model_path=str(s.model_path), n_ctx=s.n_ctx, n_threads=s.threads, n_threads_batch=s.threads,
                  n_batch=128, verbose=False)

    def run(system, user, grammar, max_tokens, drafts) -> float:  # stock llama-cpp-python drafts nothing
        def complete(text, **kw):
            return model.create_chat_completion(
                messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
                temperature=0.0, top_k=1, **kw)

        complete("ok", max_tokens=1)  # only the system prompt evaluated, as for the other replays
        g0 = time.perf_counter()
        complete(user, grammar=LlamaGrammar.from_string(grammar, verbose=False) if grammar else None,
                 max_tokens=max_tokens)
        return (time.perf_counter() - g0) * 1000

    return run


if __name__ == "__main__":
    main()
