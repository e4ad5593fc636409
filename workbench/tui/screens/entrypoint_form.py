"""Add (or edit) an Automation: name, optional cron schedule (checked with croniter), timezone,
description. A new automation gets a default name (automation, automation2, ...) and an Error
Handler that logs the error, so it is created with no typing. Its Kind (ctrl+n) turns the form
into Add Entry Point → Service (service_form.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Select

from workbench.tui.errors import guarded
from workbench.tui.screens.configurable_form import unique
from workbench.tui.screens.form_base import FormScreen, labelled

# A new automation's Error Handler logs the error, as the integrator's default does.
DEFAULT_ERROR_STEP = {"log": "${error.message}", "level": "error"}
FIELDS = ("schedule", "timezone", "description")  # what the form writes of an automation


# The form's inputs by the entry point's keys; ✓ words where check accepts a field.
WIDGETS = {"name": "ep-name", "schedule": "ep-schedule", "timezone": "ep-timezone"}
ACCEPTED = {"schedule": "valid cron: minute hour day-of-month month day-of-week", "timezone": "a known timezone"}


class EntryForm(FormScreen):
    """What the automation and the service forms share: the entry point as opened (its base, so a
    stale save merges or is refused), check's verdict at the fields from the start, and the focus
    on the field a diagnostic names."""

    SAVE_LABEL = "Create"
    FIELDS: tuple[str, ...] = ()  # the keys the form writes
    WIDGETS: dict[str, str] = {}  # the form's inputs by the entry point's keys
    IMPLIED: ClassVar[dict[str, Any]] = {}  # a key's meaning when absent, as the form shows it
    focus_path: tuple[str, ...] = ()  # the field a diagnostic is about (its path in the entry's table): set by the opener

    def __init__(self, taken: set[str], name: str | None = None, entry: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.taken = taken
        self.original = name
        self.entry = entry or {}
        if name:
            self.SAVE_LABEL = "Save"
        from workbench.project.edit_base import EditBase  # loads the store: not at the app's start-up

        self.base = EditBase.item("entrypoints", name, self.entry, self.FIELDS) if name else None

    def on_mount(self) -> None:  # FormScreen's runs too (Textual calls each class's handler)
        self.shown = self.typed()  # what the form showed: a field left so is no change of the user's
        self.verdict()  # an entry point saved with a problem shows it at once
        if self.focus_path:  # opened from a diagnostic: its field
            from workbench.tui.entry_fields import focus_key

            self.call_after_refresh(focus_key, self, self.WIDGETS, self.focus_path)

    def verdict(self) -> dict[str, str]:
        raise NotImplementedError

    def typed(self) -> dict[str, Any]:
        """The keys the form writes (FIELDS), as the fields hold them now."""
        raise NotImplementedError

    def faithful(self, key: str, value: Any) -> bool:
        """Whether the form showed the file's `value` of `key` as it is (not a substitute)."""
        return isinstance(value, str) and value.strip() == self.shown.get(key)

    def changes(self) -> dict[str, Any]:
        """What to merge into the entry point: the fields as typed, but a field left as the form
        showed the file's value keeps the file's value (an absent `method`, shown as POST, stays
        absent), so it is no change of this form's and no conflict with another window's. A
        field that showed a substitute (an unknown method as POST) is written as shown."""
        out = self.typed()
        for key, value in out.items():
            if value != self.shown.get(key):
                continue
            if key in self.entry and self.faithful(key, self.entry[key]):
                out[key] = self.entry[key]
            elif key not in self.entry and key in self.IMPLIED and self.IMPLIED[key] == value:
                out[key] = None
        return out


class EntryPointScreen(EntryForm):
    BINDINGS = [Binding("ctrl+n", "as_service", "Service", id="entry-as-service")]
    FIELDS, WIDGETS = FIELDS, WIDGETS

    def title_text(self) -> Text:
        return Text("Automation " + self.original if self.original else "Add Entry Point → Automation", style="bold")

    def form_fields(self) -> ComposeResult:
        entry = self.entry
        name = self.original or unique("automation", self.taken)  # created with no typing
        self.default_name = name
        yield labelled("Name", Input(name, id="ep-name", compact=True, placeholder="e.g. provisionUser"),
                       required=True)
        yield labelled("Schedule", Input(str(entry.get("schedule") or ""), id="ep-schedule", compact=True,
                                         placeholder="cron, e.g. 0 9 * * 1-5 (empty: run on demand)"), "optional")
        yield labelled("Timezone", Input(str(entry.get("timezone") or ""), id="ep-timezone", compact=True,
                                         placeholder="UTC"), "optional")
        yield labelled("Description", Input(str(entry.get("description") or ""), id="ep-description", compact=True))
        if not self.original:  # last, so Tab from the name reaches the schedule first
            yield labelled("Kind", Select([("Automation", "automation"), ("Service: runs per HTTP request", "service")],
                                          value="automation", allow_blank=False, compact=True, id="ep-kind"),
                           "ctrl+n: a service")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "ep-kind" and event.value == "service":
            self.action_as_service()

    def action_as_service(self) -> None:
        """Add a service instead: the service form, with the name typed so far."""
        if not self.original:
            typed = self.query_one("#ep-name", Input).value.strip()
            self.dismiss(("service", "" if typed == self.default_name else typed))  # "": the service's own default

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in WIDGETS.values():
            self.verdict()

    def typed(self) -> dict[str, Any]:
        values = {key: self.query_one(f"#ep-{key}", Input).value.strip() for key in FIELDS}
        return {"schedule": values["schedule"] or None, "timezone": values["timezone"] or None,
                "description": values["description"]}

    def verdict(self) -> dict[str, str]:
        """check's verdict on the automation as typed, at its fields; the errors by input id."""
        from workbench.tui.entry_fields import entry_verdict

        values = {key: self.query_one(f"#ep-{key}", Input).value.strip() for key in ("name", "schedule", "timezone")}
        typed = {"kind": "automation", "schedule": values["schedule"] or None, "timezone": values["timezone"] or None}
        accepted = {k: v for k, v in ACCEPTED.items() if values[k]}  # an empty optional field needs no ✓
        return entry_verdict(self, values["name"], typed, WIDGETS, accepted)

    @guarded
    def save(self) -> None:
        errors = self.verdict()
        if errors:  # check would refuse it: stay, at the first such field
            self.query_one(f"#{next(iter(errors))}", Input).focus()
            return
        name, original = self.query_one("#ep-name", Input).value.strip(), self.original
        typed, changes = self.typed(), self.changes()
        schedule, timezone, description = (typed[key] for key in FIELDS)

        def change(store) -> str:
            if original is None:
                store.add_entrypoint(name, schedule=schedule, timezone=timezone, description=description)
                store.add_step(name, dict(DEFAULT_ERROR_STEP), at="onError")
            else:
                fields = self.base.rebase(store, changes)
                if name != original:
                    store.rename("entrypoints", original, name)
                store.update_entrypoint(name, **fields)
            return name

        self.app.apply_edit(f"save automation {name}", change, then=self.dismiss)
