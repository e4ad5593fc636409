"""`workbench config DIR list|get|set|unset`: the Configurations pane without the UI."""

from __future__ import annotations

import json
import sys

from workbench.cli.common import CliError, open_store, print_table, run_guarded


def configure(parser) -> None:
    parser.add_argument("dir", metavar="DIR", help="project folder")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    lst = sub.add_parser("list", help="name, type, required, value (secrets masked) and source: --set, env, "
                         "file (WB_VAR_X_FILE), keyring, secrets file, Config.toml, default, missing")
    lst.add_argument("--json", action="store_true")
    get = sub.add_parser("get", help="print one value (secrets masked unless --reveal)")
    get.add_argument("name")
    get.add_argument("--reveal", action="store_true", help="print a secret in clear")
    put = sub.add_parser("set", help="write a value to Config.toml (a secret: to Config-secrets.toml when it "
                         "exists); VALUE `-` reads stdin")
    put.add_argument("name")
    put.add_argument("value", nargs="?",
                     help="the value, or - to read it from stdin (keeps secrets out of shell history); "
                          "with --keyring or --secrets-file, left out: asked for without echo")
    where = put.add_mutually_exclusive_group()
    where.add_argument("--keyring", action="store_true",
                       help="store the value in the OS keyring; Config.toml gets only a reference to it")
    where.add_argument("--secrets-file", action="store_true",
                       help="store a secret in Config-secrets.toml (mode 0600, git-ignored), next to Config.toml")
    unset = sub.add_parser("unset", help="remove a value from Config.toml and Config-secrets.toml (and the keyring)")
    unset.add_argument("name")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    store = open_store(args.dir)
    action = args.action or "list"
    # A file that does not parse: its values (or its configurables) would all look missing, or
    # unknown. Say why, whatever the action; nothing is written.
    for f in store.files:
        if f.error:
            raise CliError(f"{f.error} (fix it by hand; it is not overwritten)")
    resolved = store.resolve_config()
    if action == "list":
        rows = [
            [rv.name, rv.decl.type, "yes" if rv.decl.required else "no",
             rv.error and "(invalid)" or rv.display(), rv.source + (" (secret)" if rv.decl.secret else ""),
             _detail(rv)]
            for rv in resolved.values.values()
        ]
        if getattr(args, "json", False):
            keys = ("name", "type", "required", "value", "source", "where")
            print(json.dumps([dict(zip(keys, r)) for r in rows], indent=2))
        else:
            print_table(rows, ["NAME", "TYPE", "REQUIRED", "VALUE", "SOURCE", "WHERE"])
        return 0
    name = args.name
    if name not in store.project.configurables:
        from workbench.project.store import unknown_name

        raise CliError(unknown_name("configurable", name, store.project.configurables))
    if action == "get":
        rv = resolved.values[name]
        if rv.error:
            raise CliError(rv.error, 1)
        if rv.source == "missing":
            raise CliError(f"{name} has no value", 1)
        print(rv.display(reveal=args.reveal))
        return 0
    from workbench.project import EditError

    try:
        if action == "set":
            secret = store.project.configurables[name].secret
            target = "keyring" if args.keyring else "secrets" if args.secrets_file else None
            if target == "keyring":
                _require_keyring(name, args.dir)
            text = _value_text(args, name)
            written = store.set_value(name, text, from_text=True, target=target)
            print(f"{name} = {'••••' if secret else text}  ({written})")
        else:
            done = store.unset_value(name)
            print(f"{name} unset" if done else f"{name} was not set in {store.config_file.path.name}")
    except EditError as exc:
        raise CliError(str(exc)) from None
    return 0


def _detail(rv) -> str:
    """Where the value came from in full (a variable, a file, a keyring reference), never a value."""
    return "" if rv.source in ("--set", "memory", "default", "missing") else rv.where


def _require_keyring(name: str, folder: str) -> None:
    """Say there is no keyring before asking for the value."""
    from workbench.project.secret_sources import KeyringUnavailable, keyring_backend, no_backend_message

    try:
        keyring_backend()
    except KeyringUnavailable as exc:
        raise CliError(f"{exc} (as on most SSH servers); instead {no_backend_message(name, folder)}") from None


def _value_text(args, name: str) -> str:
    if args.value is not None and args.value != "-":
        return args.value
    if args.value is None and not (args.keyring or args.secrets_file):
        raise CliError(f"give a VALUE for {name}, or - to read it from stdin")
    if args.value is None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"{name}: ")
    text = _stdin_text()
    if not text:  # stdin at /dev/null, a cron job, an empty pipe: never overwrite the value with ""
        raise CliError(f"stdin gave no value for {name}; nothing was written (an empty value: set {name} '')")
    return text


def _stdin_text() -> str:
    """The value piped in, as UTF-8 whatever PYTHONIOENCODING says."""
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:
        return sys.stdin.read().rstrip("\r\n")
    try:
        return raw.read().decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise CliError(f"stdin: not UTF-8 text (byte {exc.start + 1})") from None
