"""Where a secret can live besides Config.toml: a file named by `WB_VAR_<NAME>_FILE` (the Docker
and Kubernetes secrets convention), the OS keyring (a `{ keyring = "service/name" }` reference in
Config.toml), and `Config-secrets.toml` next to Config.toml.

None of these messages ever holds a value: only names, paths and references.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

SECRETS_SUFFIX = "-secrets"  # Config.toml -> Config-secrets.toml, prod.toml -> prod-secrets.toml
FILE_SUFFIX = "_FILE"
MAX_VALUE_FILE = 1 << 20  # a value file larger than 1 MiB is a mistake (a log, /dev/zero)
KEYRING_KEY = "keyring"


class SourceError(ValueError):
    """A value could not be read from its source; the message names the source, never a value."""


def secrets_path(config_path: Path) -> Path:
    return config_path.with_name(config_path.stem + SECRETS_SUFFIX + config_path.suffix)


def read_value_file(path: str) -> str:
    """The text of a `_FILE` value, its trailing newline stripped. Only a regular file is read: a
    FIFO would block `check` and the app, which resolve values often."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SourceError(f"cannot read it ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SourceError("not a regular file")
        if info.st_size > MAX_VALUE_FILE:
            raise SourceError("larger than 1 MiB")
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(MAX_VALUE_FILE + 1)
    except OSError as exc:
        raise SourceError(f"cannot read it ({exc.strerror})") from None
    finally:
        os.close(fd)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (byte {exc.start + 1})") from None
    return text.removeprefix("\ufeff").rstrip("\r\n")


# -- the OS keyring ------------------------------------------------------------------------------
def keyring_reference(value: Any) -> str | None:
    """The reference of a `{ keyring = "workbench/<project>/<name>" }` value, else None."""
    if isinstance(value, dict) and set(value) == {KEYRING_KEY} and isinstance(value[KEYRING_KEY], str):
        return value[KEYRING_KEY]
    return None


def make_reference(project: str, name: str) -> str:
    return f"workbench/{project}/{name}"


class KeyringUnavailable(SourceError):
    pass


def no_backend_message(name: str = "NAME", config_dir: str = "DIR") -> str:
    """What to use when there is no keyring (most SSH servers and containers have none)."""
    return ("use "
            f"`workbench config {config_dir} set {name} - --secrets-file` (Config-secrets.toml, mode 0600), "
            f"or WB_VAR_{name.upper()}{FILE_SUFFIX}=/path/to/file, or WB_VAR_{name.upper()}")


_cache: dict[str, str | None] = {}  # reference -> value: the app resolves values on every repaint


def keyring_backend():
    """The keyring backend, imported only here: keyring loads its backends' entry points (slow),
    and most projects never use it."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        raise KeyringUnavailable("the keyring package is not installed") from None
    backend = keyring.get_keyring()
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        raise KeyringUnavailable("no OS keyring backend is available")
    return backend


def _split(reference: str) -> tuple[str, str]:
    service, _, user = reference.rpartition("/")
    if not service or not user:
        raise SourceError(f"keyring reference {reference!r} is not of the form service/name")
    return service, user


def keyring_get(reference: str) -> str:
    if reference not in _cache:
        service, user = _split(reference)
        backend = keyring_backend()
        try:
            _cache[reference] = backend.get_password(service, user)
        except Exception as exc:  # a locked or broken backend: its own error types
            raise SourceError(f"the keyring failed ({type(exc).__name__})") from None
    value = _cache[reference]
    if value is None:
        raise SourceError("no such entry in the keyring")
    return value


def keyring_set(reference: str, value: str) -> None:
    service, user = _split(reference)
    backend = keyring_backend()
    try:
        backend.set_password(service, user, value)
    except Exception as exc:
        raise SourceError(f"keyring {reference}: cannot store the value ({type(exc).__name__})") from None
    _cache[reference] = value


def keyring_delete(reference: str) -> bool:
    """Remove an entry; False when there was none or no backend (the reference goes anyway)."""
    _cache.pop(reference, None)
    try:
        service, user = _split(reference)
        keyring_backend().delete_password(service, user)
    except Exception:
        return False
    return True


def forget_cached() -> None:
    _cache.clear()
