"""Settings: YAML + environment, unknown keys rejected by name, secrets only from the environment."""
import os

import pytest

from bot.config import ConfigError, load_dotenv, load_settings


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path):
    s = load_settings(tmp_path / "absent.yaml", environ={})
    assert s.retrieval.top_k == 5 and s.llm.backend == "llama_cpp" and s.secrets.telegram_token is None


def test_unknown_key_is_named(tmp_path):
    path = write(tmp_path, "retrieval:\n  top_kk: 3\n")
    with pytest.raises(ConfigError, match=r"retrieval\.top_kk: unknown key"):
        load_settings(path, environ={})


def test_wrong_type_is_named(tmp_path):
    path = write(tmp_path, "answer:\n  passages: many\n")
    with pytest.raises(ConfigError, match=r"answer\.passages"):
        load_settings(path, environ={})


def test_invalid_yaml_and_secrets_in_yaml_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "a: [1, 2\n"), environ={})
    with pytest.raises(ConfigError, match="environment"):
        load_settings(write(tmp_path, "secrets:\n  telegram_token: x\n"), environ={})
    with pytest.raises(ConfigError, match="telegram.token: unknown key"):
        load_settings(write(tmp_path, "telegram:\n  token: '123:abc'\n"), environ={})


def test_environment_overrides_and_secrets(tmp_path):
    path = write(tmp_path, "telegram:\n  admin_ids: [1]\nllm:\n  max_tokens: 100\n")
    env = {"TELEGRAM_ADMIN_IDS": "11, 22", "BOT__LLM__MAX_TOKENS": "150", "TELEGRAM_BOT_TOKEN": "123:tok-XYZ",
           "DISCORD_GUILD_ID": "42"}
    s = load_settings(path, environ=env)
    assert s.telegram.admin_ids == [11, 22] and s.llm.max_tokens == 150 and s.discord.guild_id == 42
    assert s.secrets.telegram_token.get_secret_value() == "123:tok-XYZ"
    assert "tok-XYZ" not in repr(s) and "tok-XYZ" not in s.model_dump_json()
    with pytest.raises(ConfigError, match=r"^BOT__LLM__MAX_TOKENZ: llm\.max_tokenz: unknown key"):
        load_settings(path, environ={"BOT__LLM__MAX_TOKENZ": "1"})
    with pytest.raises(ConfigError, match=r"^TELEGRAM_ADMIN_IDS: telegram\.admin_ids\.0"):
        load_settings(path, environ={"TELEGRAM_ADMIN_IDS": "alice"})


def test_bot_config_must_exist_when_set(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(environ={"BOT_CONFIG": str(tmp_path / "nope.yaml")})


def test_dotenv_does_not_override_the_environment(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("# comment\nBOT_TEST_A=from-file\nexport BOT_TEST_B='quoted'\n", encoding="utf-8")
    monkeypatch.setenv("BOT_TEST_A", "from-env")
    monkeypatch.delenv("BOT_TEST_B", raising=False)
    load_dotenv(tmp_path / ".env")
    assert os.environ["BOT_TEST_A"] == "from-env" and os.environ["BOT_TEST_B"] == "quoted"
    monkeypatch.delenv("BOT_TEST_B")


def test_example_config_lists_the_defaults():
    from pathlib import Path

    from bot.config import Settings

    example = Path(__file__).resolve().parents[1] / "config.example.yaml"
    assert load_settings(example, environ={}).model_dump() == Settings().model_dump()
