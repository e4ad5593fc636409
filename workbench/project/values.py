"""Writing configurable values where they live: Config.toml, Config-secrets.toml or the OS keyring.
The store's `set_value` and `unset_value` call these under its write lock."""

from __future__ import annotations

from typing import Any

import tomlkit

from workbench.project import secret_sources as ss
from workbench.project.store import EditError, unknown_name


def set_value(store, name: str, value: Any, *, from_text: bool = False, target: str | None = None) -> str:
    """Validate `value` against the configurable's type and write it where it lives: the
    keyring its reference names, the secrets file, or Config.toml. A new secret goes to the
    secrets file when there is one. `target` ("config", "secrets", "keyring") chooses; the
    value then leaves the other places. Returns where it was written."""
    from workbench.project.config import CoercionError, coerce, format_value

    decl = store.project.configurables.get(name)
    if decl is None:
        raise EditError(unknown_name("configurable", name, store.project.configurables))
    try:
        value = coerce(decl.type, value, from_text=from_text, secret=decl.secret)
    except CoercionError as exc:
        raise EditError(f"{name}: {exc}") from None
    reference = ss.keyring_reference(store.config_values.get(name))
    if target is None:
        target = ("keyring" if reference else "secrets" if name in store.secrets_file.data
                  or (decl.secret and store.secrets_file.exists) else "config")
    if target == "secrets" and not decl.secret:
        raise EditError(f"{name} is not a secret: its value belongs in {store.config_file.path.name}")
    if target == "keyring":
        reference = reference or ss.make_reference(store.name, name)
        try:
            ss.keyring_set(reference, format_value(value))
        except ss.SourceError as exc:
            raise EditError(str(exc)) from None
        # Parsed, not built, to keep the spaces people write: { keyring = "..." }
        value = tomlkit.parse(f"x = {{ {ss.KEYRING_KEY} = {tomlkit.string(reference).as_string()} }}")["x"]
    home, other = store.secrets_file, store.config_file
    if target != "secrets":
        home, other = other, home
    if name in other.data:
        del other.doc()[name]
        save_values(store, other)
    home.doc()[name] = value
    save_values(store, home)
    return f"keyring {reference}" if target == "keyring" else home.path.name


def unset_value(store, name: str) -> bool:
    """Remove a value from both files (and its keyring entry, when it has one)."""
    found = False
    for f in (store.config_file, store.secrets_file):
        if name in f.data:
            reference = ss.keyring_reference(f.data[name])
            if reference:
                ss.keyring_delete(reference)
            del f.doc()[name]
            save_values(store, f)
            found = True
    return found


def save_values(store, f) -> None:
    """The secrets file is always 0600; Config.toml when it holds a secret's value."""
    values = f.doc().unwrap()
    holds_secret = f is store.secrets_file or any(
        decl.secret and name in values and not ss.keyring_reference(values[name])
        for name, decl in store.project.configurables.items())
    f.save(mode=0o600 if holds_secret else None)
