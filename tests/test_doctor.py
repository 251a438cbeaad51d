"""`python -m bot doctor` names what is wrong and how to fix it."""
from bot.doctor import run_doctor


def test_doctor_reports_missing_index_and_model(settings, capsys):
    settings.llm.model_path = settings.data_dir / "absent.gguf"
    assert run_doctor(settings) == 1
    out = capsys.readouterr().out
    assert "ok   corpus sample.txt: 3 sections" in out
    assert "FIX  no index in" in out and "run `python -m bot index`" in out
    assert "FIX  model file" in out and "absent.gguf is missing" in out


def test_doctor_notices_a_changed_corpus(settings, built_index, capsys):
    (settings.corpus_dir / "notes.md").write_text("# Новое\n\nДругой текст.\n", encoding="utf-8")
    run_doctor(settings)
    out = capsys.readouterr().out
    assert f"ok   index {built_index.version}" in out
    assert "FIX  corpus changed since the index was built: notes.md" in out
