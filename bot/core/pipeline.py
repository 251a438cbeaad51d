"""The answer pipeline: gates → retrieval → trimmed excerpts → constrained generation → verification
(→ a quoted sentence, when nothing the model wrote passes).

Every step that can refuse does so with a reason code (see answer.REASONS); the model is only
called when the question names nothing unknown and the corpus has something close to it.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import excerpts
from .answer import Answer, Citation
from .definitions import Definition, Definitions, asked_term, asked_term_en
from .embeddings import Embedder
from .excerpts import Excerpt, quoted_for, windows
from .index import LoadedIndex
from .llm import LLM
from .messages import t
from .names import Vocabulary, has_figure, unknown_terms
from .prompts import (BACK_TRANSLATE_PROMPT, EXCERPT, LANGUAGE_NAMES, ONE_LINE_GRAMMAR, PICK_PROMPT, PICK_USER,
                      SYSTEM_PROMPT, TRANSLATE_PROMPT, TRANSLATE_USER, USER_PROMPT, answer_grammar, pick_grammar)
from .relevance import TermWeights
from .retrieval import Hit, Retriever, SearchResult
from .service import Turn
from .text import (content_words, has_cyrillic, is_question, language, mixed_script, sentences, stems,
                   strip_markup)
from .verify import ModelOutput, Verdict, added_to, answer_closed, parse_output, partial_answer, verify

log = logging.getLogger(__name__)

# Gates, calibrated on the development set (docs/figures.md): below this e5 cosine for
# the best passage nothing is close enough; below MIN_COVERAGE of the question's IDF-weighted
# Russian words (an English question's: its translation's) in the best passages it is off-topic,
# and an answer citing a passage under MIN_CITED_COVERAGE answers something else than was asked.
MIN_DENSE_MATCH = 0.80
MIN_COVERAGE = 0.2
MIN_CITED_COVERAGE = 0.15
# A translation's words match the text less well than a Russian question's own (measured: those of
# answerable English questions cover 0.09-0.80 of their best passage, an off-topic one 0.0), so an
# English question gets this one lower bar in place of both above.
MIN_TRANSLATED_COVERAGE = 0.12
MIN_EXTRACT_COVERAGE = 0.4  # for answering an English question with a verbatim sentence when the model's words fail
# An English answer sentence of at least BACK_CHECK_WORDS words is kept only if this share of its Russian
# back-translation's word stems occurs in its passage. Measured on the English answers of both question
# sets: the made-up sentences the cross-language check let through scored 0.08-0.44, supported ones
# mostly 0.5-1.0. Shorter sentences ("TypeScript with Electron") carry only names and numbers, checked already;
# so does one that restates the question around a figure (`_adds_only_figures`), which a garbled
# back-translation of the question's words failed (0.44 for "The dataset … was 800,000.", a right answer).
MIN_BACK_TRANSLATED_SUPPORT = 0.5
BACK_CHECK_WORDS = 5
# A round trip costs 2-6 s on 2 cores: an English answer is its first sentence that passes verification
# (the model stops there), kept if its round trip passes. Measured on the 99 English questions of both
# sets: with two such sentences the answers were as often right (47 of 71) but p95 was 21.1 s, not 15.8 s;
# checking every sentence until two passed, the model wrote up to five and p95 was 27 s.
MAX_ENGLISH_SENTENCES = 1
# The model sometimes introduces a back-translation (2 of 71 measured: «Конечно, вот перевод на русский
# язык: "…"»); those words are not the sentence's and would count against its support.
_TRANSLATION_PREAMBLE = re.compile(r"^[^\"«:]{0,60}\bперевод\w*[^\"«:]{0,60}:\s*(?=[\"«])", re.I)
# Attempts to change the bot's rules; the model never sees them.
INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules?|prompts?|directions?)\b"
    r"|system prompt|developer mode|you are now|jailbreak|\bDAN\b"
    r"|(игнорир|забудь|забудьте|забыть|отмени|наруши)\w*.{0,40}(инструкц|правил|указани|промпт)"
    r"|системн\w* (промпт|инструкц)|теперь ты\b", re.I)
# A question for a quantity or a year: a quoted sentence answers it only if it has a figure, or a year.
QUANTITY = re.compile(r"\bhow (many|much|big|large)\b|\bсколько\b", re.I)
YEAR_ASKED = re.compile(r"\b(what|which) year\b|\bв каком году\b", re.I)
# Measured: "Кто основал Mistral AI и в каком году?" (f026, not in the text) got a quoted sentence whose
# figures were "7 млрд" parameters.
YEAR = re.compile(r"(?<![\d.,])(?:1[89]|20)\d\d(?![\d.,]?\d)")
TRANSLATION_TOKENS = 60  # ~190 Russian characters; a longer question's tail matters little for search
# A quoted article's bibliographic header («Автор: nick (Real Name) https://…»): it says who wrote the
# article and answers nothing asked about it, so it is never quoted as an answer.
_BYLINE = re.compile(r"\bАвтор(?: оригинала)?:\s")
_FOLLOWUP = re.compile(
    r"^\s*(а|и|но|ещ[её]|почему|зачем|а как|what else|and|why|how so|what about)\b"
    r"|\b(он|она|оно|они|его|е[её]|их|этот|это|этого|эту|эти|этом|тот|там|he|she|it|they|this|that|his|her|their)\b",
    re.I)


@dataclass
class Request:
    """One question on its way through the pipeline, and what each step learnt about it."""
    question: str  # as the user sent it
    asked: str  # its words, without markup
    lang: str
    cancel: threading.Event | None
    extra: str = ""  # the questions this one follows up on
    about: str = ""  # what a passage should cover: the follow-up's context, the translation, the question
    coverage: dict[str, float] = field(default_factory=dict)  # passage id → IDF-weighted share of `about`
    # The same from the Russian words alone (an English question's translation), without the English words
    # the text uses: the quoted fallbacks, calibrated on it, pick a sentence with no verified words of the
    # model's, and a few common words ("OpenAI", "hallucination") made them quote the wrong passage.
    strict_coverage: dict[str, float] = field(default_factory=dict)
    cited_floor: float = 0.0  # the least coverage of a passage an answer may be credited to
    term: str = ""  # X of a "что такое X?" question (of an English question's translation)
    definition: Definition | None = None  # the text's own «X - это …» or «… называется X»
    excerpts: list[Excerpt] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    t0: float = field(default_factory=time.perf_counter)

    @property
    def cyrillic(self) -> bool:
        return has_cyrillic(self.asked)

    @property
    def about_stems(self) -> set[str]:
        return set(stems(self.about))

    def shared(self, sentence: str) -> set[str]:
        """The word stems the sentence shares with the question and its context: a quoted sentence that
        shares none answers something else."""
        return self.about_stems & set(stems(sentence))

    def quotable(self, sentence: str) -> bool:
        """Could the sentence, quoted alone, answer the question? It must have a word that the
        question, with its context, has not, and not be an article's byline."""
        return bool(set(stems(sentence)) - self.about_stems) and not _BYLINE.search(sentence)

    @property
    def for_model(self) -> str:
        """The question as the model sees it: a follow-up names the question it follows."""
        return f"{self.asked} (follow-up to: {self.extra})" if self.extra else self.asked


