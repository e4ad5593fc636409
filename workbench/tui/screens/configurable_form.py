"""+ New Configurable: name, type, secret, description, optional default.

From the Configurations pane, Create declares it at once (store.add_configurable) and the screen
returns its name. From a field of a form (ctrl+g) it returns a `ConfigurableDraft`: the form binds
`${config.name}` and declares the drafts it still uses when it is saved; a cancelled form drops
them, so no value-less configurable is left behind to refuse every run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Select

from workbench.tui.errors import guarded
from workbench.tui.screens.form_base import FormScreen, labelled, show_hint

TYPES = ("string", "int", "float", "boolean", "string[]", "int[]")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def unique(name: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "", name) or "value"
    if name[0].isdigit():
        name = "_" + name
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}{n}", n + 1
    return candidate


@dataclass(frozen=True)
class ConfigurableDraft:
    name: str
    type: str = "string"
    description: str = ""
    secret: bool = False
    default: Any = None


def declare_drafts(store: Any, drafts: dict[str, ConfigurableDraft], saved: Any) -> None:
    """Declare the drafts that the saved values bind (`${config.name}`), before the values."""
    text = repr(saved)
    for draft in drafts.values():
        if f"config.{draft.name}" in text and draft.name not in store.project.configurables:
            store.add_configurable(draft.name, draft.type, description=draft.description, secret=draft.secret,
                                   default=draft.default)


class ConfigurableScreen(FormScreen):
    TITLE_TEXT = "New Configurable"
    SAVE_LABEL = "Create"

    def __init__(self, taken: set[str], suggestion: str = "", type: str = "string", secret: bool = False,
                 description: str = "", *, draft: bool = False) -> None:
        super().__init__()
        self.draft = draft  # for a form: return a ConfigurableDraft, write nothing
        self.taken = taken
        self.suggestion = unique(suggestion, taken) if suggestion else ""
        self.type = type if type in TYPES else "string"
        self.secret = secret
        self.description = description

    def form_fields(self) -> ComposeResult:
        yield labelled("Name", Input(self.suggestion, id="cfg-name", compact=True), "letters, digits, _",
                       required=True)
        yield labelled("Type", Select([(t, t) for t in TYPES], value=self.type, allow_blank=False,
                                      id="cfg-type", compact=True))
        yield Checkbox("Secret (masked; kept in Config.toml with mode 0600)", self.secret, id="cfg-secret",
                       compact=True)
        yield labelled("Description", Input(self.description, id="cfg-description", compact=True))
        yield labelled("Default", Input(id="cfg-default", compact=True, placeholder="none: a value is required"),
                       "optional")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "cfg-name":
            show_hint(event.input, self.name_problem(event.value))

    def name_problem(self, name: str) -> str:
        if not name:
            return "a name is required"
        if not NAME_RE.match(name):
            return "use letters, digits and _, not starting with a digit"
        if name in self.taken:
            return f"{name} already exists; bind it with ${{config.{name}}}"
        return ""

    @guarded
    def save(self) -> None:
        name_input = self.query_one("#cfg-name", Input)
        name = name_input.value.strip()
        problem = self.name_problem(name)
        if problem:
            show_hint(name_input, problem)
            name_input.focus()
            return
        type_ = str(self.query_one("#cfg-type", Select).value)
        secret = self.query_one("#cfg-secret", Checkbox).value
        description = self.query_one("#cfg-description", Input).value.strip()
        default_input = self.query_one("#cfg-default", Input)
        default: Any = None
        if default_input.value.strip():
            from workbench.project.config import CoercionError, coerce

            try:
                default = coerce(type_, default_input.value, from_text=True, secret=secret)
            except CoercionError as exc:
                show_hint(default_input, f"✗ {exc}")
                default_input.focus()
                return

        if self.draft:
            self.dismiss(ConfigurableDraft(name, type_, description, secret, default))
            return

        def change(store) -> str:
            store.add_configurable(name, type_, description=description, secret=secret, default=default)
            return name

        self.app.apply_edit(f"new configurable {name}", change, then=self.dismiss)
