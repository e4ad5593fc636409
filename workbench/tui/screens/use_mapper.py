"""A step form's "use a data mapper": the mappers whose output is the operation's payload type
(`OperationSpec.payload_type`), and choosing one writes `${hireToUser(hire)}` (a sync's
`desired`: `${map(rows, rowToUser)}`) into the payload field, for the person to adjust."""

from __future__ import annotations

from typing import Any

from textual.widgets import Select

from workbench.project.address import StepAddress
from workbench.tui.screens.form_base import labelled


def fitting(app: Any, call: str, op: Any) -> list[str]:
    view = app.project_view
    connector = str(view.connections.get(call.partition(".")[0], {}).get("connector", ""))
    wanted = f"{connector}.{op.payload_type}"
    return [name for name, decl in view.datamappers.items() if decl.get("output") == wanted]


def mapper_choice(form: Any):
    if not getattr(form.op, "payload_type", "") or form.kind != "call":
        return
    names = fitting(form.app, form.call, form.op)
    if names:
        options = [(f"{name}  → {form.app.project_view.datamappers[name].get('output')}", name) for name in names]
        yield labelled("Payload", Select(options, prompt="use a data mapper", compact=True, id="use-mapper"),
                       "fills the payload with the mapper's call")


def call_text(form: Any, name: str) -> tuple[str, str]:
    """(the payload field's path, its text) for the chosen mapper."""
    if "desired" in form.op.params.model_fields:
        return "args.desired", f"${{map(rows, {name})}}"
    record = "item"
    try:
        address = StepAddress.parse(form.address)
        parent = form.app.project_view.step_at(form.entry, StepAddress.from_key_path(address.key_path[:-2])) \
            if len(address.key_path) > 2 else None
        if isinstance(parent, dict) and "foreach" in parent:
            record = str(parent.get("as") or "item")
    except Exception:  # noqa: BLE001 - any address: the default name, to adjust
        pass
    return "args.payload", f"${{{name}({record})}}"


async def use_mapper(form: Any, name: str) -> None:
    from workbench.tui.widgets.schema_form import FieldRow

    path, text = call_text(form, name)
    for widget in form.query("FieldRow, PayloadEditor"):
        if widget.path != path:
            continue
        if isinstance(widget, FieldRow):
            widget.set_text(text)
        else:  # the fields editor holds a table: a call is one line of text instead
            row = FieldRow(widget.spec, path, text, configurables=form.configurables)
            await widget.parent.mount(row, before=widget)  # composed before anything reads it
            await widget.remove()
        break
    form.call_after_refresh(form.check_fields)  # once the new row has composed
