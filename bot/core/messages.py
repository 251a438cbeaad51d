"""User-facing strings of the core, in Russian and English. Front ends add their own UI words."""
from __future__ import annotations

MESSAGES = {
    "no_match": {
        "ru": "В материале нет ответа на этот вопрос: ничего близкого к нему в тексте не нашлось.",
        "en": "The material does not answer this: nothing in the text is close to the question.",
    },
    "unknown_entity": {
        "ru": "В материале не упоминается {names}, поэтому ответить на вопрос по тексту нельзя.",
        "en": "The material never mentions {names}, so the text cannot answer this.",
    },
    "injection": {
        "ru": "Я отвечаю только на вопросы по материалу и не меняю своих правил.",
        "en": "I only answer questions about the material, and my rules do not change.",
    },
    "unsupported": {
        "ru": "В материале нет ответа на этот вопрос.",
        "en": "The material does not cover this question.",
    },
    "quoted_answer": {"ru": "«{quote}»", "en": "The text says (in Russian): «{quote}»"},
    "look_at": {
        "ru": "Ближе всего к теме разделы: {titles}",
        "en": "The closest sections are: {titles}",
    },
    "empty": {
        "ru": "Напишите вопрос текстом, например: «Что автор думает о LoRA?»",
        "en": "Please type a question, for example: “What does the author think about LoRA?”",
    },
    "too_long": {
        "ru": "Вопрос слишком длинный: не больше {limit} символов.",
        "en": "The question is too long: {limit} characters at most.",
    },
    "rate_limited": {
        "ru": "Слишком много вопросов подряд. Подождите {seconds} с.",
        "en": "Too many questions in a row. Please wait {seconds} s.",
    },
    "busy": {
        "ru": "Бот сейчас занят другими вопросами. Попробуйте через минуту.",
        "en": "The bot is busy with other questions. Please try again in a minute.",
    },
    "timeout": {
        "ru": "Ответ не успел сформироваться за {seconds} с. Попробуйте спросить короче или позже.",
        "en": "The answer took longer than {seconds} s. Please try a shorter question or later.",
    },
    "error": {
        "ru": "Что-то пошло не так при подготовке ответа. Ошибка записана в журнал.",
        "en": "Something went wrong while preparing the answer. The error has been logged.",
    },
    "shutting_down": {
        "ru": "Бот перезапускается, вопрос не обработан. Повторите его через минуту.",
        "en": "The bot is restarting; your question was not processed. Please ask again in a minute.",
    },
    "new_chat": {
        "ru": "Начинаем заново: предыдущие вопросы забыты.",
        "en": "Starting over: previous questions are forgotten.",
    },
    "sources": {"ru": "Источники", "en": "Sources"},
    "lines": {"ru": "строки", "en": "lines"},
    "no_date": {"ru": "без даты", "en": "undated"},
    "help": {
        "ru": (
            "Я отвечаю на вопросы по материалу «Металоция неведомого. Модуль Г. Гпт-модели» "
            "(А. П. Митасов, Самиздат, 2023–2025): статьи о GPT-моделях и LLM с комментариями автора.\n"
            "Отвечаю только по тексту и всегда показываю цитаты с разделом, датой и строками. "
            "Если в тексте ответа нет, так и скажу.\n"
            "Спрашивайте по-русски или по-английски, например: «Что автор думает о LoRA?»"
        ),
        "en": (
            "I answer questions about «Металоция неведомого. Модуль Г. Гпт-модели» "
            "(A. P. Mitasov, Samizdat, 2023–2025): articles on GPT models and LLMs with the author's comments.\n"
            "I answer only from the text and always show quotes with section, date and line numbers. "
            "If the text has no answer, I say so.\n"
            "Ask in Russian or English, e.g. “What does the author think about LoRA?”"
        ),
    },
}


def t(key: str, lang: str, **kwargs) -> str:
    """The message `key` in `lang` ("ru" or "en"; anything else falls back to Russian)."""
    variants = MESSAGES[key]
    return variants.get(lang, variants["ru"]).format(**kwargs)
