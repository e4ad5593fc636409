"""The entry-point forms' field checks: `check`'s verdict on the entry point as it is typed
(workbench.project.entry_checks), each problem next to its field, ✓ only where `check` says
nothing. The checks are cheap (a cron parse, a zone lookup), so they run on the keystroke."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def entry_verdict(form: Any, name: str, fields: Mapping[str, Any], widgets: Mapping[str, str],
                  ok: Mapping[str, str] | None = None) -> dict[str, str]:
    """Show check's verdict at each field of `form`: `widgets` maps an entry point's key (as in
    TOML: "schedule", "path", "auth"; "name" for its name) to the id of its input, `ok` the words
    after a ✓ for a field check accepts (none: the hint is hidden). Returns the errors by id."""
    from workbench.project.entry_checks import entry_problems

    view = getattr(form.app, "project_view", None)
    others = dict(getattr(view, "entrypoints", None) or {})
    found: dict[str, tuple[str, str]] = {}
    for _code, message, path, severity in entry_problems(name, fields, others=others, original=form.original):
        widget_id = widgets.get(str(path[0]) if path else "name")
        if widget_id and widget_id not in found:
            found[widget_id] = (message, severity)
    from workbench.tui.screens.form_base import show_hint as show

    for key, widget_id in widgets.items():
        widget = form.query_one(f"#{widget_id}")
        if widget_id in found:
            message, severity = found[widget_id]
            show(widget, ("✗ " if severity == "error" else "⚠ ") + message, "red" if severity == "error" else "yellow")
        else:
            words = (ok or {}).get(key, "")
            show(widget, "✓ " + words if words else "", "green")
    return {widget_id: message for widget_id, (message, severity) in found.items() if severity == "error"}


def focus_key(form: Any, widgets: Mapping[str, str], path: tuple) -> None:
    """Focus the field a diagnostic is about (its path in the entry point's table)."""
    widget_id = widgets.get(str(path[0])) if path else None
    if widget_id:
        form.query_one(f"#{widget_id}").focus()
