"""Configurable values: where each comes from, type coercion, and masking of secrets.

Precedence: `--set name=value` > `WB_VAR_<NAME>` > `WB_VAR_<NAME>_FILE` > the OS keyring or
`Config-secrets.toml` > `Config.toml` > `default` (secret_sources.py reads the new ones).
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.project.model import Configurable, Project

MASK = "••••"
ENV_PREFIX = "WB_VAR_"

SOURCE_SET, SOURCE_ENV, SOURCE_FILE, SOURCE_DEFAULT, SOURCE_MISSING, SOURCE_MEMORY = (
    "--set", "env", "Config.toml", "default", "missing", "memory",
)
# `file`: the file named by WB_VAR_<NAME>_FILE; `secrets file`: Config-secrets.toml.
SOURCE_ENV_FILE, SOURCE_KEYRING, SOURCE_SECRETS = "file", "keyring", "secrets file"
# Every source, highest first: what `config list` and the Configurations pane show.
SOURCES = (SOURCE_SET, SOURCE_MEMORY, SOURCE_ENV, SOURCE_ENV_FILE, SOURCE_KEYRING, SOURCE_SECRETS, SOURCE_FILE,
           SOURCE_DEFAULT, SOURCE_MISSING)


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


class CoercionError(ValueError):
    pass


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def coerce(type_: str, value: Any, *, from_text: bool, secret: bool = False) -> Any:
    """Coerce `value` to a configurable type. Text from the environment or `--set` is parsed;
    typed TOML values must already have the right type (an int may stand for a float).
    With `secret`, error messages name the kind of the value but never the value."""
    describe = _describe_kind if secret else _describe
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
            raise CoercionError(f"expected a {type_}, got {describe(value)}")
        return [coerce(item_type, item, from_text=from_text, secret=secret) for item in value]
    if type_ == "string":
        if isinstance(value, str):
            return value
        raise CoercionError(f"expected a string, got {describe(value)}")
    if type_ == "boolean":
        if isinstance(value, bool):
            return value
        if from_text and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise CoercionError(f"expected a boolean (true or false), got {describe(value)}")
    if type_ == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if from_text and isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise CoercionError(f"expected an int, got {describe(value)}")
    if type_ == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if from_text and isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise CoercionError(f"expected a float, got {describe(value)}")
    raise CoercionError(f"unknown type {type_!r}")


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "int", float: "float", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )
    return f"{kind} {value!r}" if kind in ("string", "int", "float", "boolean") and len(repr(value)) < 40 else kind


def _describe_kind(value: Any) -> str:
    """A secret value described by its kind only: "string ••••"."""
    return f"{_describe(value).split(' ', 1)[0]} {MASK}"


@dataclass
class ResolvedValue:
    name: str
    decl: Configurable
    value: Any = None
    source: str = SOURCE_MISSING  # one of SOURCES
    error: str | None = None  # a coercion error, naming the source
    where: str = ""  # the source in full: WB_VAR_X, WB_VAR_X_FILE=path, the keyring reference, a file

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
    secrets_values: Mapping[str, Any] | None = None,
    secrets_name: str = "Config-secrets.toml",
) -> ResolvedConfig:
    """Resolve every configurable. `overrides` are `--set` texts; `memory` holds in-process values
    (the demo's sandbox credentials) that rank like `--set` but keep their types; `secrets_values`
    is Config-secrets.toml. A `{ keyring = ... }` value in either file is read from the keyring."""
    env = os.environ if env is None else env
    overrides = overrides or {}
    memory = memory or {}
    secrets_values = secrets_values or {}
    out = ResolvedConfig(unknown_keys=[k for k in file_values if k not in project.configurables])
    for name, decl in project.configurables.items():
        rv = ResolvedValue(name, decl)
        file_var = env_name(name) + "_FILE"
        candidates = (
            (SOURCE_SET, overrides.get(name), True, "--set"),
            (SOURCE_MEMORY, memory.get(name), False, "memory"),
            (SOURCE_ENV, env.get(env_name(name)), True, env_name(name)),
            (SOURCE_ENV_FILE, env.get(file_var), True, file_var),
            (SOURCE_SECRETS, secrets_values.get(name), False, secrets_name),
            (SOURCE_FILE, file_values.get(name), False, SOURCE_FILE),
            (SOURCE_DEFAULT, decl.default, False, "default"),
        )
        for source, raw, from_text, where in candidates:
            if raw is None:
                continue
            rv.source, rv.where = source, where
            try:
                raw = _read_source(rv, raw)
                rv.value = coerce(decl.type, raw, from_text=from_text or rv.source == SOURCE_KEYRING,
                                  secret=decl.secret)
            except (CoercionError, ValueError) as exc:  # SourceError is a ValueError
                rv.value = None if rv.source in (SOURCE_ENV_FILE, SOURCE_KEYRING) else raw
                rv.error = f"{name} from {rv.where}: {exc}"
            break
        out.values[name] = rv
    return out


def _read_source(rv: ResolvedValue, raw: Any) -> Any:
    """The value a `_FILE` path or a keyring reference stands for (imported only then)."""
    if rv.source == SOURCE_ENV_FILE:
        from workbench.project.secret_sources import read_value_file

        rv.where = f"{rv.where}={raw}"
        return read_value_file(raw)
    if isinstance(raw, dict) and rv.source in (SOURCE_FILE, SOURCE_SECRETS):
        from workbench.project.secret_sources import keyring_get, keyring_reference

        reference = keyring_reference(raw)
        if reference is not None:
            rv.source, rv.where = SOURCE_KEYRING, f"keyring {reference}"
            return keyring_get(reference)
    return raw


# The percent-encoding that httpx applies to a path and to a raw query (WHATWG URL): a secret
# used in a URL shows up in exchanges, error messages and logs in one of these forms.
_PATH_SAFE = "".join(chr(i) for i in range(0x21, 0x7F) if chr(i) not in '"#<>?`{}')
_QUERY_SAFE = "".join(chr(i) for i in range(0x21, 0x7F) if chr(i) not in '"#<>')

# Keys of the error dicts and events: public vocabulary, never masked, so a short secret that
# happens to be part of "message" or "status" cannot garble the structure readers rely on.
STRUCTURAL_KEYS = frozenset({
    "message", "type", "status", "scimType", "detail", "request", "step", "item", "tokenUrl", "error",
    "timedOut", "retryAfter", "resendSafe", "failedItems",
})


_TAG = re.compile(r"<[^>]*>")


def secret_forms(text: str) -> set[str]:
    """`text` and the forms it takes on the way out: inside URLs (percent-encoded, as httpx and
    form bodies encode it), inside JSON text (escaped), HTML-escaped, with its white space
    collapsed or its tags stripped (as an excerpt of an HTML page shows it); also what the
    expression functions `trim`, `lower` and `upper` make of it."""
    from urllib.parse import quote, quote_plus

    forms = {text, text.strip(), text.lower(), text.upper()}
    if not (text.isascii() and text.isalnum()):
        forms |= {quote(text, safe=""), quote_plus(text, safe=""), quote(text, safe=_PATH_SAFE),
                  quote(text, safe=_QUERY_SAFE), html.escape(text), html.escape(text, quote=False),
                  " ".join(text.split()), " ".join(_TAG.sub(" ", text).split())}
        # ... and each of those inside JSON text (a server echoing the URL in a raw JSON body).
        forms |= {json.dumps(form, ensure_ascii=flag)[1:-1] for form in forms for flag in (True, False)}
    # A form shorter than the secret by more than half (a stripped tag, say) would mask too much.
    return {form for form in forms if form and len(form) * 2 >= len(text)}


class Redactor:
    """Replaces every secret value with `••••` in text and nested data: the value as it is, and
    the forms it takes on the way out (`secret_forms`). Dict keys are masked too, except the
    structural keys of errors and events (`STRUCTURAL_KEYS`). A number or boolean that equals a
    secret of that type is masked as a value, as its text is inside strings.

    A run adds what it derives from its secrets as it goes (`add`): the Authorization headers
    its connections send, the access tokens they obtain."""

    def __init__(self, secrets: Any = ()) -> None:
        self.secrets: list[str] = []
        self._texts: set[str] = set()
        self._probes: tuple[str, ...] = ()  # the secrets as JSON text escapes them (shows_in)
        self._shortest = 0  # a shorter text holds no secret: most labels, kinds, ids
        self._numbers: set[float] = set()
        self._booleans: set[bool] = set()
        for s in secrets:
            self.add(s)

    def add(self, secret: Any) -> None:
        """Mask `secret` too from now on (a string, number, boolean, or an array of them)."""
        # A secret array: the whole, and each item (`${config.keys[0]}`, a foreach over it).
        texts = set()
        for value in ([secret, *secret] if isinstance(secret, list) else [secret]):
            if value in (None, "", []):
                continue
            if isinstance(value, bool):
                self._booleans.add(value)
            elif isinstance(value, (int, float)):
                self._numbers.add(value)
            texts |= secret_forms(format_value(value))
        if texts - self._texts:
            self._texts |= texts
            # Longest first, so a secret that contains another is masked whole.
            self.secrets = sorted(self._texts, key=len, reverse=True)
            self._probes = tuple({json.dumps(t, ensure_ascii=flag)[1:-1] for t in self._texts for flag in (True, False)})
            self._shortest = len(self.secrets[-1])

    def copy(self) -> Redactor:
        """An independent copy (a server builds one per version; each run adds its own)."""
        other = Redactor()
        other.secrets, other._texts, other._probes = list(self.secrets), set(self._texts), self._probes
        other._shortest = self._shortest
        other._numbers, other._booleans = set(self._numbers), set(self._booleans)
        return other

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def shows_in(self, text: str) -> bool:
        """Whether `data` could mask anything in the value that JSON `text` encodes (with or
        without ensure_ascii). JSON escapes a string char by char, so a string holding a secret
        encodes to text holding the secret's escaped form: a clean text, the common case, costs
        one search per secret instead of a walk of the value."""
        if self._numbers or self._booleans:  # masked as values: no search finds them for sure
            return True
        return any(probe in text for probe in self._probes)

    def text(self, value: str) -> str:
        if len(value) < self._shortest:
            return value
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def data(self, value: Any) -> Any:
        if not self.secrets:
            return value
        cls = type(value)
        if cls is str:
            return self.text(value)
        if cls is dict or (cls is not str and isinstance(value, dict)):
            return {
                self.text(k) if isinstance(k, str) and k not in STRUCTURAL_KEYS else k: self.data(v)
                for k, v in value.items()
            }
        if cls is list or cls is tuple or isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        if cls is bool:
            return MASK if value in self._booleans else value
        if cls is int or cls is float:
            return MASK if value in self._numbers else value
        if isinstance(value, str):  # a str subclass
            return self.text(value)
        return value
