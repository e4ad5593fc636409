"""A Footer that redraws only what changed in the bindings it shows.

Textual's Footer recomposes all its keys on every focus change. Moving through a long flow
changes nothing in the footer, or only dims a key or two (Up, Down and Delete apply to a step,
not to a `+`). A recompose cost ~18 ms a key. Now the same keys only change their dimming."""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class StableFooter(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None  # the keys shown: (key, action, description, tooltip)
        self._enabled: tuple | None = None  # and which of them are enabled

    def bindings_changed(self, screen: Any) -> None:
        shown = [(key, binding, enabled, tooltip)
                 for key, (_, binding, enabled, tooltip) in screen.active_bindings.items() if binding.show]
        layout = tuple((key, binding.action, binding.description, tooltip) for key, binding, _, tooltip in shown)
        enabled = tuple(flag for _, _, flag, _ in shown)
        if layout == self._shown and self._bindings_ready:
            if enabled != self._enabled:
                self._enabled = enabled
                self._dim(shown)
            return
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown, self._enabled = layout, enabled
        super().bindings_changed(screen)

    def _dim(self, shown: list) -> None:
        # As Footer.compose does: a key shows its action's first binding, dimmed when disabled.
        first: dict[str, bool] = {}
        for _, binding, enabled, _ in shown:
            first.setdefault(binding.action, enabled)
        for key in self.query(FooterKey):
            if key.action in first:
                key.set_class(not first[key.action], "-disabled")
