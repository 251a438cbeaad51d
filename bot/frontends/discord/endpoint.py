"""`DISCORD_API_BASE_URL`: point discord.py at a Discord-compatible API (e.g. a local fake).

discord.py has no documented option for this. A plain `Client` sends REST calls to
`Route.BASE` and connects straight to `DiscordWebSocket.DEFAULT_GATEWAY`, so both class
attributes are set before the client starts. They are internal: requirements.txt pins the
discord.py minor version, and tests/test_discord.py fails if they move.
"""
from __future__ import annotations

import discord.gateway
import discord.http
import yarl


def use_api_root(root: str) -> None:
    """Send REST calls to `{root}/api/v10` and open the gateway at `{root with ws(s)://}/`."""
    root = root.rstrip("/")
    url = yarl.URL(root)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"DISCORD_API_BASE_URL must be an http(s) URL, got {root!r}")
    discord.http.Route.BASE = f"{root}/api/v10"
    ws_scheme = "wss" if url.scheme == "https" else "ws"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(url.with_scheme(ws_scheme)).rstrip("/") + "/")
