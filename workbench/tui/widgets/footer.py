"""A Footer that redraws only when the bindings it shows change.

Textual's Footer recomposes all its keys on every focus change; moving through a long flow
changed nothing in the footer but cost a recompose per key."""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


class StableFooter(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None

    def bindings_changed(self, screen: Any) -> None:
        signature = tuple((key, binding.action, binding.description, enabled, tooltip)
                          for key, (_, binding, enabled, tooltip) in screen.active_bindings.items() if binding.show)
        if signature == self._shown and self._bindings_ready:
            return
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = signature
        super().bindings_changed(screen)
