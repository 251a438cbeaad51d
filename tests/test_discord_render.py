"""Discord rendering and helpers without a network: splitting, embed limits, throttled edits,
the API-root override. Limits are checked with the fake Discord's own validator."""
from __future__ import annotations

import asyncio

import discord.gateway
import discord.http

from bot.core.answer import Answer, Citation
from bot.frontends.discord import render
from bot.frontends.discord.client import Throttled, answer_view
from bot.frontends.discord.endpoint import use_api_root
from tests.fakes.discord_server import message_errors


def _payload(page: render.Page) -> dict:
    return {"content": page.content, "embeds": [e.to_dict() for e in page.embeds]}


def _citation(n: int, quote: str) -> Citation:
    return Citation(n, f"doc.txt:{n}-{n + 3}", "doc.txt", f"Раздел {n} с _подчёркиванием_", "2024-01-02 10:00",
                    n, n + 3, quote)


def test_split_text_keeps_every_character_within_the_limit():
    text = render.escape(("Предложение со *звёздочкой* и @everyone. " * 120) + "x" * 4500)
    parts = render.split_text(text)
    assert all(len(p) <= render.MAX_CONTENT for p in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
    assert not any(p.endswith("\\") for p in parts)  # an escape never parts from its character


def test_hard_cut_never_separates_an_escape_from_its_character():
    text = "\\*" * 1500  # no spaces at all: the splitter must cut by characters
    parts = render.split_text(text)
    assert all(len(p) <= render.MAX_CONTENT and len(p) % 2 == 0 for p in parts)


def test_many_long_sources_fit_discords_per_message_limits():
    answer = Answer("q", "ru", False, "Ответ. " * 400,
                    citations=[_citation(n, "Цитата с **разметкой**. " * 250) for n in range(1, 15)])
    pages = render.answer_pages(answer)
    assert all(message_errors(_payload(p)) == {} for p in pages)
    assert sum(len(p.embeds) for p in pages) == 14
    assert all(len(p.embeds) <= 10 and sum(len(e) for e in p.embeds) <= 6000 for p in pages)
    first_embed = next(p.embeds[0] for p in pages if p.embeds)
    assert first_embed.title.startswith("[1] Раздел 1 с \\_подчёркиванием\\_")
    assert first_embed.description.endswith("…") and len(first_embed.description) <= 4096


def test_refusal_lists_the_closest_sections_without_sources():
    answer = Answer("q", "en", True, "The material does not cover this question.", reason="unsupported",
                    suggestions=["LoRA", "Квантование"])
    [page] = render.answer_pages(answer)
    assert page.embeds == [] and "«LoRA», «Квантование»" in page.content
    assert answer_view(answer) is None


def test_feedback_buttons_only_with_an_answer_id():
    answer = Answer("q", "ru", False, "Ответ [1].", citations=[_citation(1, "Цитата.")])
    assert [c.custom_id for c in answer_view(answer).children] == ["psg:doc.txt:1-4"]
    answer.answer_id = 42
    assert [c.custom_id for c in answer_view(answer).children][:2] == ["fb:+1:42", "fb:-1:42"]


def test_throttled_edits_are_spaced_and_skip_unchanged_text():
    async def scenario():
        shown: list[tuple[float, str]] = []
        loop = asyncio.get_running_loop()

        async def edit(text: str) -> None:
            shown.append((loop.time(), text))

        live = Throttled(edit, 0.2)
        for i in range(12):
            live.push(f"draft {i // 4}")  # the same text repeats
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        await live.close()
        texts = [t for _, t in shown]
        assert texts == sorted(set(texts)) and texts[-1] == "draft 2"
        assert all(b - a >= 0.19 for (a, _), (b, _) in zip(shown, shown[1:]))
    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_api_root_override_sets_rest_and_gateway():
    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        use_api_root("https://discord.example.org/")
        assert discord.http.Route.BASE == "https://discord.example.org/api/v10"
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "wss://discord.example.org/"
        assert discord.http.Route("GET", "/users/@me").url == "https://discord.example.org/api/v10/users/@me"
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway
