"""Wiring: settings → index, embedder, LLM, pipeline, answer service, store, admin service.

Front ends receive a `Core` and use only `core.service` (questions, feedback, passages) and
`core.admin` (admin commands); they never touch retrieval or the model directly.
"""
from __future__ import annotations

import logging
import threading

from .config import Settings
from .core.admin import AdminService
from .core.embeddings import Embedder, make_embedder
from .core.index import LoadedIndex, load_index
from .core.llm import LLM, make_llm
from .core.pipeline import AnswerPipeline
from .core.retrieval import Retriever
from .core.service import AnswerService, RateLimiter
from .core.store import DB_NAME, Store

log = logging.getLogger(__name__)


class Core:
    def __init__(self, settings: Settings, *, llm: LLM | None = None, embedder: Embedder | None = None,
                 builder=None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self.llm = llm or make_llm(settings)
        self.index = load_index(settings.index_dir)
        self._swap_lock = threading.Lock()
        a, lim = settings.answer, settings.limits
        self.store = Store(settings.data_dir / DB_NAME,
                           context=lambda: {"model": self.llm.model_id, "index_version": self.index.version})
        self.service = AnswerService(
            self._pipeline(self.index), queue_size=a.queue_size, time_limit_s=a.time_limit_s,
            max_question_chars=a.max_question_chars, history_turns=a.history_turns, history_ttl_s=a.history_ttl_s,
            limiter=RateLimiter(lim.per_user_per_minute, lim.global_per_minute), recorder=self.store,
            passage_lookup=self.passage)
        self.admin = AdminService(self, self.store, settings, builder=builder)

    def _pipeline(self, index: LoadedIndex) -> AnswerPipeline:
        s = self.settings
        retriever = Retriever.from_settings(index, self.embedder, s.retrieval)
        return AnswerPipeline(index, self.embedder, self.llm, passages=s.answer.passages,
                              max_tokens=s.llm.max_tokens, retriever=retriever, min_match=s.answer.min_dense_match,
                              translate=s.answer.translate_questions, back_translate=s.answer.back_translate_answers,
                              top_chars=s.answer.top_passage_chars)

    def passage(self, passage_id: str):
        index = self.index
        pos = index.by_id.get(passage_id)
        return index.passages[pos] if pos is not None else None

    def reload_index(self, version: str | None = None) -> str:
        """Load the current (or given) index version and switch answering to it."""
        index = load_index(self.settings.index_dir, version)
        pipeline = self._pipeline(index)
        with self._swap_lock:
            self.index, self.service.pipeline = index, pipeline  # the next question uses it
        log.info("answering from index %s", index.version)
        return index.version

    def close(self) -> None:
        self.service.close()
        self.store.close()

