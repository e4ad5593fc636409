"""Shared shape of the modal forms: a dialog, labelled inputs, Save (ctrl+s) and Cancel (esc)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from workbench.tui.widgets.field_hint import FieldHint
from workbench.tui.widgets.footer import StableFooter


def labelled(label: str, widget: Any, hint: str = "", required: bool = False) -> Vertical:
    """A label line, the widget, and a hint line (errors go there)."""
    title = Text.assemble((label, "bold"), ("*" if required else "", "red"), ("  " + hint if hint else "", "dim"))
    title.no_wrap, title.overflow = True, "ellipsis"
    return Vertical(Static(title, classes="field-label"), widget, FieldHint(), classes="field-row")


def show_hint(widget: Any, text: str, style: str = "red") -> None:
    widget.parent.query_one(FieldHint).show(Text(text, style=style) if text else Text())


class FormScreen(ModalScreen[Any]):
    """Subclasses compose `form_fields()` and implement `save()`. `is_dirty` once edited."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="save-form"),
        Binding("escape", "cancel", "Cancel", id="cancel-form"),
    ]
    TITLE_TEXT = ""
    SAVE_LABEL = "Save"
    DIALOG_CLASSES = ""  # "tall": use the whole height (long forms)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(classes="modal", **kwargs)
        self.initial: Any = None
        self.drafts: dict[str, Any] = {}  # configurables made from this form: declared when it is saved

    def snapshot(self) -> list[Any]:
        """Every value in the form, to tell whether it was edited."""
        out: list[Any] = []
        for widget in self.query("Input, Select, Checkbox, TextArea"):
            out.append(widget.text if isinstance(widget, TextArea) else getattr(widget, "value", None))
        return out

    @property
    def is_dirty(self) -> bool:
        return self.initial is not None and (self.snapshot() != self.initial or bool(self.drafts))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form-dialog " + self.DIALOG_CLASSES):
            yield Static(self.title_text(), classes="form-title")
            with VerticalScroll(classes="form-body"):
                yield from self.form_fields()
            with Horizontal(classes="form-buttons"):
                yield Button(f"{self.SAVE_LABEL} (ctrl+s)", variant="primary", id="form-save", compact=True)
                yield Button("Cancel (esc)", id="form-cancel", compact=True)
        yield StableFooter()

    def title_text(self) -> Any:
        return Text(self.TITLE_TEXT, style="bold")

    def form_fields(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        first = next(iter(self.query("Input, Select, TextArea")), None)
        if first is not None:
            first.focus()
        self.call_after_refresh(self._remember)

    def _remember(self) -> None:
        self.initial = self.snapshot()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "form-save":
            event.stop()
            self.action_save()
        elif event.button.id == "form-cancel":
            event.stop()
            self.action_cancel()

    def action_cancel(self) -> None:
        if not self.is_dirty:
            self.dismiss(None)
            return
        from workbench.tui.screens.confirm import ConfirmScreen

        self.app.push_screen(ConfirmScreen("Discard the changes in this form?", yes="Discard", no="Keep"),
                             lambda yes: self.dismiss(None) if yes else None)

    def action_save(self) -> None:
        self.save()

    def save(self) -> None:
        raise NotImplementedError
