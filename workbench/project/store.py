"""A project on disk: `workbench.toml` and `Config.toml`, loaded into models and edited in place.

Reads use tomllib (fast). The first edit parses the file with tomlkit, and every edit changes that
document, so hand-written comments, order and formatting survive. A file that fails to parse is
never written.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from workbench.project.diagnostic import ERROR, Diagnostic
from workbench.project.secret_sources import secrets_path
from workbench.project.view import CONFIG_FILE, PROJECT_FILE
from workbench.project.files import (
    EditError,
    ProjectFileError,
    format_key_path,
    locked,
)
from workbench.project.model import (
    NAME_RE,
    STEP_KINDS,
    Configurable,
    ConnectionDecl,
    EntryPoint,
    Integration,
    Project,
)
from workbench.project.mappers import DataMapper, RecordType
from workbench.project.step_edits import StepEdits, edit_locked
from workbench.project.toml_doc import (
    TomlFile,
    merge_table,
    rename_key,
    rewrite_call_targets,
    rewrite_strings,
    set_key,
    to_table,
)

STATE_DIR = ".workbench"
LOCK_FILE = "lock"
SECTIONS = {"configurables": Configurable, "connections": ConnectionDecl, "entrypoints": EntryPoint,
            "types": RecordType, "datamappers": DataMapper}


class ProjectStore(StepEdits):
    def __init__(self, root: Path | str, config_file: Path | str | None = None) -> None:
        self.root = Path(root).resolve()
        self.project_file = TomlFile(self.root / PROJECT_FILE)
        self.config_file = TomlFile(Path(config_file).resolve() if config_file else self.root / CONFIG_FILE)
        self.secrets_file = TomlFile(secrets_path(self.config_file.path))  # Config-secrets.toml
        self.project: Project = Project(integration=Integration(name=self.root.name))
        self.load_diagnostics: list[Diagnostic] = []
        self._mutex = threading.RLock()
        self._editing = False

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path | str, config_file: Path | str | None = None) -> ProjectStore:
        """Load a project. Raises ProjectFileError only when there is no workbench.toml (or no
        `config_file` when one is named); parse and schema errors become `load_diagnostics` so
        `check` and the app can show them."""
        store = cls(root, config_file)
        if not store.project_file.path.is_file():
            raise ProjectFileError(store.project_file.path, "no workbench.toml here (create one with `workbench new`)")
        if config_file and not store.config_file.path.is_file():
            raise ProjectFileError(store.config_file.path, "no such file")
        store.reload()
        return store

    def reload(self) -> None:
        for f in self.files:
            f.load()
        self._build_model()

    @contextlib.contextmanager
    def editing(self) -> Iterator[None]:
        """Hold the project's write lock (`.workbench/lock`, shared by every process) around a
        read-modify-write, and re-read the files first, so an edit never drops another's."""
        with self._mutex:
            if self._editing:  # nested: the outer edit holds the lock
                yield
                return
            with locked(self.state_dir / LOCK_FILE):
                self._editing = True
                try:
                    if any([f.refresh() for f in self.files]):  # a list: refresh every file
                        self._build_model()
                    yield
                finally:
                    self._editing = False

    def changed_on_disk(self) -> bool:
        """True when either file differs from what was loaded (an external edit)."""
        return any(f.changed() for f in self.files)

    @property
    def files(self) -> tuple[TomlFile, TomlFile, TomlFile]:
        return self.project_file, self.config_file, self.secrets_file

    def file_named(self, name: str) -> TomlFile:
        """The file a diagnostic names: workbench.toml, the secrets file, else the values file."""
        if name == PROJECT_FILE:
            return self.project_file
        return self.secrets_file if name == self.secrets_file.path.name else self.config_file

    def _build_model(self) -> None:
        """Validate each section entry on its own, so one bad step does not hide the rest."""
        diags: list[Diagnostic] = []
        for f in self.files:
            if f.error:
                diags.append(Diagnostic(ERROR, "toml-syntax", f.error.message, f.path.name, f.error.line,
                                        col=f.error.col))
        if self.project_file.error:
            self.project = Project(integration=Integration(name=self.root.name))
            self.load_diagnostics = diags
            return
        data = self.project_file.data
        integration = data.get("integration", {})
        try:
            parts: dict[str, Any] = {"integration": Integration.model_validate(integration)}
        except ValidationError as exc:
            diags += self._validation_diags(exc, ("integration",))
            parts = {"integration": Integration(name=self.root.name)}
        for key in data:
            if key not in SECTIONS and key != "integration":
                diags.append(self._diag("unknown-key", f"unknown top-level key {key!r}", (key,), severity="warning"))
        for section, model in SECTIONS.items():
            table = data.get(section, {})
            parts[section] = {}
            if not isinstance(table, dict):
                diags.append(self._diag("type-mismatch", f"{section} must be a table", (section,)))
                continue
            for name, value in table.items():
                if not NAME_RE.match(name):
                    diags.append(self._diag("bad-name", f"{name!r} is not a valid name (letters, digits and _)", (section, name)))
                    continue
                try:
                    parts[section][name] = model.model_validate(value)
                except ValidationError as exc:
                    diags += self._validation_diags(exc, (section, name))
        self.project = Project.model_construct(**parts)
        self.load_diagnostics = diags

    def _validation_diags(self, exc: ValidationError, prefix: tuple) -> list[Diagnostic]:
        return [self._diag(code, message, path) for code, message, path in model_problems(exc, prefix)]

    def _diag(self, code: str, message: str, path: tuple, *, severity: str = ERROR, file: str = PROJECT_FILE,
              hints: list[str] | None = None) -> Diagnostic:
        source = self.file_named(file)
        return Diagnostic(severity, code, message, file, source.line_of(path), format_key_path(path), hints or [])

    # -- reading helpers -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.project.integration.name

    @property
    def config_values(self) -> dict[str, Any]:
        return self.config_file.data

    def line_of(self, path: tuple, file: str = PROJECT_FILE) -> int | None:
        return self.file_named(file).line_of(path)

    def diag(self, code: str, message: str, path: tuple, **kw: Any) -> Diagnostic:
        return self._diag(code, message, path, **kw)

    def resolve_config(self, *, env=None, overrides=None, memory=None):
        from workbench.project.config import resolve

        return resolve(self.project, self.config_values, env=env, overrides=overrides, memory=memory,
                       secrets_values=self.secrets_file.data,
                       secrets_name=self.secrets_file.path.name)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    # -- editing workbench.toml ----------------------------------------------------------------
    @edit_locked  # also here: an edit method added without the decorator still saves locked
    def _edit(self, change: Callable[[Any], None], touched: tuple[str, str] | None = None) -> None:
        """Apply `change` to the document and save. `touched` names the one entry an edit changed,
        so only that entry is re-read; without it the whole file is."""
        doc = self.project_file.doc()
        change(doc)
        if touched is None:
            self.project_file.save()
        else:
            self.project_file.save(reparse=False)
            section, name = touched
            table = self.project_file.data.setdefault(section, {})
            if name in doc.get(section, {}):
                table[name] = doc[section][name].unwrap()
            else:
                table.pop(name, None)
        self._build_model()

    def _section(self, doc, section: str, create: bool = True):
        import tomlkit

        if section not in doc:
            if not create:
                raise EditError(f"there is no [{section}]")
            if doc.body and not doc.body[-1][1].as_string().endswith("\n\n"):
                doc.add(tomlkit.nl())
            doc[section] = tomlkit.table(is_super_table=True)
        return doc[section]

    def _require_new(self, section: str, name: str) -> None:
        # the forms say the same as you type
        from workbench.project.entry_checks import name_problem

        if problem := name_problem(section, name, self.project_file.data.get(section, {})):
            raise EditError(problem)

    def _require(self, section: str, name: str) -> None:
        if name not in self.project_file.data.get(section, {}):
            known = ", ".join(self.project_file.data.get(section, {})) or "none"
            raise EditError(f"unknown {section[:-1]} {name!r} (known: {known})")

    @edit_locked
    def set_integration(self, name: str | None = None, description: str | None = None) -> None:
        def change(doc):
            import tomlkit

            if "integration" not in doc:
                doc.add("integration", tomlkit.table())
            if name is not None:
                doc["integration"]["name"] = name
            if description is not None:
                doc["integration"]["description"] = description
        self._edit(change)

    @edit_locked
    def add_configurable(self, name: str, type: str = "string", *, description: str = "", secret: bool = False,
                         default: Any = None) -> None:
        self._require_new("configurables", name)
        decl = Configurable(type=type, description=description, secret=secret, default=default)
        if default is not None:
            from workbench.project.config import CoercionError, coerce
            try:
                coerce(type, default, from_text=False, secret=secret)
            except CoercionError as exc:
                raise EditError(f"default of {name}: {exc}") from None
        self._add_entry("configurables", name, {"type": type, **decl.model_dump(exclude_defaults=True)})

    @edit_locked
    def add_connection(self, name: str, connector: str, fields: dict[str, Any]) -> None:
        self._require_new("connections", name)
        self._add_entry("connections", name, {"connector": connector, **_drop_none(fields)})

    @edit_locked
    def update_connection(self, name: str, connector: str, fields: dict[str, Any]) -> None:
        """Replace a connection's fields; keys that keep their value keep their formatting."""
        self._require("connections", name)

        def change(doc):
            merge_table(doc["connections"][name], {"connector": connector, **_drop_none(fields)})
        self._edit(change, ("connections", name))

    @edit_locked
    def add_entrypoint(self, name: str, *, schedule: str | None = None, timezone: str | None = None,
                       description: str = "") -> None:
        self._require_new("entrypoints", name)
        entry = {"kind": "automation", "description": description or None, "schedule": schedule,
                 "timezone": timezone if timezone and timezone != "UTC" else None}
        self._add_entry("entrypoints", name, _drop_none(entry))

    @edit_locked
    def add_service(self, name: str, *, method: str, path: str, auth: dict[str, Any], description: str = "",
                    sample: dict[str, Any] | None = None) -> None:
        """A service entry point (project/service.py): its route, caller auth and Try it sample."""
        self._require_new("entrypoints", name)
        entry = {"kind": "service", "description": description or None, "method": method, "path": path,
                 "auth": auth, "sample": sample or None}
        self._add_entry("entrypoints", name, _drop_none(entry))

    @edit_locked
    def update_entrypoint(self, name: str, **fields: Any) -> None:
        self._require("entrypoints", name)

        def change(doc):
            table = doc["entrypoints"][name]
            for key, value in fields.items():
                if value in (None, ""):
                    table.pop(key, None)
                else:
                    set_key(table, key, value)
        self._edit(change, ("entrypoints", name))

    @edit_locked
    def save_datamapper(self, name: str, mapper: dict[str, Any], *, new: bool) -> None:
        """Add `[datamappers.NAME]`, or replace its keys; untouched keys keep their formatting.
        `mapper` is validated first (DataMapper), so nothing invalid is written."""
        try:
            DataMapper.model_validate(mapper)
        except ValidationError as exc:
            raise EditError(f"data mapper {name}: {exc.errors()[0]['msg']}") from None
        if new:
            self._require_new("datamappers", name)
            self._add_entry("datamappers", name, _drop_none(mapper))
            return
        self._require("datamappers", name)

        def change(doc):
            table = doc["datamappers"][name]
            fields = mapper.get("fields") or {}
            merge_table(table, {k: v for k, v in _drop_none(mapper).items() if k != "fields"} | (
                {"fields": table["fields"]} if "fields" in table and fields else {}))
            if fields:
                if "fields" not in table:
                    table["fields"] = to_table(fields)
                else:
                    merge_table(table["fields"], fields)
        self._edit(change, ("datamappers", name))

    def _add_entry(self, section: str, name: str, value: dict[str, Any]) -> None:
        def change(doc):
            table = to_table(value, spaced=True)
            self._section(doc, section)[name] = table
        self._edit(change, (section, name))

    @edit_locked
    def rename(self, section: str, old: str, new: str) -> None:
        """Rename a configurable, connection or entry point, and rewrite the references to it."""
        self._require(section, old)
        self._require_new(section, new)

        def change(doc):
            parent = doc[section]
            rename_key(parent, old, new)
            if section == "configurables":
                pattern = re.compile(rf"(\bconfig\s*\.\s*){re.escape(old)}\b")
                rewrite_strings(doc, lambda s: pattern.sub(rf"\g<1>{new}", s) if "${" in s else s)
            elif section == "connections":
                rewrite_call_targets(doc, old, new)
        self._edit(change)

    @edit_locked
    def remove(self, section: str, name: str) -> None:
        self._require(section, name)

        def change(doc):
            del doc[section][name]
        self._edit(change, (section, name))

    # -- Config.toml, Config-secrets.toml and the keyring (values.py) --------------------------
    @edit_locked
    def set_value(self, name: str, value: Any, *, from_text: bool = False, target: str | None = None) -> str:
        """Validate `value` against the configurable's type and write it where it lives: the
        keyring its reference names, the secrets file, or Config.toml. A new secret goes to the
        secrets file when there is one. `target` ("config", "secrets", "keyring") chooses; the
        value then leaves the other places. Returns where it was written."""
        from workbench.project.values import set_value

        return set_value(self, name, value, from_text=from_text, target=target)

    @edit_locked
    def unset_value(self, name: str) -> bool:
        """Remove a value from both files (and its keyring entry, when it has one)."""
        from workbench.project.values import unset_value

        return unset_value(self, name)