def gives_figure(question: str, sentence: str) -> bool:
    """False when the question asks for a quantity and the sentence has no figure, or for a year and
    it names none."""
    if YEAR_ASKED.search(question):
        return bool(YEAR.search(sentence))
    return not QUANTITY.search(question) or has_figure(sentence)


def _adds_only_figures(req: Request, sentence: str) -> bool:
    """Does the sentence add only figures to the question's words ("The dataset … was 800,000.")?
    verify() found those figures in the sentence's passage; a round trip has no word of it to check."""
    words, figures = added_to(req.about, sentence)
    return bool(figures) and all(any(ch.isdigit() for ch in w) for w in words)


def to_russian(llm: LLM, question: str, cancel: threading.Event | None = None) -> str:
    """The model's Russian translation of an English question (for search only, never shown)."""
    text = llm.generate(TRANSLATE_PROMPT, TRANSLATE_USER.format(question=question), grammar=ONE_LINE_GRAMMAR,
                        max_tokens=TRANSLATION_TOKENS, cancel=cancel)
    return " ".join(text.split())


def is_followup(question: str) -> bool:
    return len(question.split()) <= 10 and bool(_FOLLOWUP.search(question))


def followup_context(question: str, history: list[Turn]) -> str:
    """The earlier questions a follow-up continues, back to the last one that stood on its own
    ("Что такое галлюцинации?" → "А почему они возникают?" → "А как их уменьшить?")."""
    if not history or not is_followup(question):
        return ""
    chain = []
    for turn in reversed(history):
        chain.insert(0, turn.question)
        if not is_followup(turn.question):
            break
    return " ".join(chain)


