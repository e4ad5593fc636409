"""`workbench sandbox`: serve a local OAuth2 + SCIM 2.0 identity provider on loopback until Ctrl+C.

`--write-config DIR` points the project in DIR at it: scimServiceUrl, scimTokenUrl, scimClientId
and scimClientSecret are written into DIR/Config.toml (other keys and comments kept, mode 0600).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from workbench.cli.common import CliError, port, run_guarded

DEFAULT_PORT = 8765
CONFIG_FILE = "Config.toml"


def configure(parser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default: 127.0.0.1; loopback only)")
    parser.add_argument("--port", type=port, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--client-id", default="workbench-demo", metavar="ID", help="OAuth2 client id (default: workbench-demo)")
    parser.add_argument("--client-secret", default=None, metavar="S", help="OAuth2 client secret (default: random)")
    parser.add_argument("--token-lifetime", type=int, default=3600, metavar="SECONDS", help="access token lifetime (default: 3600)")
    parser.add_argument("--write-config", metavar="DIR", default=None,
                        help="write scimServiceUrl, scimTokenUrl, scimClientId, scimClientSecret into DIR/Config.toml")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (anyone who can reach it gets the demo secret's powers)")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    from workbench.sandbox import Sandbox

    config_path = None
    if args.write_config is not None:
        config_path = Path(args.write_config) / CONFIG_FILE
        if not config_path.parent.is_dir():
            raise CliError(f"--write-config: {config_path.parent} is not a folder")
        _read_config(config_path)  # refuse a malformed file before serving anything
    try:
        sandbox = Sandbox(
            host=args.host,
            port=args.port,
            client_id=args.client_id,
            client_secret=args.client_secret,
            token_lifetime=args.token_lifetime,
            allow_remote=args.allow_remote,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        sandbox.start()
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", 1) from None
    try:
        values = {
            "scimServiceUrl": sandbox.service_url,
            "scimTokenUrl": sandbox.token_url,
            "scimClientId": sandbox.client_id,
            "scimClientSecret": sandbox.client_secret,
        }
        print("Workbench sandbox: OAuth2 client credentials + SCIM 2.0, data in memory")
        for key, label in (("scimServiceUrl", "serviceUrl"), ("scimTokenUrl", "tokenUrl"),
                           ("scimClientId", "clientId"), ("scimClientSecret", "clientSecret")):
            print(f"  {label:<14}{values[key]}")
        if config_path is not None:
            write_config(config_path, values)
            print(f"Wrote {', '.join(values)} to {config_path}")
            _warn_shadowed(config_path, values)
        print("Serving until Ctrl+C.", flush=True)
        try:
            sandbox.serve_forever()
        except KeyboardInterrupt:
            pass
        print("sandbox stopped", file=sys.stderr)
        return 0
    finally:
        sandbox.stop()


def _warn_shadowed(path: Path, values: dict[str, str]) -> None:
    """Config-secrets.toml outranks Config.toml: a value there would win over the one just written."""
    from workbench.project.secret_sources import secrets_path

    try:
        shadowed = [k for k in values if k in _read_config(secrets_path(path))[0]]
    except CliError:
        return
    if shadowed:
        print(f"warning: {secrets_path(path)} also sets {', '.join(shadowed)}, and wins over {path.name}: "
              f"remove it there", file=sys.stderr)


def _read_config(path: Path):
    """(the tomlkit document of `path`, its text), empty when missing; CliError with file:line:col
    if malformed."""
    import tomlkit

    from workbench.project.files import (
        ProjectFileError,
        parse_toml,
        read_text,
        tomlkit_parse,
    )

    if not path.exists():
        return tomlkit.document(), ""
    try:
        text = read_text(path)
        parse_toml(path, text)
    except ProjectFileError as exc:
        raise CliError(f"{exc} (fix it by hand; it is not overwritten)", 1) from None
    return tomlkit_parse(text), text


def write_config(path: Path, values: dict[str, str]) -> None:
    """Set `values` in the TOML file at `path`, keeping other keys, comments, line endings and a
    BOM; atomic (through a symlink), mode 0600, under the project's write lock."""
    import tomlkit

    from workbench.project.files import (
        ProjectFileError,
        atomic_write,
        keep_format,
        locked,
    )
    from workbench.project.store import LOCK_FILE, PROJECT_FILE, STATE_DIR

    # The lock the project's store takes; a folder that is no project gets no .workbench/.
    is_project = (path.parent / PROJECT_FILE).is_file()
    with locked(path.parent / STATE_DIR / LOCK_FILE) if is_project else contextlib.nullcontext():
        doc, text = _read_config(path)
        for key, value in values.items():
            doc[key] = value
        try:
            atomic_write(path, keep_format(tomlkit.dumps(doc), text), mode=0o600)
        except ProjectFileError as exc:
            raise CliError(str(exc), 1) from None
