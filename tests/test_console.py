"""The console front end, driven like a user typing lines."""
import io

from bot.frontends.console import run_console


def test_console_chat_streams_then_shows_sources(core):
    out = io.StringIO()
    stdin = io.StringIO("Что такое галлюцинации модели?\n/new\nКак приготовить борщ?\n/quit\nне дойдёт\n")
    assert run_console(core, stdin=stdin, out=out) == 0
    text = out.getvalue()
    assert "Источники:" in text and "«О галлюцинациях.»" in text and "строки 58–" in text
    assert "> Галлюцинации - это уверенные, но выдуманные ответы модели." in text
    assert "Начинаем заново" in text
    assert "ничего близкого к нему в тексте не нашлось" in text
    assert "не дойдёт" not in text


def test_console_status_is_available_locally(core):
    out = io.StringIO()
    run_console(core, stdin=io.StringIO("/status\n"), out=out)
    assert core.index.version in out.getvalue()


def test_the_console_user_is_the_operator_and_not_rate_limited(core):
    out = io.StringIO()
    run_console(core, stdin=io.StringIO("Что такое галлюцинации модели?\n" * 7), out=out)  # the default allows 6 a minute
    assert out.getvalue().count("Источники:") == 7 and "Слишком много вопросов" not in out.getvalue()
