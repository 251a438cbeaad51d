"""LLM backends behind one small interface: local llama.cpp, or an OpenAI-compatible server."""
from __future__ import annotations

import json
import os
import threading
import urllib.request
from pathlib import Path
from typing import Callable, Iterator, Protocol

import numpy as np


class LLMError(Exception):
    """The model could not be loaded or did not answer."""


class LLM(Protocol):
    model_id: str

    def generate(self, system: str, user: str, *, grammar: str | None, max_tokens: int,
                 on_text: Callable[[str], None] | None = None, cancel: threading.Event | None = None,
                 drafts: bool = False) -> str:
        """Return the full completion; call `on_text` with each new piece; stop early on `cancel`.
        `drafts`: the output will mostly copy the prompt, so a backend may draft tokens from it."""


def _collect(pieces: Iterator[str], on_text, cancel) -> str:
    out = []
    for piece in pieces:
        if cancel is not None and cancel.is_set():
            break
        if piece:
            out.append(piece)
            if on_text:
                on_text(piece)
    return "".join(out)


class LlamaCppLLM:
    """One in-process llama.cpp model. A prompt's user part is always evaluated in the same batches,
    from the end of its system prompt (whose evaluated state is saved; the answer, translation …
    prompts never change), so the same prompt gets the same answer (the development set asked in
    reverse order gave the same answers). Resuming from whatever prefix the previous request left
    behind moved the batches, and greedy decoding followed the tiny numeric difference (1 of 28
    identical answer prompts answered differently in two runs). Only whole batches the previous
    prompt shares with this one are reused: they were evaluated exactly as they would be now."""

    def __init__(self, model_path: Path, *, n_ctx: int = 2048, threads: int = 2, draft_tokens: int = 8) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see embeddings.py
        self.model_path = Path(model_path)
        self.model_id = self.model_path.name
        self.n_ctx, self.threads, self.draft_tokens = n_ctx, threads, draft_tokens
        self._llm = None
        self._format = None
        self._drafter = None
        self._grammars: dict[str, object] = {}
        self._states: dict[str, object] = {}  # system prompt -> its evaluated state; prompts are constants
        self._batched = 0  # leading tokens of the live context evaluated in batches from their system prompt's end

    def load(self):
        if self._llm is None:
            if not self.model_path.is_file():
                raise LLMError(f"model file {self.model_path} is missing: run `python -m bot setup-model`")
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            from .prompt_lookup import LookupLlama, PromptLookup

            llm = LookupLlama(model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.threads,
                              n_threads_batch=self.threads, n_batch=128, verbose=False)
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise LLMError(f"{self.model_path.name} has no chat template: use an instruct model's GGUF")
            eos, bos = (llm.detokenize([t], special=True).decode() if t != -1 else ""
                        for t in (llm.token_eos(), llm.token_bos()))
            # The template the model was trained with, rendered as llama-cpp-python's chat completion does.
            self._format = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos,
                                               stop_token_ids=[llm.token_eos()])
            self._llm = llm
            self._drafter = PromptLookup(self.draft_tokens) if self.draft_tokens else None
        return self._llm

    def _prompt(self, system: str, user: str):
        result = self._format(messages=[{"role": "system", "content": system}, {"role": "user", "content": user}])
        tokens = self._llm.tokenize(result.prompt.encode(), add_bos=not result.added_special, special=True)
        return tokens, result

    def _system_state(self, system: str):
        """The evaluated state of the prompt up to where the user's text begins, found as the point
        where two prompts with different user texts part."""
        if system not in self._states:
            a, _ = self._prompt(system, "a")
            b, _ = self._prompt(system, "b")
            n = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
            self._llm.reset()
            self._llm.eval(a[:n])
            state = self._llm.save_state()
            state.scores = state.scores[-1:].copy()  # 1 row of logits, not 74 MB: the user's part recomputes them
            self._states[system] = state
        return self._states[system]

    def _grammar(self, text: str):
        from llama_cpp import LlamaGrammar

        if text not in self._grammars:
            self._grammars[text] = LlamaGrammar.from_string(text, verbose=False)
        return self._grammars[text]

    def _resume(self, system: str, tokens: list[int]) -> None:
        """Bring the live context to where this prompt's evaluation starts: the end of its system
        prompt, or past the whole batches it shares with the prompt before (a follow-up about the
        same top excerpt, a repeated question)."""
        llm, state = self._llm, self._system_state(system)
        start = state.n_tokens
        # Of the live context, only the previous prompt was evaluated in whole batches (its answer
        # token by token, or with its drafts); at least one token is left to evaluate, for fresh logits.
        n = min(llm.n_tokens, self._batched, len(tokens) - 1)
        differ = np.flatnonzero(llm.input_ids[:n] != np.asarray(tokens[:n]))
        shared = int(differ[0]) if len(differ) else n
        if shared < start:
            llm.load_state(state)
        else:
            llm.n_tokens = start + (shared - start) // llm.n_batch * llm.n_batch
        self._batched = len(tokens)

    def start_fresh(self) -> None:
        """The next request reuses nothing of the one before (benchmarks replay a prompt just run)."""
        self._batched = 0

    def generate(self, system, user, *, grammar, max_tokens, on_text=None, cancel=None, drafts=False) -> str:
        llm = self.load()
        tokens, prompt = self._prompt(system, user)
        self._resume(system, tokens)
        llm.draft_model = self._drafter if drafts else None
        stream = llm.create_completion(
            tokens, grammar=self._grammar(grammar) if grammar else None, temperature=0.0, top_k=1,
            max_tokens=max_tokens, stop=prompt.stop, stopping_criteria=prompt.stopping_criteria, stream=True)
        return _collect((c["choices"][0]["text"] for c in stream), on_text, cancel)


class OpenAICompatLLM:
    """An OpenAI-compatible chat server (llama.cpp server, vLLM, Ollama …), streamed over SSE.
    The GBNF grammar is sent as `grammar` (llama.cpp server); servers that ignore it still go
    through the same verification, which is what guarantees grounded answers."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout_s: float = 120) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_id = model
        self.api_key = api_key
        self.timeout_s = timeout_s

    def generate(self, system, user, *, grammar, max_tokens, on_text=None, cancel=None, drafts=False) -> str:
        body = {"model": self.model_id, "stream": True, "temperature": 0, "max_tokens": max_tokens,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
        if grammar:
            body["grammar"] = grammar
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(f"{self.base_url}/chat/completions", json.dumps(body).encode(), headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return _collect(self._events(resp), on_text, cancel)
        except OSError as exc:
            raise LLMError(f"the model server at {self.base_url} did not answer: {exc}") from None

    @staticmethod
    def _events(resp) -> Iterator[str]:
        for raw in resp:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                choice = json.loads(data)["choices"][0]
            except (ValueError, KeyError, IndexError):
                continue
            yield (choice.get("delta") or {}).get("content") or ""


def make_llm(settings) -> LLM:
    s = settings.llm
    if s.backend == "openai":
        key = settings.secrets.openai_api_key
        return OpenAICompatLLM(s.openai_base_url, s.openai_model,
                               api_key=key.get_secret_value() if key else None, timeout_s=s.request_timeout_s)
    return LlamaCppLLM(s.model_path, n_ctx=s.n_ctx, threads=s.threads, draft_tokens=s.draft_tokens)
