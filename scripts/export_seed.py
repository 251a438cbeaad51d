"""Write index/seed-embeddings.npz: the embeddings of the live index's passages, section titles and
sentences, so that a fresh clone builds its index in seconds instead of embedding the corpus (~18 min
on 2 cores).

    python scripts/export_seed.py      (run after `python -m bot index` when the shipped corpus changes)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings  # noqa: E402
from bot.core.embeddings import make_embedder  # noqa: E402
from bot.core.index import EmbeddingCache, embedded_texts, load_index, text_hash  # noqa: E402


def main() -> None:
    settings = load_settings()
    index = load_index(settings.index_dir)
    embedder = make_embedder(settings)
    texts = embedded_texts(index.passages)
    cache = EmbeddingCache(settings.index_dir, embedder.model_id, embedder.dim)
    target = settings.index_dir / "seed-embeddings.npz"
    cache.export_seed(target, [text_hash(t) for t in texts])
    cache.close()
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB, {len(texts)} vectors)")


if __name__ == "__main__":
    main()
