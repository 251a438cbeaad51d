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


def test_doctor_names_llama_cpps_cpu_kernels_and_a_missing_amx_build(settings, monkeypatch, capsys):
    import bot.doctor as doctor
    monkeypatch.setattr(doctor, "cpu_has_amx", lambda: True)
    monkeypatch.setattr(doctor, "llama_cpu_features", lambda: ["AVX2", "AVX512"])
    run_doctor(settings)
    assert "ok   llama.cpp CPU kernels: AVX2 AVX512 (without AMX, which this CPU has" in capsys.readouterr().out
    monkeypatch.setattr(doctor, "llama_cpu_features", lambda: ["AVX512", "AMX_INT8"])
    run_doctor(settings)
    out = capsys.readouterr().out
    assert "ok   llama.cpp CPU kernels: AVX512 AMX_INT8\n" in out


def test_the_real_llama_cpp_build_reports_its_kernels():
    from bot.doctor import llama_cpu_features
    assert "AVX2" in llama_cpu_features()  # every variant ./run builds has AVX2


def test_amx_is_read_from_the_cpus_flags(tmp_path):
    from bot.doctor import cpu_has_amx
    info = tmp_path / "cpuinfo"
    info.write_text("flags\t\t: fpu avx2 avx512f amx_bf16 amx_tile\n")
    assert not cpu_has_amx(info)
    info.write_text("flags\t\t: fpu avx2 avx512f amx_bf16 amx_int8 amx_tile\n")
    assert cpu_has_amx(info)
    assert not cpu_has_amx(tmp_path / "absent")
