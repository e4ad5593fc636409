"""URL helpers shared by the HTTP-based connectors."""

from __future__ import annotations

import httpx


def safe_url(url: httpx.URL | str) -> str:
    """The URL without user info (never a password in a message or an event)."""
    if isinstance(url, str):
        if "@" not in url:  # the common case, without parsing
            return url
        url = httpx.URL(url)
    if url.userinfo:
        url = url.copy_with(username=None, password=None)
    return str(url)
