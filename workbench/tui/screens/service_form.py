"""Add Entry Point → Service (the automation form's Kind, or ctrl+n, switches to it), and
editing a service: name, method, path, caller auth, description. A bearer or hmac service's token or secret is a secret
configurable, declared with the service when it is new (its value is set in Configurations)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Select

from workbench.project.service import METHODS
from workbench.tui.errors import guarded
from workbench.tui.screens.configurable_form import unique
from workbench.tui.screens.entrypoint_form import DEFAULT_ERROR_STEP, EntryForm
from workbench.tui.screens.form_base import labelled, show_hint

AUTHS = (("bearer: Authorization: Bearer <token>", "bearer"), ("hmac: a signature of the body", "hmac"),
         ("none: anyone who reaches the port", "none"))


FIELDS = ("method", "path", "auth", "description")  # what the form writes of a service
# The form's inputs by the service's keys (the secret's name is its auth's token or secret).
WIDGETS = {"name": "svc-name", "method": "svc-method", "path": "svc-path", "auth": "svc-secret"}


class ServiceScreen(EntryForm):
    FIELDS, WIDGETS = FIELDS, WIDGETS
    IMPLIED = {"method": "POST"}

    def __init__(self, taken: set[str], configurables: set[str], name: str | None = None,
                 entry: dict[str, Any] | None = None, suggestion: str = "") -> None:
        super().__init__(taken, name, entry)
        self.configurables = configurables
        self.suggestion = suggestion  # the name typed in the automation form before switching

    def title_text(self) -> Text:
        return Text("Service " + self.original if self.original else "Add Entry Point → Service", style="bold")

    def form_fields(self) -> ComposeResult:
        entry = self.entry
        name = self.original or self.suggestion or unique("service", self.taken)
        auth = entry.get("auth") if isinstance(entry.get("auth"), dict) else {}
        method = str(entry.get("method") or "POST").upper()
        yield labelled("Name", Input(name, id="svc-name", compact=True, placeholder="e.g. newHire"), required=True)
        yield labelled("Method", Select([(m, m) for m in METHODS], value=method if method in METHODS else "POST",
                                        allow_blank=False, compact=True, id="svc-method"))
        yield labelled("Path", Input(str(entry.get("path") or f"/{name}"), id="svc-path", compact=True,
                                     placeholder="/hires, or /hires/{id}"), required=True)
        yield labelled("Auth", Select([(label, value) for label, value in AUTHS], value=auth.get("type", "bearer"),
                                      allow_blank=False, compact=True, id="svc-auth"))
        yield labelled("Secret configurable", Input(self._secret_name(auth), id="svc-secret", compact=True),
                       "holds the token or hmac secret")
        yield labelled("Description", Input(str(entry.get("description") or ""), id="svc-description", compact=True))

    @staticmethod
    def _secret_name(auth: dict[str, Any]) -> str:
        value = str(auth.get("token") or auth.get("secret") or "")
        if value.startswith("${config.") and value.endswith("}"):
            return value[len("${config."):-1]
        return value or "hookToken"

    def on_input_changed(self, event: Input.Changed) -> None:
        self.verdict()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id in ("svc-method", "svc-auth"):
            self.verdict()

    def verdict(self) -> dict[str, str]:
        """check's verdict on the service as typed, at its fields; the errors by input id."""
        from workbench.project.entry_checks import name_problem
        from workbench.tui.entry_fields import entry_verdict

        values = {key: self.query_one(f"#svc-{key}", Input).value.strip() for key in ("name", "path", "secret")}
        typed = {"kind": "service", "method": str(self.query_one("#svc-method", Select).value),
                 "path": values["path"] or None, "auth": self._auth_table(self._auth(), values["secret"])}
        # The secret's configurable is declared on save: its name must be one (as the store says).
        problem = name_problem("configurables", values["secret"], ()) if self._auth() != "none" else None
        widgets = {key: widget for key, widget in WIDGETS.items() if key != "auth"} if problem else WIDGETS
        errors = entry_verdict(self, values["name"], typed, widgets, {"path": "a valid route"} if values["path"] else {})
        if problem:
            errors["svc-secret"] = problem
            show_hint(self.query_one("#svc-secret", Input), "✗ " + problem)
        return errors

    def _auth_table(self, kind: str, secret: str) -> dict[str, Any]:
        old = self.entry.get("auth") if isinstance(self.entry.get("auth"), dict) else {}
        auth: dict[str, Any] = {"type": kind}
        if kind == "bearer":
            auth["token"] = f"${{config.{secret}}}"
        elif kind == "hmac":
            auth.update({k: v for k, v in old.items() if k in ("header", "algorithm", "prefix")})
            auth["secret"] = f"${{config.{secret}}}"
        return auth

    def _auth(self) -> str:
        return str(self.query_one("#svc-auth", Select).value)

    def faithful(self, key: str, value: Any) -> bool:
        if key == "method":
            return isinstance(value, str) and value.upper() == self.shown["method"]
        if key == "auth":  # the table the form rebuilds from its Auth and Secret fields, within the file's
            return isinstance(value, dict) and all(value.get(k) == v for k, v in self.shown["auth"].items())
        return super().faithful(key, value)

    def typed(self) -> dict[str, Any]:
        values = {key: self.query_one(f"#svc-{key}", Input).value.strip() for key in ("path", "secret", "description")}
        return {"method": str(self.query_one("#svc-method", Select).value), "path": values["path"],
                "auth": self._auth_table(self._auth(), values["secret"]), "description": values["description"]}

    @guarded
    def save(self) -> None:
        errors = self.verdict()
        if errors:  # check would refuse it: stay, at the first such field
            self.query_one(f"#{next(iter(errors))}").focus()
            return
        name, original = self.query_one("#svc-name", Input).value.strip(), self.original
        typed, changes = self.typed(), self.changes()
        method, path, auth, description = (typed[key] for key in FIELDS)
        kind, secret = self._auth(), self.query_one("#svc-secret", Input).value.strip()
        declare, known = kind != "none", self.configurables

        def change(store) -> str:
            fields = self.base and self.base.rebase(store, changes)
            if declare and secret not in known and secret not in store.project.configurables:
                store.add_configurable(secret, "string", secret=True,
                                       description=f"The {'bearer token' if kind == 'bearer' else 'hmac secret'} "
                                                   f"callers of {name} send")
            if original is None:
                store.add_service(name, method=method, path=path, auth=auth, description=description)
                store.add_step(name, dict(DEFAULT_ERROR_STEP), at="onError")
            else:
                if name != original:
                    store.rename("entrypoints", original, name)
                store.update_entrypoint(name, **fields)
            return name

        self.app.apply_edit(f"save service {name}", change, then=self.dismiss)
