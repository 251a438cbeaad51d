"""Command line: `python -m bot <command>`. Every command maps onto one core operation.

    index     build or update the index (prints what changed)
    search    retrieve passages            ask      answer a question (JSON with --json)
    chat      console chat                 eval     run a question set and print quality figures
    doctor    check config, corpus, index and model, say what to fix
    setup-model  download and assemble the default GGUF model
    serve     run the bot: console, telegram, discord, or auto (chat tokens decide)
    add / remove / rollback / status / stats   admin operations (local, trusted)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from .config import ConfigError, Settings, load_dotenv, load_settings


def _progress_bar(p) -> None:
    """A one-line progress bar with ETA on stderr (embedding is the slow part)."""
    if p.stage != "embed" or not p.total:
        return
    width = 30
    filled = int(width * p.done / p.total)
    eta = f"{int(p.eta_s // 60)}:{int(p.eta_s % 60):02d}" if p.eta_s is not None else "?"
    end = "\n" if p.done >= p.total else ""
    print(f"\rembedding [{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total} ETA {eta}", end=end,
          file=sys.stderr, flush=True)


def _progress_json(p) -> None:
    print(json.dumps({"stage": p.stage, "done": p.done, "total": p.total,
                      "eta_s": None if p.eta_s is None else round(p.eta_s, 1)}), flush=True)


def cmd_index(args, settings: Settings) -> int:
    from .core.embeddings import make_embedder
    from .core.index import build_index

    progress = _progress_json if args.progress_json else _progress_bar
    report = build_index(settings.corpus_dir, settings.index_dir, make_embedder(settings),
                         min_chars=settings.chunking.min_chars, max_chars=settings.chunking.max_chars,
                         progress=progress, force=args.force)
    if args.progress_json:
        print(json.dumps({"stage": "report", **asdict(report), "summary": report.summary()}, ensure_ascii=False),
              flush=True)
    else:
        print(report.summary())
    return 0


def _questions(arg: str):
    if arg != "-":
        from .core.text import valid_utf8

        yield valid_utf8(arg)  # argv's undecodable bytes arrive as surrogates
        return
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")  # a stray byte is one odd character, not a crash
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def cmd_search(args, settings: Settings) -> int:
    from .core.embeddings import make_embedder
    from .core.index import load_index
    from .core.retrieval import Retriever

    if not args.question.strip():  # before loading anything
        print("error: nothing to search for", file=sys.stderr)
        return 2
    retriever = Retriever.from_settings(load_index(settings.index_dir), make_embedder(settings), settings.retrieval)
    for q in _questions(args.question):
        result = retriever.search(q, k=args.k or settings.retrieval.top_k)
        if args.json:
            print(json.dumps({"query": q, "passages": [h.to_json() for h in result.hits]}, ensure_ascii=False),
                  flush=True)
            continue
        print(f"\n? {q}   ({result.embed_ms + result.search_ms:.0f} ms)")
        for i, h in enumerate(result.hits, 1):
            p = h.passage
            print(f"[{i}] {p.source}:{p.line_start}-{p.line_end}  §{p.section_no} «{p.section}» "
                  f"{p.date or ''}  score={h.score:.4f}")
            print("    " + (p.text[:300] + ("…" if len(p.text) > 300 else "")))
    return 0


def _core(settings: Settings):
    from .app import Core

    return Core(settings)


def cmd_ask(args, settings: Settings) -> int:
    from .core.service import Asker
    from .frontends.console import render_plain

    core = _core(settings)
    asker = Asker("cli", "cli", "local", limited=False)
    try:
        for q in _questions(args.question):
            answer = asyncio.run(core.service.ask(q, asker))
            core.service.new_chat(asker)  # each line stands alone, never a follow-up of the line before
            print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else render_plain(answer), flush=True)
    finally:
        core.close()
    return 0


def cmd_chat(args, settings: Settings) -> int:
    from .frontends.console import run_console

    return run_console(_core(settings))


def cmd_eval(args, settings: Settings) -> int:
    from .evaluation import QuestionSetError, evaluate, load_questions, print_report

    try:
        questions = load_questions(Path(args.qa))[: args.limit]
    except QuestionSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    core = _core(settings)
    try:
        report = evaluate(core, questions)
    finally:
        core.close()
    print(json.dumps(report, ensure_ascii=False, indent=1) if args.json else print_report(report))
    return 0


def cmd_doctor(args, settings: Settings) -> int:
    from .doctor import run_doctor

    return run_doctor(settings)


def cmd_setup_model(args, settings: Settings) -> int:
    from .core.model_files import SHA256, check_model, setup_model

    if settings.llm.backend != "llama_cpp":
        print("llm.backend is not llama_cpp: no local model needed")
        return 0
    default = Settings().llm.model_path
    if settings.llm.model_path != default:
        check_model(settings.llm.model_path, settings.llm.model_sha256)
        print(f"using your own model {settings.llm.model_path}")
        return 0
    setup_model(settings.llm.model_path)
    check_model(settings.llm.model_path, SHA256)
    return 0


def _admin_call(settings: Settings, method: str, *args) -> int:
    """Run one admin operation as the local, trusted operator; progress goes to stderr."""
    from .core.service import Asker

    core = _core(settings)
    asker = Asker("cli", "cli", "local", user_lang="en")

    def progress(line: str) -> None:
        print(f"\r{line}", end="", file=sys.stderr, flush=True)

    try:
        action = getattr(core.admin, method)
        kwargs = {} if method in ("status", "rollback") else {"on_progress": progress}
        reply = asyncio.run(action(asker, *args, **kwargs))
    finally:
        core.close()
    print(("\n" if method not in ("status", "rollback") else "") + reply.text)
    return 0 if reply.ok else 1


def cmd_add(args, settings: Settings) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 1
    return _admin_call(settings, "add_document", path.name, path.read_bytes())


def cmd_remove(args, settings: Settings) -> int:
    return _admin_call(settings, "remove_document", args.source)


def cmd_rollback(args, settings: Settings) -> int:
    return _admin_call(settings, "rollback")


def cmd_status(args, settings: Settings) -> int:
    return _admin_call(settings, "status")


def cmd_stats(args, settings: Settings) -> int:
    from .core.store import DB_NAME, Store, format_summary

    store = Store(settings.data_dir / DB_NAME)
    try:
        print(format_summary(store.summary(days=args.days)))
    finally:
        store.close()
    return 0


def cmd_serve(args, settings: Settings) -> int:
    from .frontends.runner import serve

    return serve(settings, args.frontend)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML settings file (default: $BOT_CONFIG or config.yaml)")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("index", help="build or update the index")
    p.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    p.add_argument("--progress-json", action="store_true", help="progress as JSON lines on stdout (for the admin service)")
    p.set_defaults(func=cmd_index)
    p = sub.add_parser("search", help="retrieve passages for a question ('-' reads stdin)")
    p.add_argument("-k", type=_positive, default=None, help="number of passages")
    p.add_argument("--json", action="store_true")
    p.add_argument("question")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("ask", help="answer a question ('-' reads one per line from stdin)")
    p.add_argument("--json", action="store_true")
    p.add_argument("question")
    p.set_defaults(func=cmd_ask)
    sub.add_parser("chat", help="interactive console chat").set_defaults(func=cmd_chat)
    p = sub.add_parser("eval", help="run a question set and print quality figures")
    p.add_argument("--qa", required=True, help="JSON lines: question, lang, kind, gold_line_range")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=_positive, default=None, help="only the first N questions")
    p.set_defaults(func=cmd_eval)
    sub.add_parser("doctor", help="check the installation and say what to fix").set_defaults(func=cmd_doctor)
    sub.add_parser("setup-model", help="download and check the default model").set_defaults(func=cmd_setup_model)
    p = sub.add_parser("add", help="add a .txt/.md document to the corpus and reindex")
    p.add_argument("file")
    p.set_defaults(func=cmd_add)
    p = sub.add_parser("remove", help="take a source out of the corpus and reindex")
    p.add_argument("source", help="file name in the corpus folder, e.g. notes.md")
    p.set_defaults(func=cmd_remove)
    sub.add_parser("rollback", help="switch back to the previous index version").set_defaults(func=cmd_rollback)
    sub.add_parser("status", help="index, model, uptime, answers today").set_defaults(func=cmd_status)
    p = sub.add_parser("stats", help="summary of the bot's store: answers, refusals, feedback, latency")
    p.add_argument("--days", type=int, default=14)
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser("serve", help="run the bot")
    p.add_argument("frontend", nargs="?", default="auto", choices=["auto", "console", "telegram", "discord", "all"])
    p.set_defaults(func=cmd_serve)
    args = parser.parse_args(argv)
    if not args.command:
        args = parser.parse_args([*(["--config", args.config] if args.config else []), "serve"])
    load_dotenv()
    if args.config:  # child processes (the admin reindex) must read the same file
        os.environ["BOT_CONFIG"] = str(Path(args.config).resolve())
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    from .logs import setup_logging

    setup_logging(settings)
    try:
        return args.func(args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear one-line error for known failures, not a trace
        from .core.corpus import CorpusError
        from .core.index import IndexUnavailable
        from .core.llm import LLMError
        from .core.model_files import ModelFileError

        if isinstance(exc, (CorpusError, IndexUnavailable, LLMError, ModelFileError)):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise
