"""Add (or edit) an Automation: name, optional cron schedule (checked with croniter), timezone,
description. A new automation gets a default name (automation, automation2, ...) and an Error
Handler that logs the error, so it is created with no typing. Its Kind (ctrl+n) turns the form
into Add Entry Point → Service (service_form.py)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Select

from workbench.tui.errors import guarded
from workbench.tui.screens.configurable_form import NAME_RE, unique
from workbench.tui.screens.form_base import FormScreen, labelled, show_hint

# A new automation's Error Handler logs the error, as the integrator's default does.
DEFAULT_ERROR_STEP = {"log": "${error.message}", "level": "error"}


def cron_problem(schedule: str) -> str:
    if not schedule:
        return ""
    if len(schedule.split()) != 5:
        return "a cron schedule has 5 fields: minute hour day-of-month month day-of-week"
    from croniter import croniter

    return "" if croniter.is_valid(schedule) else f"{schedule!r} is not a valid cron expression"


def timezone_problem(timezone: str) -> str:
    if not timezone:
        return ""
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone)
    except Exception:  # noqa: BLE001 - ZoneInfo raises several kinds
        return f"unknown timezone {timezone!r}"
    return ""


class EntryPointScreen(FormScreen):
    SAVE_LABEL = "Create"
    BINDINGS = [Binding("ctrl+n", "as_service", "Service", id="entry-as-service")]

    def __init__(self, taken: set[str], name: str | None = None, entry: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.taken = taken
        self.original = name
        self.entry = entry or {}
        if name:
            self.SAVE_LABEL = "Save"

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
        value = event.value.strip()
        if event.input.id == "ep-name":
            show_hint(event.input, self.name_problem(value))
        elif event.input.id == "ep-schedule":
            problem = cron_problem(value)
            if problem or not value:
                show_hint(event.input, problem)
            else:
                show_hint(event.input, "✓ valid cron: minute hour day-of-month month day-of-week", "green")
        elif event.input.id == "ep-timezone":
            show_hint(event.input, timezone_problem(value))

    def name_problem(self, name: str) -> str:
        if not name:
            return "a name is required"
        if not NAME_RE.match(name):
            return "use letters, digits and _, not starting with a digit"
        if name != self.original and name in self.taken:
            return f"an entry point named {name} already exists"
        return ""

    @guarded
    def save(self) -> None:
        values = {key: self.query_one(f"#ep-{key}", Input).value.strip()
                  for key in ("name", "schedule", "timezone", "description")}
        checks = {"name": self.name_problem(values["name"]), "schedule": cron_problem(values["schedule"]),
                  "timezone": timezone_problem(values["timezone"])}
        for key, problem in checks.items():
            if problem:
                widget = self.query_one(f"#ep-{key}", Input)
                show_hint(widget, problem)
                widget.focus()
                return
        name, original = values["name"], self.original
        schedule, timezone, description = values["schedule"] or None, values["timezone"] or None, values["description"]

        def change(store) -> str:
            if original is None:
                store.add_entrypoint(name, schedule=schedule, timezone=timezone, description=description)
                store.add_step(name, dict(DEFAULT_ERROR_STEP), at="onError")
            else:
                if name != original:
                    store.rename("entrypoints", original, name)
                store.update_entrypoint(name, schedule=schedule, timezone=timezone, description=description)
            return name

        self.app.apply_edit(f"save automation {name}", change, then=self.dismiss)
