"""Discord UI strings (buttons, notices, command descriptions) in Russian and English."""
from __future__ import annotations

from ...core.messages import lookup

UI = {
    "thinking": {"ru": "Ищу ответ в тексте…", "en": "Looking for the answer in the text…"},
    "working": {"ru": "Обрабатываю документ…", "en": "Processing the document…"},
    "passage_button": {"ru": "Фрагмент [{n}]", "en": "Passage [{n}]"},
    "feedback_thanks": {"ru": "Спасибо за отзыв!", "en": "Thanks for the feedback!"},
    "feedback_failed": {"ru": "Отзыв не удалось сохранить.", "en": "The feedback could not be recorded."},
    "passage_gone": {
        "ru": "Этого фрагмента больше нет в индексе (текст обновили). Задайте вопрос ещё раз.",
        "en": "This passage is no longer in the index (the text was updated). Please ask again.",
    },
    "admin_unavailable": {
        "ru": "Команды администратора сейчас недоступны.",
        "en": "Admin commands are not available right now.",
    },
    "file_type": {"ru": "Пришлите документ в формате .txt или .md.", "en": "Please send a .txt or .md document."},
    "file_too_big": {
        "ru": "Файл слишком большой: не больше {limit} байт.",
        "en": "The file is too large: {limit} bytes at most.",
    },
    "commands": {
        "ru": ("Команды: `/ask` — задать вопрос, `/new` — начать заново, `/help` — справка. "
               "Можно также упомянуть меня в канале или написать мне в личные сообщения."),
        "en": ("Commands: `/ask` to ask a question, `/new` to start over, `/help` for this help. "
               "You can also mention me in a channel or send me a direct message."),
    },
}

# Slash-command texts: Discord shows the Russian ones to users with a Russian client.
COMMANDS_RU = {
    "Ask a question about the text": "Задать вопрос по тексту",
    "Your question": "Ваш вопрос",
    "What this bot does and how to ask": "Что умеет бот и как спрашивать",
    "Start over: forget the previous questions": "Начать заново: забыть прошлые вопросы",
    "Admin: rebuild the index from the corpus": "Админ: пересобрать индекс по корпусу",
    "Admin: index, model and usage status": "Админ: состояние индекса, модели и нагрузки",
    "Admin: add a .txt or .md document to the corpus": "Админ: добавить документ .txt или .md в корпус",
    "The document (.txt or .md)": "Документ (.txt или .md)",
}


def ui(key: str, lang: str, **kwargs) -> str:
    """The UI string `key` in `lang` ("ru" or "en"; anything else falls back to Russian)."""
    return lookup(UI, key, lang, **kwargs)
