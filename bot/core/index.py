"""Versioned hybrid index: SQLite (passages + FTS5 over stems) and FAISS (dense), per version.

Layout of `index/`:
    CURRENT                       name of the live version (replaced atomically)
    versions/<name>/manifest.json corpus hashes, chunking, embedding model, build time
    versions/<name>/passages.db   passages, FTS5 table, a copy of each source file
    versions/<name>/vectors.faiss inner-product index of normalised vectors (row i = passage rowid i+1)
    versions/<name>/sections.faiss one vector per section title
    versions/<name>/units.faiss   one vector per sentence of each passage, in passage order
    embeddings.db                 cache: embedded-text hash → vector (so rebuilds embed only changes)
    seed-embeddings.npz           shipped cache for the shipped corpus (a fresh clone embeds nothing)

A build writes `versions/.building-<name>`, renames it when complete, then switches CURRENT;
an interrupted build never touches the live version.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import faiss
import numpy as np
import sqlite_utils

from .corpus import Document, Passage, SourceText, parse_corpus
from .embeddings import Embedder, embedding_text
from .text import sentence_spans, stems

FORMAT = 3  # 2: section-title vectors (sections.faiss); 3: sentence vectors (units.faiss)
KEEP_VERSIONS = 3


class IndexUnavailable(Exception):
    """The index is missing, corrupt or cannot be built; the message says what to do."""


@dataclass
class Progress:
    stage: str  # "parse" | "embed" | "write" | "done"
    done: int = 0
    total: int = 0
    eta_s: float | None = None


ProgressFn = Callable[[Progress], None]


@dataclass
class BuildReport:
    version: str
    changed: bool  # False: the live index already matched the corpus
    passages: int
    added: int = 0
    removed: int = 0
    embedded: int = 0
    sources_added: list[str] = field(default_factory=list)
    sources_removed: list[str] = field(default_factory=list)
    sources_changed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.changed:
            return f"index {self.version} is up to date ({self.passages} passages); nothing changed"
        parts = [f"built index {self.version}: {self.passages} passages",
                 f"+{self.added} / -{self.removed} passages", f"{self.embedded} embedded",
                 f"{self.seconds:.1f} s"]
        for label, names in (("new", self.sources_added), ("changed", self.sources_changed),
                             ("removed", self.sources_removed)):
            if names:
                parts.append(f"{label}: {', '.join(names)}")
        return "; ".join(parts)


# --- embedding cache -----------------------------------------------------------------------

class EmbeddingCache:
    def __init__(self, index_dir: Path, model_id: str, dim: int) -> None:
        self.model_id, self.dim = model_id, dim
        path = index_dir / "embeddings.db"
        fresh = not path.exists()
        index_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("pragma journal_mode=wal")
        self.db.execute("create table if not exists embeddings (hash text primary key, model text, vector blob)")
        seed = index_dir / "seed-embeddings.npz"
        if fresh and seed.exists():
            self._import_seed(seed)

    def _import_seed(self, seed: Path) -> None:
        data = np.load(seed, allow_pickle=False)
        if str(data["model"]) != self.model_id:
            return
        rows = ((h, self.model_id, v.astype(np.float32).tobytes()) for h, v in zip(data["hashes"], data["vectors"]))
        with self.db:
            self.db.executemany("insert or ignore into embeddings values (?, ?, ?)", rows)

    def get(self, hashes: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for i in range(0, len(hashes), 500):
            chunk = hashes[i: i + 500]
            q = f"select hash, vector from embeddings where model = ? and hash in ({','.join('?' * len(chunk))})"
            for h, blob in self.db.execute(q, [self.model_id, *chunk]):
                out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put(self, items: dict[str, np.ndarray]) -> None:
        with self.db:
            self.db.executemany("insert or replace into embeddings values (?, ?, ?)",
                                [(h, self.model_id, v.astype(np.float32).tobytes()) for h, v in items.items()])

    def export_seed(self, path: Path, hashes: list[str]) -> None:
        vecs = self.get(hashes)
        keep = [h for h in hashes if h in vecs]
        # Half precision keeps the shipped file small (10 MB for 14k vectors); cosines move by < 0.0001
        # (measured on the shipped corpus: at most 2.9e-5).
        np.savez_compressed(path, model=np.array(self.model_id), hashes=np.array(keep),
                            vectors=np.stack([vecs[h] for h in keep]).astype(np.float16))

    def close(self) -> None:
        self.db.close()


def unit_texts(p: Passage) -> list[str]:
    """The passage's sentences as embedded (a long one by its start: the cost grows with its length)."""
    return [p.text[a:b][:300] for a, b in sentence_spans(p.text)]


