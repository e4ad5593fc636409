"""Enter on a diagnostic's line (under a tree item): open the form with the focus on the field
the diagnostic names (its key path). A step's field opens the step's form (step_actions focuses
the field of the step's first diagnostic), an entry point's own field its form, a connection's
field its form (connection_form.problem_row), a configurable its row."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from workbench.tui.issues import MARKS


def first_line(diagnostics: list) -> Text | None:
    """The item's first diagnostic, its first line (the rest is the Problems list's): errors first."""
    if not diagnostics:
        return None
    diag = next((d for d in diagnostics if d.severity == "error"), diagnostics[0])
    words = (diag.message.splitlines() or [""])[0]
    more = f" (+{len(diagnostics) - 1})" if len(diagnostics) > 1 else ""
    text = Text.assemble((MARKS[diag.severity] + " " + words, "red" if diag.severity == "error" else "yellow"),
                         (more, "dim"))
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def shown(diagnostics: list) -> Any:
    """The diagnostic `first_line` shows."""
    return next((d for d in diagnostics if d.severity == "error"), diagnostics[0]) if diagnostics else None


def jump_to_field(app: Any, diagnostic: Any) -> None:
    from workbench.project.address import split_key_path
    from workbench.tui.issues import locate
    from workbench.tui.messages import EditEntryRequested, EditStepRequested

    item, address = locate(diagnostic)
    if item is None:
        return
    section, name = item
    if section != "entrypoints":
        app.show_item(section, name, focus=True)  # a connection's form focuses its problem's field
        return
    app.show_item(section, name)
    if address:
        app.call_after_refresh(app.flow.focus_step, address)
        app.post_message(EditStepRequested(name, address))
    else:
        field = tuple(split_key_path(diagnostic.key)[2:])
        app.post_message(EditEntryRequested(name, focus=field))
