"""Parsing the real corpus and other documents: sections, dates, parts, passages, verbatim text."""
from pathlib import Path

import pytest

from bot.core.corpus import CorpusError, SourceText, corpus_files, parse_corpus, parse_document, read_lines
from bot.core.text import collapse

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus" / "gpt-models.txt"


@pytest.fixture(scope="module")
def doc():
    return parse_document(CORPUS)


def toc_titles(lines):
    """TOC entries: lines 22–122 indented with NBSP NBSP SPACE, minus the illustrations list."""
    toc = lines[21:lines.index("\u00a0\u00a0Иллюстрации:")]
    return [collapse(x) for x in toc if x.startswith("\u00a0\u00a0 ")]


def test_83_sections_with_titles_from_the_toc(doc):
    assert len(doc.sections) == 83
    toc = toc_titles(doc.source.lines)
    assert len(toc) == 83
    mismatches = [(a, s.title) for a, s in zip(toc, doc.sections) if a != s.title]
    # The TOC's one typo (line 31): "решния" where the section title says "решения".
    assert mismatches == [('Большая статья о поисках решния проблемы "неточности".',
                           'Большая статья о поисках решения проблемы "неточности".')]


def test_section_lines_dates_and_parts(doc):
    s = {x.number: x for x in doc.sections}
    assert (s[1].title_line, s[1].date) == (129, "2023-03-14 14:11")
    assert (s[10].title_line, s[10].date) == (2094, "2023-03-13 11:37")
    assert s[2].date == "2023-03-14 14:11"  # inherited
    assert s[83].title_line == 33154 and s[83].date == "2025-01-12 21:52"
    assert sum(1 for x in doc.sections if x.date is None) == 0
    assert s[16].part == "Часть 1." and s[16].body_end < 5366  # cut before the part 2 header
    assert s[17].part.startswith("Часть 2.") and s[48].part.startswith("Часть 4.")
    assert s[72].part == "Информация к размышлению"
    assert s[83].body_end < 33802  # the illustration captions and counters are not body


def test_passages_are_verbatim_sized_and_within_sections(doc):
    lines = doc.source.lines
    sections = {x.number: x for x in doc.sections}
    assert 1000 < len(doc.passages) < 2300
    for p in doc.passages:
        sec = sections[p.section_no]
        assert sec.body_start <= p.line_start <= p.line_end <= sec.body_end
        assert p.text == collapse("\n".join(lines[p.line_start - 1: p.line_end]))
        assert p.text in doc.source.collapsed
        assert len(p.text) <= 2000
        assert p.voice in ("author", "quote", "mixed")
    sizes = sorted(len(p.text) for p in doc.passages)
    assert 600 <= sizes[len(sizes) // 2] <= 1200


def test_no_junk_toc_or_sub_toc_in_passages(doc):
    text = " ".join(p.text for p in doc.passages)
    for junk in ("Самиздат: [Регистрация]", "Flag Counter", "Ваша оценка", "Связаться с программистом",
                 "Оглавление:", "Кожевенное мастерство", "Каравелла ГПТэшка. Модель Kandinsky"):
        assert junk not in text
    # The sub-TOC after the part 2 header (lines 5368–5378) is not in any passage.
    assert not any(p.line_start <= 5370 <= p.line_end for p in doc.passages)


def test_author_comments_are_marked(doc):
    p = next(p for p in doc.passages if p.line_start <= 901 <= p.line_end)
    assert "//// Очень важный момент" in p.text and p.voice in ("author", "mixed")


def test_locate_gives_exact_lines_and_rejects_non_verbatim(doc):
    src = doc.source
    assert src.locate("Очень важный момент. Принципиальный") == (901, 901)
    assert src.locate("Вводные замечания. В оглавление.") == (129, 130)
    assert src.locate("Это предложение автор не писал никогда.") is None
    assert src.locate("   ") is None


def test_plain_documents_split_by_headings_and_paragraphs(tmp_path):
    (tmp_path / "notes.md").write_text("# Первый\n\nАбзац один.\nЕще строка.\n\n## Второй\n\nАбзац два.\n",
                                       encoding="utf-8")
    (tmp_path / "plain.txt").write_text("Просто текст без заголовков.\n\nВторой абзац.", encoding="utf-8")
    docs = {d.source.name: d for d in parse_corpus(tmp_path, min_chars=100, max_chars=400)}
    md = docs["notes.md"]
    assert [s.title for s in md.sections] == ["Первый", "Второй"]
    assert [(p.line_start, p.line_end) for p in md.passages] == [(3, 4), (8, 8)]
    txt = docs["plain.txt"]
    assert [s.title for s in txt.sections] == ["plain"]
    assert txt.passages[0].text == "Просто текст без заголовков. Второй абзац."


def test_bad_files_and_folders_are_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        corpus_files(tmp_path / "missing")
    with pytest.raises(CorpusError, match="no .txt or .md"):
        corpus_files(tmp_path)
    bad = tmp_path / "cp1251.txt"
    bad.write_bytes("Привет".encode("cp1251"))
    with pytest.raises(CorpusError, match="cp1251.txt: not UTF-8"):
        read_lines(bad)
    binary = tmp_path / "image.md"
    binary.write_bytes(b"\x89PNG\x00\x00\x01")
    with pytest.raises(CorpusError, match="image.md: binary"):
        read_lines(binary)


def test_source_text_offsets_skip_blank_lines():
    src = SourceText("x", ["  a b", "\u00a0\u00a0", "", "c"])
    assert src.collapsed == "a b c"
    assert src.locate("b c") == (1, 4)