def embedded_texts(passages: list[Passage]) -> list[str]:
    """What a build embeds: every passage (with its title); every section's title, in order of first
    appearance — retrieval uses a title's similarity as a prior for its passages; then every sentence
    of every passage, in passage order — retrieval reranks its best passages by their best sentences."""
    titles = {(p.source, p.section_no): p.section for p in passages}
    return [embedding_text(p) for p in passages] + list(titles.values()) + [u for p in passages for u in unit_texts(p)]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- versions ------------------------------------------------------------------------------

class IndexDir:
    """The versions under `index/` and the CURRENT pointer."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions_dir = root / "versions"

    def current(self) -> str | None:
        try:
            name = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return name if name and (self.versions_dir / name / "manifest.json").exists() else None

    def versions(self) -> list[str]:
        if not self.versions_dir.is_dir():
            return []
        return sorted(p.name for p in self.versions_dir.iterdir()
                      if not p.name.startswith(".") and (p / "manifest.json").exists())

    def next_number(self) -> int:
        """Versions are numbered so that their names sort in build order."""
        numbers = [int(n[1:5]) for n in self.versions() if n[:1] == "v" and n[1:5].isdigit()]
        return max(numbers, default=0) + 1

    def manifest(self, name: str) -> dict:
        return json.loads((self.versions_dir / name / "manifest.json").read_text())

    def switch(self, name: str) -> None:
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(name + "\n")
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.root / "CURRENT")

    def previous(self) -> str | None:
        cur, names = self.current(), self.versions()
        older = [n for n in names if cur is None or n < cur]
        return older[-1] if older else None

    def prune(self, keep: int = KEEP_VERSIONS) -> None:
        cur = self.current()
        for name in self.versions()[:-keep]:
            if name != cur:
                shutil.rmtree(self.versions_dir / name, ignore_errors=True)
        if self.versions_dir.is_dir():
            for p in self.versions_dir.glob(".building-*"):
                shutil.rmtree(p, ignore_errors=True)


# --- build ---------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest_key(sources: dict, chunking: dict, model_id: str, fmt: int = FORMAT) -> dict:
    return {"format": fmt, "sources": {k: v["sha256"] for k, v in sources.items()},
            "chunking": chunking, "embedding_model": model_id}


def build_index(corpus_dir: Path, index_dir: Path, embedder: Embedder, *, min_chars: int = 600,
                max_chars: int = 1200, progress: ProgressFn | None = None, force: bool = False,
                batch: int = 8) -> BuildReport:
    """Build a new index version from `corpus_dir` and switch to it (unless nothing changed)."""
    t0 = time.perf_counter()
    report = progress or (lambda p: None)
    report(Progress("parse"))
    docs = parse_corpus(corpus_dir, min_chars, max_chars)
    sources = {d.source.name: {"sha256": _sha256(corpus_dir / d.source.name),
                               "bytes": (corpus_dir / d.source.name).stat().st_size,
                               "passages": len(d.passages)} for d in docs}
    chunking = {"min_chars": min_chars, "max_chars": max_chars, "parser": "samizdat+plain/1"}
    key = _manifest_key(sources, chunking, embedder.model_id)
    idx = IndexDir(index_dir)
    cur = idx.current()
    old = idx.manifest(cur) if cur else None
    passages = [p for d in docs for p in d.passages]
    if old and not force and key == _manifest_key(old["sources"], old["chunking"], old["embedding"]["model"],
                                                   old["format"]):
        return BuildReport(cur, False, len(passages), seconds=time.perf_counter() - t0)

    texts = embedded_texts(passages)
    hashes = [text_hash(x) for x in texts]
    cache = EmbeddingCache(index_dir, embedder.model_id, embedder.dim)
    try:
        vectors = cache.get(hashes)
        todo = sorted({h: i for i, h in enumerate(hashes) if h not in vectors}.values())
        started = time.perf_counter()
        for k in range(0, len(todo), batch):
            ids = todo[k: k + batch]
            embs = embedder.embed_passages([texts[i] for i in ids])
            new = {hashes[i]: e for i, e in zip(ids, embs)}
            cache.put(new)  # saved per batch: an interrupted build resumes where it stopped
            vectors.update(new)
            done = k + len(ids)
            rate = done / max(time.perf_counter() - started, 1e-6)
            report(Progress("embed", done, len(todo), (len(todo) - done) / rate))
    finally:
        cache.close()

    report(Progress("write", 0, len(passages)))
    built = datetime.now(timezone.utc)
    name = f"v{idx.next_number():04d}-" + built.strftime("%Y%m%d-%H%M%S-") + \
        hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]
    idx.versions_dir.mkdir(parents=True, exist_ok=True)
    tmp = idx.versions_dir / f".building-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    matrix = np.stack([vectors[h] for h in hashes]).astype(np.float32)
    faiss.normalize_L2(matrix)
    _write_db(tmp / "passages.db", docs, passages)
    n, titles = len(passages), len({(p.source, p.section_no) for p in passages})
    for name_, rows in (("vectors.faiss", matrix[:n]), ("sections.faiss", matrix[n: n + titles]),
                        ("units.faiss", matrix[n + titles:])):
        flat = faiss.IndexFlatIP(embedder.dim)
        flat.add(rows)
        faiss.write_index(flat, str(tmp / name_))
    old_ids = set(_passage_ids(idx, cur)) if cur else set()
    new_ids = {p.id for p in passages}
    manifest = {
        "format": FORMAT, "version": name, "built_at": built.isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - t0, 2), "sources": sources, "chunking": chunking,
        "embedding": {"model": embedder.model_id, "dim": embedder.dim}, "passages": len(passages),
        "fts": {"stemmer": "snowball russian+english", "tokenizer": "unicode61"},
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    os.replace(tmp, idx.versions_dir / name)
    idx.switch(name)
    idx.prune()
    old_sources = old["sources"] if old else {}
    report(Progress("done", len(passages), len(passages)))
    return BuildReport(
        name, True, len(passages), added=len(new_ids - old_ids), removed=len(old_ids - new_ids),
        embedded=len(todo),
        sources_added=sorted(set(sources) - set(old_sources)),
        sources_removed=sorted(set(old_sources) - set(sources)),
        sources_changed=sorted(s for s in sources if s in old_sources and old_sources[s]["sha256"] != sources[s]["sha256"]),
        seconds=time.perf_counter() - t0,
    )


def _passage_ids(idx: IndexDir, name: str) -> list[str]:
    db = sqlite3.connect(f"file:{idx.versions_dir / name / 'passages.db'}?mode=ro", uri=True)
    try:
        return [r[0] for r in db.execute("select id from passages")]
    finally:
        db.close()


def _write_db(path: Path, docs: list[Document], passages: list[Passage]) -> None:
    db = sqlite_utils.Database(path)
    db["sources"].insert_all(({"name": d.source.name, "content": "\n".join(d.source.lines)} for d in docs), pk="name")
    db["passages"].insert_all((
        {"rowid": i + 1, "id": p.id, "source": p.source, "section_no": p.section_no, "section": p.section,
         "date": p.date, "part": p.part, "line_start": p.line_start, "line_end": p.line_end,
         "voice": p.voice, "text": p.text, "stems": " ".join(stems(f"{p.section} {p.text}"))}
        for i, p in enumerate(passages)), pk="rowid", batch_size=500)
    db["passages"].create_index(["id"], unique=True)
    db["passages"].enable_fts(["stems"], create_triggers=False)
    db.close()


# --- loading -------------------------------------------------------------------------------

@dataclass
class LoadedIndex:
    version: str
    manifest: dict
    db: sqlite3.Connection
    faiss: faiss.Index
    passages: list[Passage]  # position i = FAISS row i = rowid i+1
    by_id: dict[str, int]
    sources: dict[str, SourceText]
    sections: faiss.Index  # one vector per section title, in order of first appearance
    section_of: np.ndarray  # passage position → row in `sections`
    same_prev: np.ndarray  # passage i-1 is in the same section as passage i
    units: np.ndarray  # one normalised vector per sentence (`unit_texts`), in passage order
    unit_start: np.ndarray  # passage i's sentences are rows unit_start[i]:unit_start[i + 1] of `units`

    def sentence_similarities(self, position: int, vector: np.ndarray) -> np.ndarray:
        """Cosine of `vector` with each sentence of passage `position`, in text order (`text.sentence_spans`)."""
        return self.units[self.unit_start[position]: self.unit_start[position + 1]] @ vector


def load_index(index_dir: Path, version: str | None = None) -> LoadedIndex:
    idx = IndexDir(index_dir)
    name = version or idx.current()
    if not name:
        raise IndexUnavailable(f"no index in {index_dir}: run `python -m bot index`")
    folder = idx.versions_dir / name
    try:
        manifest = idx.manifest(name)
        db = sqlite3.connect(f"file:{folder / 'passages.db'}?mode=ro", uri=True, check_same_thread=False)
        rows = db.execute("select id, source, section_no, section, date, part, line_start, line_end, voice, text "
                          "from passages order by rowid").fetchall()
        passages = [Passage(*r) for r in rows]
        sources = {n: SourceText(n, c.split("\n")) for n, c in db.execute("select name, content from sources")}
        vectors = faiss.read_index(str(folder / "vectors.faiss"))
        sections = faiss.read_index(str(folder / "sections.faiss"))
        units = faiss.read_index(str(folder / "units.faiss"))
    except (OSError, sqlite3.Error, RuntimeError, ValueError, KeyError) as exc:
        raise IndexUnavailable(f"index {name} is unreadable ({exc}): run `python -m bot index --force`") from None
    if vectors.ntotal != len(passages) or not passages:
        raise IndexUnavailable(f"index {name} is inconsistent ({vectors.ntotal} vectors, {len(passages)} passages): "
                          "run `python -m bot index --force`")
    keys = list(dict.fromkeys((p.source, p.section_no) for p in passages))
    if sections.ntotal != len(keys):
        raise IndexUnavailable(f"index {name} is inconsistent ({sections.ntotal} section vectors, {len(keys)} "
                               "sections): run `python -m bot index --force`")
    unit_start = np.cumsum([0] + [len(sentence_spans(p.text)) for p in passages])
    if units.ntotal != unit_start[-1]:
        raise IndexUnavailable(f"index {name} is inconsistent ({units.ntotal} sentence vectors, {unit_start[-1]} "
                               "sentences): run `python -m bot index --force`")
    row = {k: i for i, k in enumerate(keys)}
    section_of = np.array([row[(p.source, p.section_no)] for p in passages])
    same_prev = np.array([i > 0 and section_of[i - 1] == section_of[i] for i in range(len(passages))])
    return LoadedIndex(name, manifest, db, vectors, passages, {p.id: i for i, p in enumerate(passages)}, sources,
                       sections, section_of, same_prev, units.reconstruct_n(0, units.ntotal), unit_start)


def stale_sources(index: LoadedIndex, corpus_dir: Path) -> list[str]:
    """Sources whose file changed, appeared or disappeared since the index was built."""
    built = {k: v["sha256"] for k, v in index.manifest["sources"].items()}
    try:
        now = {p.name: p for p in corpus_dir.iterdir() if p.suffix.lower() in (".txt", ".md") and p.is_file()}
    except FileNotFoundError:
        return sorted(built)
    changed = [n for n in built if n not in now or _sha256(now[n]) != built[n]]
    return sorted(changed + [n for n in now if n not in built])
