"""Telegram-specific UI strings in Russian and English (core messages live in bot.core.messages)."""
from __future__ import annotations

from ...core.messages import lookup

STRINGS = {
    "how_to_ask": {
        "ru": ("\n\nКак спросить: в личном чате просто напишите вопрос. В группе — командой "
               "/ask вопрос, упоминанием {mention} или ответом на моё сообщение."),
        "en": ("\n\nHow to ask: in a private chat just type the question. In a group use "
               "/ask question, mention {mention} or reply to my message."),
    },
    "commands": {
        "ru": "\n\nКоманды: /ask — задать вопрос, /new — начать заново, /help — эта справка.",
        "en": "\n\nCommands: /ask — ask a question, /new — start over, /help — this help.",
    },
    "admin_commands": {
        "ru": ("\nДля администраторов: /status — состояние, /reindex — переиндексация; "
               "пришлите файл .txt или .md, чтобы добавить документ."),
        "en": ("\nFor admins: /status — state, /reindex — rebuild the index; "
               "send a .txt or .md file to add a document."),
    },
    "non_text": {
        "ru": "Я понимаю только текстовые вопросы — напишите вопрос словами.",
        "en": "I only understand text questions — please type your question.",
    },
    "passage_button": {"ru": "📄 Фрагмент {n}", "en": "📄 Passage {n}"},
    "passage_gone": {
        "ru": "Этот фрагмент больше недоступен: индекс обновился. Задайте вопрос ещё раз.",
        "en": "This passage is no longer available: the index has changed. Please ask again.",
    },
    "feedback_thanks": {"ru": "Спасибо за отзыв!", "en": "Thanks for the feedback!"},
    "feedback_failed": {"ru": "Не удалось записать отзыв.", "en": "Could not record the feedback."},
    "admin_unavailable": {
        "ru": "Команды администратора сейчас недоступны.",
        "en": "Admin commands are not available right now.",
    },
    "not_admin_upload": {
        "ru": "Добавлять документы могут только администраторы. Задайте вопрос текстом.",
        "en": "Only admins can add documents. Please ask your question as text.",
    },
    "bad_document": {
        "ru": "Можно добавить только файл .txt или .md.",
        "en": "Only a .txt or .md file can be added.",
    },
    "file_too_big": {
        "ru": "Файл слишком большой: не больше {limit} байт.",
        "en": "The file is too large: {limit} bytes at most.",
    },
    "download_failed": {
        "ru": "Не удалось получить файл от Telegram. Попробуйте ещё раз.",
        "en": "Could not fetch the file from Telegram. Please try again.",
    },
    "working": {"ru": "⏳ Выполняю…", "en": "⏳ Working…"},
    "cmd_start": {"ru": "о боте и как спрашивать", "en": "what the bot knows and how to ask"},
    "cmd_help": {"ru": "справка", "en": "help"},
    "cmd_ask": {"ru": "задать вопрос (в группах)", "en": "ask a question (in groups)"},
    "cmd_new": {"ru": "начать разговор заново", "en": "start a new conversation"},
    "cmd_status": {"ru": "состояние бота (админ)", "en": "bot status (admin)"},
    "cmd_reindex": {"ru": "переиндексировать корпус (админ)", "en": "rebuild the index (admin)"},
}

# Telegram clients in these languages get Russian UI strings; everyone else gets English.
RUSSIAN_SPEAKING = frozenset({"ru", "uk", "be", "kk", "ky", "uz", "tg", "hy", "az", "ka"})


def ui_lang(language_code: str | None) -> str:
    if not language_code:
        return "ru"
    return "ru" if language_code[:2].lower() in RUSSIAN_SPEAKING else "en"


def s(key: str, lang: str, **kwargs) -> str:
    return lookup(STRINGS, key, lang, **kwargs)
