"""Building, versioning and loading the hybrid index on the fixture corpus."""
import json

import numpy as np
import pytest

from bot.core.corpus import CorpusError
from bot.core.index import EmbeddingCache, IndexDir, IndexUnavailable, build_index, load_index, stale_sources
from bot.core.retrieval import Retriever, fts_query


def build(settings, embedder, **kw):
    return build_index(settings.corpus_dir, settings.index_dir, embedder, min_chars=100, max_chars=400, **kw)


def test_build_writes_a_versioned_index_with_manifest(settings, embedder):
    report = build(settings, embedder)
    assert report.changed and report.passages == 7 and report.embedded == 7 + 5  # passages + section titles
    assert report.sources_added == ["notes.md", "sample.txt"]
    idx = IndexDir(settings.index_dir)
    assert idx.current() == report.version
    manifest = idx.manifest(report.version)
    assert manifest["embedding"] == {"model": embedder.model_id, "dim": embedder.dim}
    assert manifest["chunking"]["max_chars"] == 400
    assert set(manifest["sources"]) == {"notes.md", "sample.txt"}
    assert len(manifest["sources"]["sample.txt"]["sha256"]) == 64
    loaded = load_index(settings.index_dir)
    assert len(loaded.passages) == loaded.faiss.ntotal == 7 and loaded.sections.ntotal == 5
    assert loaded.sources["sample.txt"].locate("LoRA - это способ дообучения большой модели") == (42, 42)


def test_rebuild_without_change_is_a_no_op(settings, embedder):
    first = build(settings, embedder)
    again = build(settings, embedder)
    assert not again.changed and again.version == first.version
    assert "nothing changed" in again.summary()
    assert embedder.calls == 12


def test_changing_one_section_re_embeds_only_its_passages(settings, embedder):
    build(settings, embedder)
    path = settings.corpus_dir / "notes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("до 4 бит", "до 3 бит"), encoding="utf-8")
    report = build(settings, embedder)
    assert report.changed and report.embedded == 1 and report.sources_changed == ["notes.md"]
    assert embedder.calls == 13
    assert "3 бит" in " ".join(p.text for p in load_index(settings.index_dir).passages)


def test_interrupted_build_keeps_the_previous_version_live(settings, embedder):
    first = build(settings, embedder)
    (settings.corpus_dir / "extra.md").write_text("# Новое\n\nСовсем новый абзац про токенизацию.\n", encoding="utf-8")

    class Crash(Exception):
        pass

    def explode(progress):
        if progress.stage == "write":
            raise Crash

    with pytest.raises(Crash):
        build(settings, embedder, progress=explode)
    assert IndexDir(settings.index_dir).current() == first.version
    assert len(load_index(settings.index_dir).passages) == 7
    # The embedding made before the crash was cached: the next build embeds nothing new.
    calls = embedder.calls
    report = build(settings, embedder)
    assert report.changed and embedder.calls == calls and report.sources_added == ["extra.md"]
    assert not list((settings.index_dir / "versions").glob(".building-*"))


def test_bad_corpus_file_is_a_clear_error_and_nothing_is_lost(settings, embedder):
    first = build(settings, embedder)
    (settings.corpus_dir / "broken.txt").write_bytes("Текст".encode("cp1251"))
    with pytest.raises(CorpusError, match="broken.txt"):
        build(settings, embedder)
    assert IndexDir(settings.index_dir).current() == first.version
    assert stale_sources(load_index(settings.index_dir), settings.corpus_dir) == ["broken.txt"]


def test_rollback_to_previous_version(settings, embedder):
    first = build(settings, embedder)
    (settings.corpus_dir / "notes.md").unlink()
    second = build(settings, embedder)
    idx = IndexDir(settings.index_dir)
    assert second.sources_removed == ["notes.md"] and idx.previous() == first.version
    idx.switch(idx.previous())
    assert load_index(settings.index_dir).version == first.version


def test_missing_or_corrupt_index_says_what_to_do(settings, embedder):
    with pytest.raises(IndexUnavailable, match="python -m bot index"):
        load_index(settings.index_dir)
    report = build(settings, embedder)
    (settings.index_dir / "versions" / report.version / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexUnavailable, match="--force"):
        load_index(settings.index_dir)


def test_seed_embeddings_are_used_by_a_fresh_cache(settings, embedder, tmp_path):
    build(settings, embedder)
    cache = EmbeddingCache(settings.index_dir, embedder.model_id, embedder.dim)
    hashes = [r[0] for r in cache.db.execute("select hash from embeddings")]
    seed_dir = tmp_path / "fresh-index"
    seed_dir.mkdir()
    cache.export_seed(seed_dir / "seed-embeddings.npz", hashes)
    cache.close()
    fresh = EmbeddingCache(seed_dir, embedder.model_id, embedder.dim)
    got = fresh.get(hashes)
    assert len(got) == len(hashes) == 12
    assert all(v.shape == (embedder.dim,) and abs(np.linalg.norm(v) - 1) < 1e-5 for v in got.values())


def test_keyword_search_uses_stems_joined_with_or(settings, embedder):
    build(settings, embedder)
    assert fts_query("Что автор думает о галлюцинациях?") == '"галлюцинац"'
    retriever = Retriever(load_index(settings.index_dir), embedder)
    hits = retriever.keyword("галлюцинации моделей и выдуманные ответы", 5)
    top = retriever.index.passages[hits[0][0]]
    assert top.section == "О галлюцинациях."
    result = retriever.search("Сколько памяти занимает адаптер LoRA?", k=3)
    assert result.hits[0].passage.id == "sample.txt:49-50"
    assert json.dumps(result.hits[0].to_json(), ensure_ascii=False)
