"""What the flow view, the tree and the forms ask for: insert, edit, move and delete steps (the
step panel, then the step form), edit an automation, delete an item, make a configurable. These
are WorkbenchApp's handlers; the state they use is the app's project view and catalogue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.project.address import StepAddress
from workbench.project.view import step_kind
from workbench.tui.errors import guarded
from workbench.tui.messages import (
    ConfigurableRequested,
    DeleteStepRequested,
    EditEntryRequested,
    EditStepRequested,
    InsertStepRequested,
    ItemDeleteRequested,
    MoveStepRequested,
)


class StepActions:
    """WorkbenchApp's editing handlers (they use its project_view, specs, flow and apply_edit)."""

    # What the app provides (app.py, project_io.py).
    project_view: Any  # workbench.project.view.ProjectView
    specs: dict[str, Any] | None
    issues: Any  # workbench.tui.issues.Issues
    current: tuple[str, str]
    flow: Any  # FlowView
    _after_catalogue: list[Callable[[], Any]]
    apply_edit: Callable[..., Any]
    selected_entry: Callable[[], str]
    show_item: Callable[..., None]

    def _connections_for_panel(self) -> list[tuple[str, Any]]:
        return [(name, (self.specs or {}).get(str(decl.get("connector"))))
                for name, decl in self.project_view.connections.items()]

    @guarded
    def action_add_entry(self) -> None:
        """The automation form; its Kind (or ctrl+n) switches to the service form."""
        from workbench.tui.screens.entrypoint_form import EntryPointScreen
        from workbench.tui.screens.service_form import ServiceScreen

        def created(name: str | tuple | None) -> None:
            if isinstance(name, tuple):  # ("service", the name typed so far)
                self.push_screen(ServiceScreen(taken, set(self.project_view.configurables), suggestion=name[1]),
                                 created)
            elif name:
                self.show_item("entrypoints", name, focus=True)

        taken = set(self.project_view.entrypoints)
        self.push_screen(EntryPointScreen(taken), created)

    @guarded
    def action_add_step(self) -> None:
        entry = self.selected_entry()
        if not entry:
            self.notify("select an automation first (Entry Points in the tree)", severity="warning")
            return
        if self.current != ("entrypoints", entry):
            self.show_item("entrypoints", entry)
        end = StepAddress.top(len(self.project_view.steps(entry)))
        address = self.flow.insert_address() if self.flow.current else str(end)
        self.post_message(InsertStepRequested(entry, address))

    @guarded
    def on_insert_step_requested(self, message: InsertStepRequested) -> None:
        if self.specs is None and self.project_view.connections:
            self._after_catalogue.append(lambda: self.on_insert_step_requested(message))
            return
        from workbench.tui.screens.step_panel import StepPanel

        entry, address = message.entry, message.address

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice:
                self._open_step_form(entry, address, choice, None)

        self.push_screen(StepPanel(self._connections_for_panel(), address), chosen)

    @guarded
    def on_edit_step_requested(self, message: EditStepRequested) -> None:
        step = self.project_view.step_at(message.entry, message.address)
        if step is None:
            return
        kind = step_kind(step)
        if kind == "?":
            self.notify("this step has no kind; fix it in workbench.toml", severity="error")
            return
        if kind == "call" and self.specs is None:  # the operation's schema comes with the catalogue
            self._after_catalogue.append(lambda: self.on_edit_step_requested(message))
            return
        choice = ("call", str(step.get("call", ""))) if kind == "call" else ("kind", kind)
        self._open_step_form(message.entry, message.address, choice, step)

    def _open_step_form(self, entry: str, address: str, choice: tuple[str, str], step: dict | None) -> None:
        from workbench.tui.screens.step_form import StepFormScreen

        op = None
        if choice[0] == "call":
            connection, _, operation = choice[1].partition(".")
            decl = self.project_view.connections.get(connection, {})
            spec = (self.specs or {}).get(str(decl.get("connector")))
            op = spec.operations.get(operation) if spec else None
            kind = "call"
        else:
            kind = choice[1]
        from workbench.tui.field_checks import field_of

        focus = field_of(self.issues.for_step(entry, address), entry, address) if step is not None else None
        screen = StepFormScreen(entry, address, kind, call=choice[1] if kind == "call" else "", op=op, step=step,
                                configurables=tuple(self.project_view.configurables), focus_path=focus)
        from workbench.tui.expression_paths import request_paths

        screen.expression_paths = request_paths(self.project_view.entrypoints.get(entry) or {})  # a service's ${request...}
        from workbench.project.edit_base import EditBase

        # The step (or the slot) as this form saw it: its save lands there or is refused.
        screen.base = (EditBase.insert if step is None else EditBase.step)(self.project_view.data, entry, address)

        def saved(new_address: str | None) -> None:
            if new_address:
                self.show_item("entrypoints", entry)
                self.call_after_refresh(self.flow.focus_step, new_address)

        self.push_screen(screen, saved)

    @guarded
    def on_move_step_requested(self, message: MoveStepRequested) -> None:
        from workbench.project.edit_base import EditBase

        entry, address, delta = message.entry, message.address, message.delta
        base = EditBase.step(self.project_view.data, entry, address)  # moves the step shown, wherever it is now
        self.apply_edit("move step", lambda store: store.move_step(entry, base.locate(store, in_place=True), delta),
                        then=lambda new: self.call_after_refresh(self.flow.focus_step, new))

    @guarded
    def on_delete_step_requested(self, message: DeleteStepRequested) -> None:
        from workbench.project.edit_base import EditBase
        from workbench.tui.screens.confirm import ConfirmScreen

        entry, address = message.entry, message.address
        step = self.project_view.step_at(entry, address) or {}
        base = EditBase.step(self.project_view.data, entry, address)  # the step confirmed, not its address
        kind = step_kind(step)
        what = f"{step.get('call')}" if kind == "call" else kind

        def answer(yes: bool) -> None:
            if yes:
                self.apply_edit("delete step", lambda store: store.remove_step(entry, base.locate(store)),
                                then=lambda _: self.call_after_refresh(self._focus_near, address))

        self.push_screen(ConfirmScreen(f"Delete the {what} step at {address}?"), answer)

    def _focus_near(self, address: str) -> None:
        if not self.flow.focus_key(f"step:{address}") and not self.flow.focus_key(f"insert:{address}"):
            self.flow.focus_first()

    @guarded
    def on_edit_entry_requested(self, message: EditEntryRequested) -> None:
        from workbench.tui.screens.entrypoint_form import EntryPointScreen

        entry = message.entry

        def saved(name: str | None) -> None:
            if name:
                self.show_item("entrypoints", name, focus=True)

        taken, data = set(self.project_view.entrypoints), self.project_view.entrypoints.get(entry) or {}
        if data.get("kind") == "service":
            from workbench.tui.screens.service_form import ServiceScreen

            screen = ServiceScreen(taken, set(self.project_view.configurables), entry, data)
        else:
            screen = EntryPointScreen(taken, entry, data)
        screen.focus_path = message.focus  # opened from a diagnostic: its field has the focus
        self.push_screen(screen, saved)

    @guarded
    def on_item_delete_requested(self, message: ItemDeleteRequested) -> None:
        from workbench.tui.screens.confirm import ConfirmScreen

        from workbench.project.edit_base import EditBase, EditConflict
        from workbench.project.store import EditError

        section, name = message.section, message.name
        item = getattr(self.project_view, section, {}).get(name)
        kind = "service" if section == "entrypoints" and isinstance(item, dict) and item.get("kind") == "service" \
            else {"connections": "connection", "entrypoints": "automation", "configurables": "configurable",
                  "datamappers": "data mapper"}.get(section, section)
        what = f"{kind} {name}"
        base = EditBase.item(section, name, item)  # what the person confirmed: not a newer version

        def delete(store: Any) -> None:
            try:
                base.check(store)
            except EditConflict:
                raise EditError(f"the {what} changed in another window since the tree showed it; nothing was "
                                "deleted: look at it again, and delete it if you still want to") from None
            store.remove(section, name)

        def answer(yes: bool) -> None:
            if yes:
                self.apply_edit(f"delete {what}", delete)

        self.push_screen(ConfirmScreen(f"Delete the {what}? Steps or fields that use it will be reported "
                                       "by the check."), answer)

    @guarded
    def action_new_configurable(self) -> None:
        """From the Configurations pane: declared at once."""
        from workbench.tui.screens.configurable_form import ConfigurableScreen

        def created(name: str | None) -> None:
            if name:
                self.show_item("configurables", name, focus=True)

        self.push_screen(ConfigurableScreen(set(self.project_view.configurables)), created)

    @guarded
    def on_configurable_requested(self, message: ConfigurableRequested) -> None:
        """From a form's field: a draft, declared when that form is saved."""
        from workbench.tui.screens.configurable_form import ConfigurableScreen

        message.stop()
        field = message.field
        form = next((node for node in field.ancestors_with_self if hasattr(node, "drafts")), None)
        taken = set(self.project_view.configurables) | set(form.drafts if form is not None else ())

        def created(draft) -> None:
            if draft is None:
                return
            if form is not None:
                form.drafts[draft.name] = draft
            field.bind(draft.name)

        self.push_screen(ConfigurableScreen(taken, message.suggestion, message.type, message.secret,
                                            message.description, draft=True), created)
