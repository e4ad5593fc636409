"""The `workbench` command. Each subcommand lives in its own module, imported only when used,
so `workbench check` never pays for textual and `workbench` (the app) never pays for argparse
help of every command."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import re
import sys

# subcommand -> module in workbench.cli with `configure(parser)` and `run(args) -> int`.
COMMANDS: dict[str, tuple[str, str]] = {
    "open": ("app", "Open the app on a project (the default command)"),
    "new": ("new", "Scaffold an empty project"),
    "check": ("check", "Check a project and print diagnostics"),
    "config": ("config", "List, get, set or unset configurable values"),
    "connectors": ("connectors", "Search the connector catalogue, or show one connector"),
    "run": ("run", "Run an entry point"),
    "runs": ("runs", "List past runs, or replay one"),
    "schedule": ("schedule", "Run every scheduled automation on its schedule"),
    "serve": ("serve", "Serve the service entry points over HTTP"),
    "up": ("up", "Run the schedules and serve the services, in one process"),
    "export": ("export", "Export a project to Kubernetes: CronJobs, a Deployment and Service, a ConfigMap, a Secret, a Containerfile"),
    "sandbox": ("sandbox", "Serve a local OAuth2 + SCIM 2.0 identity provider on loopback"),
    "demo": ("demo", "Open the app on the sample project against an in-process sandbox"),
    "mapper": ("mapper", "Infer a record type from a CSV or JSON file; preview a data mapper's output"),
    "web": ("web", "Serve the app to browsers (each tab its own app process); needs the `web` extra"),
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _usage() -> str:
    lines = ["usage: workbench [DIR]            open the app on a project (default: .)",
             "       workbench COMMAND [...]    (workbench COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<12} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += ["", "exit codes: 0 ok, 1 a run failed, 2 invalid project or usage, 3 (run --strict) succeeded with",
              "tolerated failures, 130 interrupted"]
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """Its usage errors never echo what was typed, bar option and command names: a mistyped
    command line may hold a secret (`config DIR name=VALUE`, `--sett name=VALUE`), and stderr
    ends up in CI logs and cron mail."""

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:  # argparse would list them as typed
            self.error("unrecognized arguments: " + " ".join(_masked(token) for token in extras))
        return parsed

    def error(self, message: str):  # type: ignore[override]
        known = set(self._option_string_actions)
        for action in self._actions:
            known.update(str(choice) for choice in action.choices or ())
        import ast  # only on a usage error: ~2 ms of every start otherwise

        def requoted(match: re.Match) -> str:  # argparse quotes what it could not read, with repr
            try:
                typed = ast.literal_eval(match[0])
            except (ValueError, SyntaxError):
                return "'…'"
            return match[0] if typed in known else repr(_masked(typed))

        message = _AMBIGUOUS.sub(lambda m: m[1] + _masked(m[2]) + m[3], _QUOTED.sub(requoted, message))
        super().error(message)


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_AMBIGUOUS = re.compile(r"(ambiguous option: )(.*)( could match )")


def _masked(token: str) -> str:
    """An option keeps its name and a `name=VALUE` its name; anything else shows as `…`."""
    name, eq, value = token.partition("=")
    if token.startswith("--"):
        return f"{name}=…" if eq else token
    if token.startswith("-"):
        return token[:2] + ("…" if len(token) > 2 else "")
    # `NAME=VALUE` keeps a name; a base64 value's padding (`dGhp==`) is no NAME=VALUE.
    return f"{name}=…" if eq and name.isidentifier() and value.strip("=") else "…"


def _mistyped_command(word: str) -> str | None:
    """The command `word` looks like a typo of, when it is no folder (`workbench chek`)."""
    import difflib  # only when no command was named: ~1 ms of every start otherwise

    if word.startswith("-") or os.sep in word or os.path.exists(word):
        return None
    close = difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.75)
    return close[0] if close else None


def _module(name: str):
    return importlib.import_module(f"workbench.cli.{name}")


def _tolerant_output() -> None:
    """Print what the terminal cannot show as escapes (PYTHONIOENCODING=ascii and `••••`), never
    a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", "strict") == "strict" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


_starting = False  # entry() turned the collector off while the process starts


def entry() -> int:
    """The process's entry point (`workbench`, `python -m workbench`). Start-up (imports, the
    project's models, the connectors' schemas) builds objects that live as long as the process,
    which the collector would scan again and again for nothing (~0.1 s of a `run`): it is off
    until the command's start-up is over (`started()`). At the end, what is left is frozen, so
    the interpreter's last full collection skips it (~30 ms of a `check`); an object in a
    reference cycle was never sure to be finalized at exit (the `__del__` docs)."""
    global _starting
    gc.disable()
    _starting = True
    try:
        return main()
    finally:
        gc.freeze()


def started() -> None:
    """Start-up is over: what it built is frozen (no collection scans it again) and the collector
    is back on. A command module with `LATE_START = True` calls this itself, or never (`check`, short); main() calls it for
    the others. Nothing happens unless entry() started the process."""
    global _starting
    if _starting:
        _starting = False
        gc.freeze()
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _tolerant_output()
    if argv[:1] in (["-h"], ["--help"], ["help"]):
        print(_usage())
        return EXIT_OK
    if argv[:1] == ["--version"]:
        from workbench import __version__

        print(f"workbench {__version__}")
        return EXIT_OK
    # `workbench`, `workbench DIR` and `workbench --flag DIR` open the app.
    if not argv or argv[0] not in COMMANDS:
        if argv and (typo := _mistyped_command(argv[0])):
            print(f"workbench: unknown command {argv[0]!r} (did you mean {typo!r}?); a new folder of that "
                  f"name opens with: workbench open {argv[0]}", file=sys.stderr)
            return EXIT_USAGE
        argv.insert(0, "open")
    command = argv[0]
    # Import only the one command module: the others would cost start-up time.
    module = _module(COMMANDS[command][0])
    parser = _Parser(prog=f"workbench {command}", description=COMMANDS[command][1])
    module.configure(parser)
    args = parser.parse_args(argv[1:])
    if not getattr(module, "LATE_START", False):
        started()
    try:
        return module.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `workbench check | head`: the reader left; no traceback
        try:  # so the interpreter's final flush of stdout does not fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # stdout replaced by an object without a file
            pass
        return EXIT_FAILED
