"""Retrieval benchmark: recall@1/5/10 and MRR per language (reworded subset apart), search latency,
process RSS, and index rebuild times. Prints figures; asserts nothing.

    python scripts/bench_retrieval.py [--qa tests/data/dev_questions.jsonl] [--no-rebuild] [--translate]

--translate also searches each English question together with the LLM's Russian translation, as
the answer pipeline does (method "fused+ru"; loads the model, ~4 s per question).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings  # noqa: E402
from bot.core.embeddings import embedding_text, make_embedder  # noqa: E402
from bot.core.index import build_index, embedded_texts, load_index, unit_texts  # noqa: E402
from bot.core.llm import make_llm  # noqa: E402
from bot.core.pipeline import to_russian  # noqa: E402
from bot.core.retrieval import Retriever  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def overlaps(p, gold) -> bool:
    return p.line_start <= gold[1] and gold[0] <= p.line_end


def rank_of(passages, gold) -> int | None:
    return next((i for i, p in enumerate(passages, 1) if overlaps(p, gold)), None)


def table(rows: list[tuple[str, str, bool, int | None]]) -> None:
    groups = {}
    for method, lang, reworded, rank in rows:
        for key in ((method, lang, "all"), (method, lang, "reworded" if reworded else "verbatim-ish")):
            groups.setdefault(key, []).append(rank)
    print(f"{'method':<10} {'lang':<4} {'subset':<12} {'n':>3} {'R@1':>5} {'R@5':>5} {'R@10':>5} {'MRR':>5}")
    for (method, lang, subset), ranks in sorted(groups.items()):
        n = len(ranks)

        def recall(k):
            return sum(1 for r in ranks if r and r <= k) / n

        mrr = sum(1 / r for r in ranks if r) / n
        print(f"{method:<10} {lang:<4} {subset:<12} {n:>3} {recall(1):5.2f} {recall(5):5.2f} {recall(10):5.2f} {mrr:5.2f}")


def rebuild_times(settings, embedder) -> None:
    """No-change rebuild and a one-section edit, on a copy of the corpus and index."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copytree(settings.corpus_dir, tmp / "corpus")
        shutil.copytree(settings.index_dir, tmp / "index", ignore=shutil.ignore_patterns(".building-*"))
        kw = dict(min_chars=settings.chunking.min_chars, max_chars=settings.chunking.max_chars)
        t0 = time.perf_counter()
        r = build_index(tmp / "corpus", tmp / "index", embedder, **kw)
        print(f"rebuild, no corpus change: {time.perf_counter() - t0:.2f} s ({r.summary()})")
        path = tmp / "corpus" / "gpt-models.txt"
        lines = path.read_text(encoding="utf-8").split("\n")
        lines[150] += " Добавлено при проверке пересборки."  # inside §1
        path.write_text("\n".join(lines), encoding="utf-8")
        t0 = time.perf_counter()
        r = build_index(tmp / "corpus", tmp / "index", embedder, **kw)
        print(f"rebuild, one section changed: {time.perf_counter() - t0:.2f} s ({r.summary()})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--qa", default="tests/data/dev_questions.jsonl")
    ap.add_argument("--no-rebuild", action="store_true")
    ap.add_argument("--translate", action="store_true")
    args = ap.parse_args()
    settings = load_settings()
    embedder = make_embedder(settings)
    t0 = time.perf_counter()
    index = load_index(settings.index_dir)
    retriever = Retriever.from_settings(index, embedder, settings.retrieval)
    embedder.embed_query("прогрев")  # load the model before timing
    print(f"index {index.version}: {len(index.passages)} passages, loaded with the model in "
          f"{time.perf_counter() - t0:.2f} s; RSS {rss_mb():.0f} MB")
    questions = [json.loads(x) for x in Path(args.qa).read_text(encoding="utf-8").splitlines() if x.strip()]
    questions = [q for q in questions if q["kind"] == "answerable"]
    rows, latencies, llm = [], [], None
    for q in questions:
        gold, lang, rew = q["gold_line_range"], q["lang"], q.get("reworded", False)
        t = time.perf_counter()
        result = retriever.search(q["question"], k=10)
        latencies.append((time.perf_counter() - t) * 1000)
        rows.append(("fused", lang, rew, rank_of([h.passage for h in result.hits], gold)))
        dense = [index.passages[i] for i, _ in retriever.dense(result.query_vector, 10)]
        rows.append(("dense", lang, rew, rank_of(dense, gold)))
        keyword = [index.passages[i] for i, _ in retriever.keyword(q["question"], 10)]
        rows.append(("keyword", lang, rew, rank_of(keyword, gold)))
        if args.translate and lang == "en":
            if llm is None:
                llm = make_llm(settings)
            result = retriever.search(q["question"], k=10, extra=to_russian(llm, q["question"]))
            rows.append(("fused+ru", lang, rew, rank_of([h.passage for h in result.hits], gold)))
    table(rows)
    latencies.sort()
    print(f"search latency (embed + FTS5 + FAISS + fusion), n={len(latencies)}: "
          f"p50 {statistics.median(latencies):.1f} ms, p95 {latencies[int(0.95 * len(latencies)) - 1]:.1f} ms")
    print(f"RSS after searching: {rss_mb():.0f} MB" + (" (the LLM loaded for --translate)" if llm else ""))
    build_s = index.manifest.get("build_seconds")
    print(f"index build time recorded in the manifest: {build_s} s (from the embedding cache)")
    rates = {}  # a passage costs ~10x a sentence (or a section title): each kind is timed apart
    for kind, sample in (("passages", [embedding_text(p) for p in index.passages[:40]]),
                         ("sentences", [u for p in index.passages[:10] for u in unit_texts(p)])):
        t0 = time.perf_counter()
        embedder.embed_passages(sample)
        rates[kind] = len(sample) / (time.perf_counter() - t0)
    n, short = len(index.passages), len(embedded_texts(index.passages)) - len(index.passages)
    minutes = (n / rates["passages"] + short / rates["sentences"]) / 60
    print(f"embedding from scratch: {rates['passages']:.1f} passages/s, {rates['sentences']:.1f} sentences/s "
          f"→ ~{minutes:.1f} min for {n} passages and {short} section titles and sentences")
    if not args.no_rebuild:
        rebuild_times(settings, embedder)


if __name__ == "__main__":
    main()
