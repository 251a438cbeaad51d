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
    assert report.changed and report.passages == 7 and report.embedded == 7 + 5 + 18  # passages, section titles, sentences
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
    assert loaded.units.shape == (18, embedder.dim) and loaded.unit_start[-1] == 18
    assert loaded.sources["sample.txt"].locate("LoRA - это способ дообучения большой модели") == (42, 42)


def test_rebuild_without_change_is_a_no_op(settings, embedder):
    first = build(settings, embedder)
    again = build(settings, embedder)
    assert not again.changed and again.version == first.version
    assert "nothing changed" in again.summary()
    assert embedder.calls == 30


def test_an_index_of_an_older_format_is_rebuilt(settings, embedder):
    first = build(settings, embedder)
    manifest = settings.index_dir / "versions" / first.version / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"format": 3', '"format": 2'))
    again = build(settings, embedder)
    assert again.changed and again.version != first.version and again.embedded == 0  # all from the cache
    assert load_index(settings.index_dir).units.shape[0] == 18


def test_changing_one_section_re_embeds_only_its_passages(settings, embedder):
    build(settings, embedder)
    path = settings.corpus_dir / "notes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("до 4 бит", "до 3 бит"), encoding="utf-8")
    report = build(settings, embedder)
    assert report.changed and report.embedded == 2 and report.sources_changed == ["notes.md"]  # the passage and its sentence
    assert embedder.calls == 32
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
    assert len(got) == len(hashes) == 30
    assert all(v.shape == (embedder.dim,) and abs(np.linalg.norm(v) - 1) < 1e-3 for v in got.values())  # shipped in half precision


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


def test_the_best_passages_are_reordered_by_their_sentences_closest_to_the_question(tmp_path, embedder):
    # One passage repeats the question's words and says nothing; the other answers in one sentence.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "memory.md").write_text(
        "# Обзор\n\nМодели, модели, модели. Данные, данные, данные. Памяти, памяти, памяти. "
        "Обучение, обучение, обучение. Требует, требует. Сколько, сколько.\n\n"
        "# Цифры\n\nСтолько памяти требует обучение модели на данных. Погода была хорошая, солнце светило ярко, "
        "птицы пели в саду за окном лаборатории весь день, и никто не спешил домой к вечеру, ведь завтра "
        "суббота, рынок, гости, пироги.\n", encoding="utf-8")
    build_index(corpus, tmp_path / "index", embedder, min_chars=100, max_chars=400)
    index = load_index(tmp_path / "index")
    question = "Сколько памяти требует обучение модели на данных?"
    first = {w: Retriever(index, embedder, sentence_weight=w).search(question, k=2).hits[0].passage.section
             for w in (0.0, 0.05)}
    assert first == {0.0: "Обзор", 0.05: "Цифры"}
