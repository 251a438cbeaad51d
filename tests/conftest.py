"""Shared fixtures: scripted fakes of the two model backends and a small indexed corpus.

The fakes stand in only for the models; parsing, indexing, retrieval, gates, verification and the
answer service run for real. Tests never touch the repository's own index/ or data/ folders.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from bot.config import load_settings
from bot.core.index import build_index
from bot.core.prompts import BACK_TRANSLATE_PROMPT, PICK_PROMPT, TRANSLATE_PROMPT
from bot.core.text import stems

DATA = Path(__file__).parent / "data"
FIXTURE_CORPUS = DATA / "fixture_corpus"


class HashEmbedder:
    """Deterministic bag-of-stems vectors: same words → similar vectors. Fast, no model."""

    model_id = "test-hash-embedder"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0  # passages embedded, for incremental-build tests

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for s in stems(text):
            v[int(hashlib.md5(s.encode()).hexdigest(), 16) % self.dim] += 1.0
        v[0] += 0.05  # never a zero vector
        return v / np.linalg.norm(v)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def embed_passages(self, texts) -> np.ndarray:
        self.calls += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


_EXCERPT = re.compile(r"^\[(\d+)\] (.*)$", re.M)


class ScriptedLLM:
    """Returns queued outputs in order; when the queue is empty it answers with the first two
    sentences of excerpt [1] (a grounded answer), so happy paths need no script."""

    model_id = "scripted-test-llm"

    def __init__(self, outputs: list[str] | None = None, delay_s: float = 0.0) -> None:
        self.outputs = list(outputs or [])
        self.prompts: list[str] = []
        self.translations: dict[str, str] = {}  # question → its Russian; unknown ones come back as is
        self.translated: list[str] = []  # questions the pipeline asked to translate
        self.pick = ""  # when asked to pick a sentence: the first one containing this, else 0 (none)
        self.pick_prompts: list[str] = []
        self.back_translations: dict[str, str] = {}  # English answer sentence → its Russian; unknown ones come back as is
        self.back_translated: list[str] = []
        self.streamed = ""  # the last answer output, as far as it was streamed before a stop
        self.drafted: list[bool] = []  # per answer prompt: did the pipeline let the backend draft from it?
        self.delay_s = delay_s

    def generate(self, system, user, *, grammar, max_tokens, on_text=None, cancel=None, drafts=False) -> str:
        if system == TRANSLATE_PROMPT:
            question = user.removeprefix('"').removesuffix('" ->')
            self.translated.append(question)
            return self.translations.get(question, question)
        if system == BACK_TRANSLATE_PROMPT:
            self.back_translated.append(user)
            return self.back_translations.get(user, user)
        if system == PICK_PROMPT:
            self.pick_prompts.append(user)
            listed = _EXCERPT.findall(user)  # "[k] sentence" lines, like the excerpts
            return next((k for k, sentence in listed if self.pick and self.pick in sentence), "0")
        self.prompts.append(user)
        self.drafted.append(drafts)
        if self.outputs:
            out = self.outputs.pop(0)
        else:
            m = _EXCERPT.search(user)
            first = " ".join(re.split(r"(?<=[.!?])\s", m.group(2))[:2]) if m else "NO_ANSWER"
            out = json.dumps({"answer": first, "citations": [1]}, ensure_ascii=False) if m else "NO_ANSWER"
        pieces = [out[i: i + 8] for i in range(0, len(out), 8)]
        done = []
        for piece in pieces:
            if cancel is not None and cancel.is_set():
                break
            if self.delay_s:
                threading.Event().wait(self.delay_s / len(pieces))
            done.append(piece)
            if on_text:
                on_text(piece)
        self.streamed = "".join(done)
        return self.streamed


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A project folder with the fixture corpus and empty index/ and data/ folders."""
    shutil.copytree(FIXTURE_CORPUS, tmp_path / "corpus")
    (tmp_path / "index").mkdir()
    (tmp_path / "data").mkdir()
    return tmp_path


@pytest.fixture
def settings(workdir: Path):
    cfg = workdir / "config.yaml"
    cfg.write_text(
        f"corpus_dir: {workdir / 'corpus'}\nindex_dir: {workdir / 'index'}\ndata_dir: {workdir / 'data'}\n"
        "chunking: {min_chars: 100, max_chars: 400}\n"
        "answer: {min_dense_match: 0.2}\n"  # the hash embedder's cosines are lower than e5's
        "logging: {file: null}\n", encoding="utf-8")
    return load_settings(cfg, environ={})


@pytest.fixture
def built_index(settings, embedder):
    return build_index(settings.corpus_dir, settings.index_dir, embedder,
                       min_chars=settings.chunking.min_chars, max_chars=settings.chunking.max_chars)


@pytest.fixture
def llm() -> ScriptedLLM:
    return ScriptedLLM()


@pytest.fixture
def core(settings, built_index, embedder, llm):
    """The real core on the fixture corpus, with scripted model backends."""
    from bot.app import Core

    c = Core(settings, llm=llm, embedder=embedder)
    yield c
    c.close()