# -- helpers ---------------------------------------------------------------------------------
def model_problems(exc: ValidationError, prefix: tuple = (), *, one_step: bool = False) -> list[tuple[str, str, tuple]]:
    """(code, message, key path) of each error of a project model's validation, in the words of
    `check` (the step forms say the same): no "Value error," prefix, never the value (it may be
    a secret). `one_step`: a step validated on its own, whose locations start with its kind."""
    from workbench.connectors.messages import sentence

    out = []
    for err in exc.errors():
        loc = err["loc"][1:] if one_step and err["loc"][:1] and err["loc"][0] in STEP_KINDS else err["loc"]
        path = prefix + tuple(_loc(loc))
        code = "unknown-key" if err["type"] == "extra_forbidden" else "type-mismatch"
        if err["type"] == "missing":
            code = "missing-key"
        name = str(path[-1]) if path and not isinstance(path[-1], int) else ""
        message = sentence(name, err) if code != "unknown-key" else f"unknown key {path[-1]!r}"
        out.append((code, message, path))
    return out


def _loc(loc: tuple) -> list:
    """pydantic error locations name union tags (`call`, `function-after[...]`); drop those."""
    out = []
    for part in loc:
        if isinstance(part, str) and (part in STEP_KINDS and out and isinstance(out[-1], int)):
            continue
        out.append(part)
    return out


def unknown_name(kind: str, name: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f"unknown {kind} {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
