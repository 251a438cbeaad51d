"""User-facing strings of the core (answers, refusals, admin commands), in Russian and English. Front ends add
their own UI words."""
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
        "ru": "Напишите вопрос текстом, например: «Что такое LoRA?»",
        "en": "Please type a question, for example: “What is LoRA?”",
    },
    "greeting": {"ru": "Здравствуйте! {help}", "en": "Hello! {help}"},
    "thanks": {
        "ru": "Пожалуйста! Спрашивайте ещё.",
        "en": "You're welcome! Ask anything else about the material.",
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
            "Спрашивайте по-русски или по-английски, например: «Что такое LoRA?»"
        ),
        "en": (
            "I answer questions about «Металоция неведомого. Модуль Г. Гпт-модели» "
            "(A. P. Mitasov, Samizdat, 2023–2025): articles on GPT models and LLMs with the author's comments.\n"
            "I answer only from the text and always show quotes with section, date and line numbers. "
            "If the text has no answer, I say so.\n"
            "Ask in Russian or English, e.g. “What is LoRA?”"
        ),
    },
    # --- admin commands (core/admin.py) ---
    "not_admin": {
        "ru": "Эта команда доступна только администраторам бота. Попытка записана в журнал.",
        "en": "This command is for the bot's administrators only. The attempt has been logged.",
    },
    "admin_busy": {
        "ru": "Уже идёт другая операция ({what}). Дождитесь её окончания и повторите.",
        "en": "Another admin operation is running ({what}). Please wait for it to finish and try again.",
    },
    "op_reindex": {"ru": "переиндексация", "en": "reindexing"},
    "op_add": {"ru": "добавление документа", "en": "adding a document"},
    "op_remove": {"ru": "удаление документа", "en": "removing a document"},
    "op_rollback": {"ru": "откат индекса", "en": "index rollback"},
    "started": {
        "ru": "Переиндексация началась. Пока она идёт, бот отвечает по индексу {version}.",
        "en": "Reindexing started. Meanwhile questions are answered from index {version}.",
    },
    "stage_parse": {"ru": "Переиндексация: читаю документы…", "en": "Reindexing: reading the documents…"},
    "stage_embed": {"ru": "Переиндексация: эмбеддинги {done} из {total}{eta}",
                    "en": "Reindexing: embedding passages, {done} of {total}{eta}"},
    "eta": {"ru": ", осталось ~{time}", "en": ", ~{time} left"},
    "stage_write": {"ru": "Переиндексация: записываю индекс…", "en": "Reindexing: writing the index…"},
    "stage_done": {"ru": "Переиндексация: загружаю новый индекс…", "en": "Reindexing: loading the new index…"},
    "reindexed": {
        "ru": "Готово: бот отвечает по индексу {version}.",
        "en": "Done: questions are now answered from index {version}.",
    },
    "changes": {
        "ru": "Фрагментов: {passages} (+{added} / −{removed}), новых эмбеддингов: {embedded}, {seconds:.0f} с.",
        "en": "Passages: {passages} (+{added} / −{removed}), newly embedded: {embedded}, {seconds:.0f} s.",
    },
    "src_added": {"ru": "Новые документы: {names}", "en": "New documents: {names}"},
    "src_changed": {"ru": "Изменённые документы: {names}", "en": "Changed documents: {names}"},
    "src_removed": {"ru": "Удалённые документы: {names}", "en": "Removed documents: {names}"},
    "unchanged": {
        "ru": "Индекс {version} уже соответствует документам, ничего не изменилось.",
        "en": "Index {version} already matches the documents; nothing changed.",
    },
    "build_failed": {
        "ru": "Переиндексация не удалась, бот по-прежнему отвечает по индексу {version}. Ошибка: {error}",
        "en": "Reindexing failed; questions are still answered from index {version}. Error: {error}",
    },
    "load_failed": {
        "ru": "Новый индекс {new} собран, но не загрузился ({error}); бот остался на индексе {version}.",
        "en": "The new index {new} was built but could not be loaded ({error}); index {version} stays live.",
    },
    "status": {
        "ru": ("Индекс: {version}, собран {age} назад; документов: {sources}, фрагментов: {passages}\n"
               "Модель: {model} ({backend}); эмбеддинги: {embedder}\n"
               "Работает: {uptime}; в очереди: {queue}\n"
               "Сегодня: ответов {answers}, отказов {refusals}\n"
               "Последняя ошибка: {error}"),
        "en": ("Index: {version}, built {age} ago; documents: {sources}, passages: {passages}\n"
               "Model: {model} ({backend}); embeddings: {embedder}\n"
               "Uptime: {uptime}; queued: {queue}\n"
               "Today: {answers} answers, {refusals} refusals\n"
               "Last error: {error}"),
    },
    "none": {"ru": "нет", "en": "none"},
    "running": {"ru": "Сейчас идёт: {what}.", "en": "Running now: {what}."},
    "stale": {
        "ru": "Внимание: документы изменились после сборки индекса ({names}); выполните переиндексацию.",
        "en": "Note: documents changed since the index was built ({names}); run a reindex.",
    },
    "bad_name": {
        "ru": "Недопустимое имя файла «{name}». Нужно простое имя без папок, например notes.md "
              "(буквы, цифры, пробел и . _ - ( ), не с точки, до 100 символов).",
        "en": "The file name “{name}” is not allowed. Use a plain name without folders, e.g. notes.md "
              "(letters, digits, space and . _ - ( ), not starting with a dot, up to 100 characters).",
    },
    "bad_type": {"ru": "Принимаются только файлы .txt и .md.", "en": "Only .txt and .md files are accepted."},
    "too_big": {
        "ru": "Файл слишком большой: {size} байт, можно не больше {limit}.",
        "en": "The file is too large: {size} bytes, the limit is {limit}.",
    },
    "empty_file": {"ru": "В файле нет текста.", "en": "The file contains no text."},
    "binary": {
        "ru": "Это двоичный файл, а не текст. Пришлите документ .txt или .md в UTF-8.",
        "en": "This is a binary file, not text. Please send a UTF-8 .txt or .md document.",
    },
    "not_utf8": {
        "ru": "Файл не в кодировке UTF-8 (ошибка в строке {line}). Сохраните его как UTF-8 и пришлите снова.",
        "en": "The file is not UTF-8 (invalid byte on line {line}). Save it as UTF-8 and send it again.",
    },
    "exists": {
        "ru": "Документ «{name}» уже есть. Чтобы заменить его, сначала удалите старый (remove {name}).",
        "en": "A document named “{name}” already exists. To replace it, remove the old one first (remove {name}).",
    },
    "added": {"ru": "Документ «{name}» добавлен.", "en": "Added “{name}”."},
    "add_failed": {
        "ru": "Документ «{name}» не добавлен, файл убран.",
        "en": "“{name}” was not added; the file has been taken out again.",
    },
    "no_such": {
        "ru": "Документа «{name}» нет. Есть: {names}.",
        "en": "There is no document “{name}”. Documents: {names}.",
    },
    "last_source": {
        "ru": "Нельзя удалить последний документ: боту не из чего будет отвечать.",
        "en": "The last document cannot be removed: the bot would have nothing to answer from.",
    },
    "removed": {"ru": "Документ «{name}» удалён.", "en": "Removed “{name}”."},
    "remove_failed": {
        "ru": "Документ «{name}» не удалён, файл возвращён на место.",
        "en": "“{name}” was not removed; the file is back in place.",
    },
    "no_previous": {
        "ru": "Более ранней версии индекса нет; бот отвечает по индексу {version}.",
        "en": "There is no earlier index version; questions are answered from index {version}.",
    },
    "rolled_back": {
        "ru": "Откат выполнен: бот отвечает по индексу {version} (был {old}).",
        "en": "Rolled back: questions are now answered from index {version} (was {old}).",
    },
    "rollback_failed": {
        "ru": "Откат не удался ({error}); бот отвечает по индексу {version}.",
        "en": "Rollback failed ({error}); questions are answered from index {version}.",
    },
    "failed": {
        "ru": "Операция не удалась ({error}). Подробности записаны в журнал.",
        "en": "The operation failed ({error}). Details are in the log.",
    },
    "units": {"ru": ("д", "ч", "мин", "с"), "en": ("d", "h", "min", "s")},
}


def lookup(table: dict, key: str, lang: str, **kwargs) -> str:
    """Entry `key` of a string table in `lang` ("ru" or "en"; anything else falls back to Russian),
    formatted. The front ends keep their own UI tables and look them up with this too."""
    variants = table[key]
    return variants.get(lang, variants["ru"]).format(**kwargs)


def t(key: str, lang: str, **kwargs) -> str:
    """The core message `key` in `lang`."""
    return lookup(MESSAGES, key, lang, **kwargs)
