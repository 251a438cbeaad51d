"""Load benchmark: N simulated users ask concurrently through the answer service for a while.

Prints throughput, latency p50/p95, counts by outcome (answers, refusals, busy, rate-limited,
timeouts, errors), RSS over time, and checks that no request was lost: every one must end in an
Answer with a text (an answer, a refusal or a clear busy/limit/timeout message). Exit code 1 if any
was lost.

    python scripts/bench_load.py                        # the real core from config.yaml (real model)
    python scripts/bench_load.py --fake --duration 20   # scripted model fakes on the test corpus
    python scripts/bench_load.py --users 16 --think 0 --no-rate-limit
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import Core  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.core.answer import Answer  # noqa: E402
from bot.core.service import Asker, RateLimiter  # noqa: E402

FAKE_QUESTIONS = [
    "Что автор думает о LoRA?", "Почему модели галлюцинируют?", "Что такое квантование моделей?",
    "Что такое эмбеддинг?", "What does the author say about quantization?", "Как приготовить борщ?",
    "Какие символы не должны ломать разметку?", "",
]


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def fake_core(llm_delay_s: float) -> tuple[Core, Path]:
    """The real core on the fixture corpus with the test suite's scripted model fakes."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import FIXTURE_CORPUS, HashEmbedder, ScriptedLLM

    from bot.core.index import build_index

    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    shutil.copytree(FIXTURE_CORPUS, work / "corpus")
    cfg = work / "config.yaml"
    cfg.write_text(f"corpus_dir: {work / 'corpus'}\nindex_dir: {work / 'index'}\ndata_dir: {work / 'data'}\n"
                   "chunking: {min_chars: 100, max_chars: 400}\nanswer: {min_dense_match: 0.2}\n"
                   "logging: {file: null}\n", encoding="utf-8")
    settings = load_settings(cfg, environ={})
    embedder = HashEmbedder()
    build_index(settings.corpus_dir, settings.index_dir, embedder, min_chars=100, max_chars=400)
    return Core(settings, llm=ScriptedLLM(delay_s=llm_delay_s), embedder=embedder), work


def real_questions() -> list[str]:
    path = ROOT / "tests" / "data" / "dev_questions.jsonl"
    return [json.loads(x)["question"] for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


async def simulate(core: Core, questions: list[str], users: int, duration_s: float, think_s: float,
                   rss_every_s: float) -> dict:
    results: list[tuple[float, float, str]] = []  # (start offset, latency s, reason or "LOST: ...")
    rss: list[tuple[float, int]] = [(0.0, rss_kib())]
    t0 = time.monotonic()
    stop_at = t0 + duration_s

    async def user(n: int) -> None:
        rng = random.Random(n)
        asker = Asker("bench", f"chat{n}", f"user{n}")
        while time.monotonic() < stop_at:
            started = time.monotonic()
            try:
                answer = await core.service.ask(rng.choice(questions), asker)
                ok = isinstance(answer, Answer) and bool(answer.text)
                outcome = answer.reason if ok else "LOST: empty or not an Answer"
            except Exception as exc:  # a lost request: the benchmark's point is that this never happens
                outcome = f"LOST: {type(exc).__name__}: {exc}"
            results.append((started - t0, time.monotonic() - started, outcome))
            # Always yield: a busy or rate-limited reply returns without suspending, and a user
            # loop that never suspends would starve the event loop (real clients await the network).
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)

    async def sample_rss() -> None:
        while True:
            await asyncio.sleep(rss_every_s)
            rss.append((time.monotonic() - t0, rss_kib()))

    sampler = asyncio.ensure_future(sample_rss())
    await asyncio.gather(*(user(n) for n in range(users)))
    sampler.cancel()
    elapsed = time.monotonic() - t0
    rss.append((elapsed, rss_kib()))
    return {"results": results, "rss": rss, "elapsed": elapsed}


def report(run: dict, users: int) -> tuple[str, int]:
    results, elapsed = run["results"], run["elapsed"]
    counts = Counter(r for _, _, r in results)
    lost = sum(v for k, v in counts.items() if k.startswith("LOST"))
    answered = [lat for _, lat, r in results if r == "answered"]
    refused_content = sum(v for k, v in counts.items() if k in ("no_match", "unknown_entity", "unsupported", "empty"))
    lines = [
        f"{users} users, {elapsed:.1f} s, {len(results)} requests, none lost" if not lost else
        f"{users} users, {elapsed:.1f} s, {len(results)} requests, {lost} LOST",
        f"throughput: {len(results) / elapsed:.2f} requests/s, {len(answered) / elapsed:.2f} answers/s",
        f"latency of answers: p50 {pct(answered, 0.5) * 1000:.0f} ms, p95 {pct(answered, 0.95) * 1000:.0f} ms "
        f"(n={len(answered)})",
        f"answers {counts['answered']}, refusals {refused_content}, busy {counts['busy']}, "
        f"rate-limited {counts['rate_limited']}, timeouts {counts['timeout']}, errors {counts['error']}",
        "by reason: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()),
        "RSS over time: " + ", ".join(f"{t:.0f}s {kib / 1024:.0f} MiB" for t, kib in run["rss"]),
        f"RSS max {max(k for _, k in run['rss']) / 1024:.0f} MiB",
    ]
    lines += [f"lost: {k} ×{v}" for k, v in counts.items() if k.startswith("LOST")]
    return "\n".join(lines), lost


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--duration", type=float, default=120, help="seconds of asking (in-flight ones finish)")
    ap.add_argument("--think", type=float, default=1.0, help="mean pause between one user's questions, s")
    ap.add_argument("--fake", action="store_true", help="scripted model fakes on the test corpus")
    ap.add_argument("--fake-delay", type=float, default=0.3, help="scripted generation time per answer, s")
    ap.add_argument("--no-rate-limit", action="store_true", help="measure the queue alone")
    ap.add_argument("--rss-every", type=float, default=5.0)
    ap.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    args = ap.parse_args()
    work = None
    if args.fake:
        core, work = fake_core(args.fake_delay)
        questions = FAKE_QUESTIONS
    else:
        core, questions = Core(load_settings()), real_questions()
    if args.no_rate_limit:
        core.service.limiter = RateLimiter(10**9, 10**9)
    s = core.settings
    print(f"{'fake' if args.fake else 'real'} core, index {core.index.version}; queue {s.answer.queue_size}, "
          f"time limit {s.answer.time_limit_s:.0f} s, limits {s.limits.per_user_per_minute}/user/min "
          f"{s.limits.global_per_minute}/min{' (off)' if args.no_rate_limit else ''}", flush=True)
    try:
        run = asyncio.run(simulate(core, questions, args.users, args.duration, args.think, args.rss_every))
    finally:
        core.close()
        if work:
            shutil.rmtree(work, ignore_errors=True)
    text, lost = report(run, args.users)
    print(text)
    if args.json:
        print(json.dumps({"elapsed": run["elapsed"], "rss_kib": run["rss"],
                          "results": [{"t": t, "latency_s": lat, "outcome": r} for t, lat, r in run["results"]]}))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
