"""Configurable values: where each comes from, type coercion, and masking of secrets.

Precedence: `--set name=value` > `WB_VAR_<NAME>` > `Config.toml` > `default`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.project.model import Configurable, Project

MASK = "••••"
ENV_PREFIX = "WB_VAR_"

SOURCE_SET, SOURCE_ENV, SOURCE_FILE, SOURCE_DEFAULT, SOURCE_MISSING, SOURCE_MEMORY = (
    "--set", "env", "Config.toml", "default", "missing", "memory",
)


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


class CoercionError(ValueError):
    pass


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def coerce(type_: str, value: Any, *, from_text: bool) -> Any:
    """Coerce `value` to a configurable type. Text from the environment or `--set` is parsed;
    typed TOML values must already have the right type (an int may stand for a float)."""
    if type_.endswith("[]"):
        item_type = type_[:-2]
        if from_text and isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise CoercionError(f"expected a {type_} (a JSON array or comma-separated list): {exc.msg}") from None
            else:
                value = [part.strip() for part in text.split(",")] if text else []
        if not isinstance(value, list):
            raise CoercionError(f"expected a {type_}, got {_describe(value)}")
        return [coerce(item_type, item, from_text=from_text) for item in value]
    if type_ == "string":
        if isinstance(value, str):
            return value
        raise CoercionError(f"expected a string, got {_describe(value)}")
    if type_ == "boolean":
        if isinstance(value, bool):
            return value
        if from_text and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise CoercionError(f"expected a boolean (true or false), got {_describe(value)}")
    if type_ == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if from_text and isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise CoercionError(f"expected an int, got {_describe(value)}")
    if type_ == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if from_text and isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise CoercionError(f"expected a float, got {_describe(value)}")
    raise CoercionError(f"unknown type {type_!r}")


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "int", float: "float", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )
    return f"{kind} {value!r}" if kind in ("string", "int", "float", "boolean") and len(repr(value)) < 40 else kind


@dataclass
class ResolvedValue:
    name: str
    decl: Configurable
    value: Any = None
    source: str = SOURCE_MISSING
    error: str | None = None  # a coercion error, naming the source

    @property
    def ok(self) -> bool:
        return self.source != SOURCE_MISSING and self.error is None

    def display(self, reveal: bool = False) -> str:
        if self.source == SOURCE_MISSING:
            return ""
        if self.decl.secret and not reveal:
            return MASK
        return format_value(self.value)


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


@dataclass
class ResolvedConfig:
    values: dict[str, ResolvedValue] = field(default_factory=dict)
    unknown_keys: list[str] = field(default_factory=list)  # keys in Config.toml nobody declared

    def scope(self) -> dict[str, Any]:
        """The `config` namespace for expressions: resolved values only."""
        return {name: rv.value for name, rv in self.values.items() if rv.ok}

    @property
    def missing(self) -> list[ResolvedValue]:
        return [rv for rv in self.values.values() if rv.source == SOURCE_MISSING]

    @property
    def errors(self) -> list[ResolvedValue]:
        return [rv for rv in self.values.values() if rv.error]

    def redactor(self) -> Redactor:
        return Redactor(
            rv.value for rv in self.values.values() if rv.decl.secret and rv.source != SOURCE_MISSING
        )


def resolve(
    project: Project,
    file_values: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    memory: Mapping[str, Any] | None = None,
) -> ResolvedConfig:
    """Resolve every configurable. `overrides` are `--set` texts; `memory` holds in-process values
    (the demo's sandbox credentials) that rank like `--set` but keep their types."""
    env = os.environ if env is None else env
    overrides = overrides or {}
    memory = memory or {}
    out = ResolvedConfig(unknown_keys=[k for k in file_values if k not in project.configurables])
    for name, decl in project.configurables.items():
        rv = ResolvedValue(name, decl)
        candidates = (
            (SOURCE_SET, overrides.get(name), True),
            (SOURCE_MEMORY, memory.get(name), False),
            (SOURCE_ENV, env.get(env_name(name)), True),
            (SOURCE_FILE, file_values.get(name), False),
            (SOURCE_DEFAULT, decl.default, False),
        )
        for source, raw, from_text in candidates:
            if raw is None:
                continue
            rv.source = source
            try:
                rv.value = coerce(decl.type, raw, from_text=from_text)
            except CoercionError as exc:
                where = env_name(name) if source == SOURCE_ENV else source
                rv.value = raw
                rv.error = f"{name} from {where}: {exc}"
                if decl.secret:
                    rv.error = rv.error.replace(repr(raw), MASK).replace(str(raw), MASK) if str(raw) else rv.error
            break
        out.values[name] = rv
    return out


class Redactor:
    """Replaces every secret value with `••••` in text and nested data."""

    def __init__(self, secrets: Any = ()) -> None:
        texts = {format_value(s) for s in secrets if s not in (None, "", [])}
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted((t for t in texts if len(t) >= 1), key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def data(self, value: Any) -> Any:
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value
