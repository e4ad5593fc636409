"""The access tokens the sandbox issued, shared by its token endpoint and its SCIM server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class IssuedToken:
    client_id: str
    expires_at: float | None  # on the store's clock; None never expires


class TokenStore:
    """Thread-safe: the token endpoint and the SCIM server run in the server's request threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, IssuedToken] = {}
        self.issued = 0

    def __repr__(self) -> str:  # never list the tokens
        return f"TokenStore(active={len(self._tokens)}, issued={self.issued})"

    def add(self, token: str, *, client_id: str, expires_in: int | float | None) -> None:
        now = self._clock()
        expires_at = None if not expires_in else now + float(expires_in)
        with self._lock:
            self._tokens[token] = IssuedToken(client_id, expires_at)
            self.issued += 1
            # Forget expired tokens so a long-running sandbox does not grow without bound.
            for key in [k for k, v in self._tokens.items() if v.expires_at is not None and v.expires_at <= now]:
                del self._tokens[key]

    def check(self, token: str) -> str | None:
        """The reason the token is refused, or None when it is valid."""
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None:
            return "The access token is unknown or was revoked."
        if issued.expires_at is not None and self._clock() >= issued.expires_at:
            return "The access token expired."
        return None

    def revoke_all(self) -> None:
        with self._lock:
            self._tokens.clear()