class AnswerPipeline:
    def __init__(self, index: LoadedIndex, embedder: Embedder, llm: LLM, *, passages: int = 3,
                 max_tokens: int = 120, retriever: Retriever | None = None,
                 min_match: float = MIN_DENSE_MATCH, translate: bool = True, back_translate: bool = True,
                 top_chars: int = 1300) -> None:
        self.index = index
        self.embedder = embedder
        self.llm = llm
        self.n_passages = passages
        self.max_tokens = max_tokens
        self.min_match = min_match
        self.translate = translate
        self.back_translate = back_translate
        self.top_chars = top_chars
        self.retriever = retriever or Retriever(index, embedder)
        self.vocab = Vocabulary([p.text for p in index.passages] + [p.section for p in index.passages])
        self.weights = TermWeights(index.passages)
        self.definitions = Definitions(index.passages)

    # --- steps -----------------------------------------------------------------------------

    def _refuse(self, req: Request, reason: str, hits: list[Hit] = (), **kw) -> Answer:
        text = t(reason, req.lang, **kw)
        titles = list(dict.fromkeys(h.passage.section for h in hits))[:3]
        if titles and reason == "unsupported":
            text += "\n" + t("look_at", req.lang, titles="; ".join(f"«{x}»" for x in titles))
        return Answer(question=req.question, lang=req.lang, refused=True, text=text, reason=reason,
                      suggestions=titles if reason == "unsupported" else [])

    def _citation(self, n: int, ex: Excerpt) -> Citation | None:
        p = ex.hit.passage
        lines = self.index.sources[p.source].locate(ex.quote, near_line=p.line_start)
        if lines is None:  # never show a quote that is not in the source
            log.error("quote not verbatim in %s: %r", p.source, ex.quote[:80])
            return None
        return Citation(n, p.id, p.source, p.section, p.date, lines[0], lines[1], ex.quote)

    # --- the pipeline ----------------------------------------------------------------------

    def answer(self, question: str, history: list[Turn], on_partial: Callable[[str], None] | None = None,
               cancel: threading.Event | None = None) -> tuple[Answer, list[str]]:
        asked = strip_markup(question) or question  # tags and link targets are not what is asked
        req = Request(question, asked, language(asked), cancel)
        if INJECTION.search(asked):
            return self._refuse(req, "injection"), []
        unknown = unknown_terms(asked, self.vocab)
        req.term = asked_term(asked) if req.cyrillic else ""  # an English question's: from its translation
        if not unknown and self._never_named(req.term):
            unknown = [req.term]
        if unknown:
            return self._refuse(req, "unknown_entity", names=", ".join(f"«{x}»" for x in unknown[:3])), []
        req.extra = followup_context(asked, history)
        result = self._retrieve(req)
        if result is None:
            return self._refuse(req, "no_match"), []
        hits = result.hits
        req.excerpts = self._excerpts(req, result)
        req.timings["sources_ms"] = (time.perf_counter() - req.t0) * 1000

        check = self._checker(req)
        # A draft never shows what the final answer drops, and English sentences are back-translated only
        # once the model is done: an English answer is shown whole.
        round_trip = req.lang == "en" and self.back_translate
        parsed = parse_output(self._generate(req, None if round_trip else on_partial, check,
                                             enough=MAX_ENGLISH_SENTENCES if round_trip else 0))
        verdict = check(parsed) if parsed else None
        if verdict and round_trip:
            self._back_check(req, verdict)
        if verdict:
            for sentence, why in verdict.dropped:
                log.info("dropped answer sentence (%s): %r", why, sentence[:120])
        answer = (verdict and self._compose(req, verdict)) or \
            (parsed and (self._extract(req, parsed) or self._pick(req))) or \
            self._refuse(req, "unsupported", hits)
        answer.timings = req.timings
        return answer, [h.passage.id for h in hits]

    def _retrieve(self, req: Request) -> SearchResult | None:
        """The best passages, or None when nothing in the corpus is close to the question. Sets what
        the passages should cover (`req.about`) and how much of it each one does."""
        k = max(self.n_passages, 5)
        result = self.retriever.search(req.asked, k=k, extra=req.extra)
        if not result.hits or result.lead_dense < self.min_match:  # nothing close: no model call at all
            return None
        russian = ""
        if not req.cyrillic and self.translate:
            # The corpus is Russian: an English question is searched (and excerpt sentences picked) in Russian too.
            russian = self._translate(req)
        context = f"{req.extra} {russian}".strip()
        if russian:
            # Keyword search finds the text's «Дурсль» for a translation's "Dursley" only by its spelling.
            spelled = " ".join(dict.fromkeys(self.weights.spelled(f"{req.asked} {russian}")))
            result = self.retriever.search(req.asked, k=k, extra=f"{context} {spelled}".strip())
        req.timings["retrieve_ms"] = result.embed_ms + result.search_ms
        req.about = f"{context} {req.asked}".strip()  # a follow-up is about the previous question too
        # How much of the question (its Russian words: the translation of an English one) a passage covers.
        words = req.about if req.cyrillic else context
        if russian:
            req.term = asked_term(russian)
            # Checked like a Russian question's, once there are Russian words; but a garbled translation
            # («незаполненное предложение» for "zero-shot prompting") must not deny a term the user wrote
            # and the text has, word for word (the vocabulary's looser matches would let "constitutional" pass).
            english = content_words(asked_term_en(req.asked))
            if self._never_named(req.term) and not (english and english[0] in self.vocab.tokens):
                return None
        req.definition = self._definition(req.term, result)
        positions = {h.passage.id: self.index.by_id[h.passage.id] for h in result.hits}
        req.strict_coverage = req.coverage = {pid: self.weights.coverage(words, pos) for pid, pos in positions.items()}
        if russian:
            # The text keeps many terms in English ("zero-shot", "LSTM", "knowledge distillation"), and a
            # translation garbles exactly those: a passage covers an English question as much as it covers
            # the translation, or the translation with the question's own words that the text uses.
            wider = " ".join([words] + [w for w in content_words(req.asked) if self.weights.uses(w)])
            req.coverage = {pid: max(req.strict_coverage[pid], self.weights.coverage(wider, pos))
                            for pid, pos in positions.items()}
        if req.cyrillic:
            gate, req.cited_floor = MIN_COVERAGE, MIN_CITED_COVERAGE
        else:  # without a translation (turned off) there are no Russian words to measure
            gate = req.cited_floor = MIN_TRANSLATED_COVERAGE if russian else 0.0
        # A definition of what was asked is about the question whatever its words' coverage.
        return result if req.definition or max(req.coverage.values()) >= gate else None

    def _never_named(self, term: str) -> bool:
        """Does the text never use the first word of the term asked about ("Что такое федеративное
        обучение?")? It cannot define what it never names. Only the first word: the words after it
        are often the user's own qualifiers ("галлюцинации нейросеток"). A word that mixes Cyrillic and
        Latin letters is a translation's half-translated term («KV-кэш» for the text's "KV-cache"), not
        the user's: it is not judged."""
        words = content_words(term)
        return bool(words) and not self.vocab.knows(words[0]) and not mixed_script(words[0])

    def _definition(self, term: str, result: SearchResult) -> Definition | None:
        """The text's definition of the term a "что такое X?" question asks about; its passage
        becomes the first hit."""
        if not term:
            return None
        sims = result.similarities
        found = self.definitions.best(term, lambda pos: float(sims[pos]))
        if found:
            passage = self.index.passages[found.position]
            first = next((h for h in result.hits if h.passage.id == passage.id), None) or \
                Hit(passage, result.hits[0].score, float(sims[found.position]))
            result.hits = [first] + [h for h in result.hits if h is not first]
        return found

    def _translate(self, req: Request) -> str:
        t0 = time.perf_counter()
        text = to_russian(self.llm, req.asked, req.cancel)
        req.timings["translate_ms"] = (time.perf_counter() - t0) * 1000
        return text

    def _excerpts(self, req: Request, result: SearchResult) -> list[Excerpt]:
        # Russian questions find their passage first 28 times in 35 (development set), English ones,
        # even translated, 16 in 27: a Russian question gets one excerpt less (a third less prompt).
        n = self.n_passages - 1 if req.cyrillic and self.n_passages > 1 else self.n_passages
        # The top passage of an English question gets a second excerpt in place of the last
        # passage: its sentences are picked by the translation's words, which often miss the
        # answer (development set: gold lines in the excerpts for 19 English questions of 27, not 15).
        counts = [1] * n if req.cyrillic or n < 2 else [2] + [1] * (n - 2)
        limits = [excerpts.TOP_WINDOW_CHARS] + [excerpts.WINDOW_CHARS] * (len(counts) - 1)
        defined = req.definition and self.index.passages[req.definition.position].id
        quotes = [(h, q) for h, c, limit in zip(result.hits, counts, limits)
                  for q in windows(req.about, h.passage, self._closeness(h, result), c, limit,
                                   req.definition if h.passage.id == defined else None)]
        found = [Excerpt(i + 1, h, q) for i, (h, q) in enumerate(quotes)]
        if req.cyrillic and found:  # the model sees a Russian question's top passage whole (excerpts.py)
            top = found[0]
            passage = top.hit.passage
            text = passage.text.strip() if len(passage.text) <= self.top_chars else windows(
                req.about, passage, self._closeness(top.hit, result), 1, self.top_chars,
                req.definition if passage.id == defined else None)[0]
            # A longer passage's two windows need not nest; its quote must be part of what the model saw.
            top.text = text if top.quote in text else ""
        return found

    def _closeness(self, hit: Hit, result: SearchResult) -> np.ndarray:
        """Cosine of the question with each sentence of the hit's passage."""
        return self.index.sentence_similarities(self.index.by_id[hit.passage.id], result.query_vector)

    def _generate(self, req: Request, on_partial, check, enough: int = 0) -> str:
        """Run the model. The caller sees only sentences that already pass verification: a draft
        never shows an invented sentence that the final answer would drop. The model stops once its
        answer text has ended with a sentence that passed, or once `enough` sentences passed: the
        output is cut like one at the token limit, its citations unwritten. verify() credits each
        sentence to the excerpt that supports it best whatever the model cites, so the citations
        (7 tokens) are written only when nothing passed, for `_extract`, which follows them."""
        prompt = USER_PROMPT.format(excerpts="\n".join(EXCERPT.format(n=e.n, text=e.given) for e in req.excerpts),
                                    question=req.for_model, language=LANGUAGE_NAMES[req.lang])
        raw, first, shown, checked = [], [], [], []
        given = [e.n for e in req.excerpts]
        stop = threading.Event()  # the request is cancelled, or the answer has passed

        def on_text(piece: str) -> None:
            if not first:
                first.append(time.perf_counter())
            raw.append(piece)
            if req.cancel is not None and req.cancel.is_set():
                stop.set()
            text = "".join(raw)
            closed = answer_closed(text)
            done = sentences(partial_answer(text))
            complete = done if closed else done[:-1]  # the last one may still grow
            if len(complete) <= len(checked):
                return
            for sentence in complete[len(checked):]:
                verdict = check(ModelOutput(sentence, given))
                checked.append(verdict.sentences[0] if verdict.ok else None)
            passed = [x for x in checked if x]
            if passed and (closed or (enough and len(passed) >= enough)):
                stop.set()
            draft = " ".join(x for x, _ in passed)
            if on_partial and draft:
                if not shown:
                    shown.append(time.perf_counter())
                on_partial(draft)

        g0 = time.perf_counter()
        output = self.llm.generate(SYSTEM_PROMPT, prompt, grammar=answer_grammar(len(req.excerpts)),
                                   max_tokens=self.max_tokens, on_text=on_text, cancel=stop,
                                   drafts=req.lang == "ru")  # a Russian answer copies its Russian excerpts
        req.timings["generate_ms"] = (time.perf_counter() - g0) * 1000
        if first:
            req.timings["first_token_ms"] = (first[0] - req.t0) * 1000
        if shown:
            req.timings["first_sentence_ms"] = (shown[0] - req.t0) * 1000  # the first verified text a user sees
        return output

    def _checker(self, req: Request):
        """verify() bound to this request's excerpts (embeddings computed once, on demand)."""
        by_n = {e.n: e for e in req.excerpts}
        passages = {e.n: f"{e.hit.passage.section} {e.hit.passage.text}" for e in req.excerpts}
        excerpt_vectors, sentence_vectors = {}, {}

        def similarity(sentence: str, n: int) -> float:
            if n not in excerpt_vectors:
                excerpt_vectors[n] = self.embedder.embed_passages([by_n[n].given])[0]
            if sentence not in sentence_vectors:
                sentence_vectors[sentence] = self.embedder.embed_query(sentence)
            return float(sentence_vectors[sentence] @ excerpt_vectors[n])

        def check(output: ModelOutput) -> Verdict:
            verdict = verify(output, passages, question=req.about, lang=req.lang, similarity=similarity)
            # The passage a sentence is attributed to must be about the question.
            off = [(x, n) for x, n in verdict.sentences if req.coverage[by_n[n].hit.passage.id] < req.cited_floor]
            verdict.dropped += [(x, "its passage does not cover the question") for x, _ in off]
            verdict.sentences = [x for x in verdict.sentences if x not in off]
            return verdict

        return check

    def _back_check(self, req: Request, verdict: Verdict) -> None:
        """Drop the English sentences whose Russian back-translation is not in the passage they are
        credited to (the word-level check a Russian answer sentence gets). Only the first
        MAX_ENGLISH_SENTENCES are checked; the model stopped there (`_generate`)."""
        by_n = {e.n: e for e in req.excerpts}
        t0 = time.perf_counter()
        kept = []
        later = verdict.sentences[MAX_ENGLISH_SENTENCES:]
        verdict.dropped += [(x, "the answer has its sentences already") for x, _ in later]
        for sentence, n in verdict.sentences[:MAX_ENGLISH_SENTENCES]:
            if len(sentence.split()) >= BACK_CHECK_WORDS and not _adds_only_figures(req, sentence):
                russian = _TRANSLATION_PREAMBLE.sub("", self.llm.generate(
                    BACK_TRANSLATE_PROMPT, sentence, grammar=ONE_LINE_GRAMMAR, max_tokens=self.max_tokens,
                    cancel=req.cancel))
                words = set(stems(russian))
                have = self.weights.stems[self.index.by_id[by_n[n].hit.passage.id]]
                if words and len(words & have) < MIN_BACK_TRANSLATED_SUPPORT * len(words):
                    verdict.dropped.append((sentence, f"its back-translation is not in its passage: {russian!r}"))
                    continue
            kept.append((sentence, n))
        verdict.sentences = kept
        req.timings["back_translate_ms"] = (time.perf_counter() - t0) * 1000

    def _extract(self, req: Request, parsed: ModelOutput) -> Answer | None:
        """The model pointed at an excerpt but wrote nothing verifiable: answer with one of the
        excerpt's sentences, verbatim. A sentence the model copied from it is its pick, and needs the
        excerpt to cover the question as much as any answer does (`cited_floor`): English
        questions often get the Russian sentence copied, which verification drops as the wrong
        language. Otherwise, for an English question, the sentence that best matches the question
        if the excerpt is clearly about it (MIN_EXTRACT_COVERAGE): its answer often fails only the
        coarse cross-language check. Not for a Russian one, whose answer failed the word-level check:
        the best-matching sentence was a guess (development set, read one by one: 0 of 2 held the
        answer, against 3 of 6 for English). An English question gets the quote framed in English."""
        cited = [e for e in req.excerpts if e.n in parsed.citations]
        if not cited:
            return None
        covered = req.strict_coverage[cited[0].hit.passage.id]
        copied = [x for x in sentences(parsed.answer)
                  if len(x.split()) >= 3 and x in cited[0].given and req.quotable(x)]
        # The text's own questions share the most words with a question, and answer nothing.
        candidates = [x for x in sentences(cited[0].quote) if req.quotable(x) and not is_question(x)]
        if copied and covered >= req.cited_floor:
            best = copied[0]
        elif req.lang == "en" and candidates and covered >= MIN_EXTRACT_COVERAGE:
            best = max(candidates, key=lambda x: len(req.shared(x)))
            if not req.shared(best):
                return None
        else:
            return None
        return self._quoted(req, cited[0], best)

    def _pick(self, req: Request) -> Answer | None:
        """The model answered but nothing it wrote passed verification: let it pick, by number, the
        excerpt sentence that answers the question (a few tokens), and quote that sentence."""
        options = [(e, x) for e in req.excerpts if req.strict_coverage[e.hit.passage.id] >= req.cited_floor
                   for x in sentences(e.quote) if len(x.split()) >= 3 and req.quotable(x)]
        if not options:
            return None
        listing = "\n".join(f"[{k}] {x}" for k, (_, x) in enumerate(options, 1))
        t0 = time.perf_counter()
        raw = self.llm.generate(PICK_PROMPT, PICK_USER.format(sentences=listing, question=req.for_model),
                                grammar=pick_grammar(len(options)), max_tokens=4, cancel=req.cancel)
        req.timings["pick_ms"] = (time.perf_counter() - t0) * 1000
        k = int(raw) if raw.strip().isdigit() else 0
        # The text's own questions stay listed, as the context of the sentence after them («Вы смотрели
        # фильм "Идиократия"? Там тоже всем рулил компьютер»), but one of them answers nothing.
        if not 1 <= k <= len(options) or is_question(options[k - 1][1]):
            return None
        # As for `_extract`, a pick must share a word with the question. In the runs of both sets on cb1d251
        # the 3 picks that shared none, all held-out (h007, f001, f015), were wrong; 19 of the 20 others right.
        if not req.shared(options[k - 1][1]):
            return None
        return self._quoted(req, *options[k - 1])

    def _quoted(self, req: Request, excerpt: Excerpt, sentence: str) -> Answer | None:
        """An answer that is one sentence of an excerpt, verbatim; framed in English for an English question."""
        if not gives_figure(req.question, sentence):
            return None
        citation = self._citation(1, Excerpt(excerpt.n, excerpt.hit, sentence))
        if citation is None:
            return None
        text = t("quoted_answer", req.lang, quote=sentence) + " [1]"
        return Answer(question=req.question, lang=req.lang, refused=False, text=text, citations=[citation])

    def _compose(self, req: Request, verdict: Verdict) -> Answer | None:
        """The verified sentences with citations renumbered 1, 2 … in order of use; None if none."""
        by_n = {e.n: e for e in req.excerpts}
        shown: dict[int, Citation] = {}
        parts = []
        for sentence, n in verdict.sentences:
            if n not in shown:  # quoted where the answer's sentences credited to it are
                said = " ".join(x for x, m in verdict.sentences if m == n)
                if c := self._citation(len(shown) + 1, quoted_for(by_n[n], said)):
                    shown[n] = c
            if n in shown:
                parts.append(f"{sentence} [{shown[n].n}]")
        # An answer to "what is X?" that never names X is about something else ("The accuracy of
        # this method is 58%." for "What is chain-of-thought?").
        if not parts or (req.term and not req.shared(" ".join(parts))):
            return None
        return Answer(question=req.question, lang=req.lang, refused=False, text=" ".join(parts),
                      citations=list(shown.values()))
