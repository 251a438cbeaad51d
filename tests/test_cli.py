"""The command-line contracts on the fixture corpus with the real embedding model (no LLM)."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bot(workdir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_", "BOT_"))}
    env.update(BOT_CONFIG=str(workdir / "config.yaml"), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=workdir, input=stdin, capture_output=True,
                          text=True, timeout=300, env=env)


def test_index_progress_json_then_search_json(settings, workdir):
    proc = bot(workdir, "index", "--progress-json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = [json.loads(x) for x in proc.stdout.splitlines()]
    assert events[0]["stage"] == "parse" and any(e["stage"] == "embed" for e in events)
    report = events[-1]
    assert report["stage"] == "report" and report["changed"] and report["passages"] == 7
    assert report["embedded"] == 30 and report["sources_added"] == ["notes.md", "sample.txt"]

    again = bot(workdir, "index")
    assert again.returncode == 0 and "nothing changed" in again.stdout

    proc = bot(workdir, "search", "--json", "-k", "2", "-", stdin="Что такое LoRA?\nWhat are hallucinations?\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["query"] for x in lines] == ["Что такое LoRA?", "What are hallucinations?"]
    assert lines[0]["passages"][0]["section"] == "Метод LoRA и дообучение."
    assert lines[1]["passages"][0]["section"] == "О галлюцинациях."  # English finds Russian text
    assert all(len(x["passages"]) == 2 for x in lines)


def test_bad_config_and_missing_index_are_one_line_errors(settings, workdir):
    (workdir / "config.yaml").write_text("retrieval: {top_kk: 3}\n", encoding="utf-8")
    proc = bot(workdir, "search", "x")
    assert proc.returncode == 2 and "retrieval.top_kk: unknown key" in proc.stderr
    assert "Traceback" not in proc.stderr
    (workdir / "config.yaml").write_text(f"index_dir: {workdir / 'nowhere'}\n", encoding="utf-8")
    proc = bot(workdir, "search", "x")
    assert proc.returncode == 1 and "run `python -m bot index`" in proc.stderr and "Traceback" not in proc.stderr


def test_ask_from_stdin_answers_every_line_alone_and_unlimited(core, llm, monkeypatch, capsys):
    """A file of questions is the operator's batch: no per-user rate limit (6 a minute by default),
    and a line that reads like a follow-up is not joined to the line before."""
    import io

    from bot import cli

    questions = ["Что такое галлюцинации модели?"] * 7 + ["А почему они возникают?"]
    monkeypatch.setattr(cli, "_core", lambda settings: core)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(questions) + "\n"))
    assert cli.main(["ask", "--json", "-"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["question"] for x in lines] == questions
    assert [x["reason"] for x in lines[:7]] == ["answered"] * 7
    assert lines[7]["reason"] != "rate_limited"
    assert llm.prompts and not any("follow-up to" in p for p in llm.prompts + llm.pick_prompts)


def test_a_broken_question_set_is_a_one_line_error(settings, workdir):
    cases = {
        "missing.jsonl": None,
        "not-json.jsonl": '{"question": "x", "kind": "answerable"\n',
        "bad-range.jsonl": json.dumps({"question": "x", "kind": "answerable", "gold_line_range": [5]}) + "\n",
    }
    expected = {"missing.jsonl": "cannot read", "not-json.jsonl": "not-json.jsonl:1: not a JSON object",
                "bad-range.jsonl": "bad-range.jsonl:1: a gold range is two line numbers"}
    for name, text in cases.items():
        if text is not None:
            (workdir / name).write_text(text, encoding="utf-8")
        proc = bot(workdir, "eval", "--qa", str(workdir / name))
        assert proc.returncode == 2 and expected[name] in proc.stderr, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr


def test_search_input_errors_are_messages_and_stray_bytes_are_characters(settings, workdir):
    assert bot(workdir, "index").returncode == 0
    proc = bot(workdir, "search", "-k", "0", "LoRA")
    assert proc.returncode == 2 and "-k: must be a whole number of at least 1, not '0'" in proc.stderr
    proc = bot(workdir, "search", "  ")
    assert proc.returncode == 2 and "nothing to search for" in proc.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_", "BOT_"))}
    env.update(BOT_CONFIG=str(workdir / "config.yaml"), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "bot", "search", "--json", "-k", "1", "-"], cwd=workdir,
                          input="Что такое LoRA?".encode() + b"\xff\n", capture_output=True,
                          timeout=300, env=env)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr[-2000:]
    line = json.loads(proc.stdout)
    assert line["query"] == "Что такое LoRA?\ufffd" and len(line["passages"]) == 1
