"""`workbench demo [DIR]`: the app on the sample project against an in-process sandbox.

The sandbox (an OAuth2 token endpoint and a SCIM 2.0 server) listens on 127.0.0.1; its URL and
credentials are handed to the app as in-memory values, which rank like `--set`. Nothing is
written to the project's files. Press `r` to run and watch a user being created.
"""

from __future__ import annotations

from pathlib import Path

from workbench.cli.common import CliError, run_guarded

SAMPLE = "scim-provisioning"


def configure(parser) -> None:
    parser.add_argument("dir", nargs="?", default=None, metavar="DIR",
                        help=f"project folder (default: the sample projects/{SAMPLE})")


def sample_dir() -> Path:
    """projects/scim-provisioning next to the workbench package (a clone, or an editable install)."""
    import workbench

    return Path(workbench.__file__).resolve().parent.parent / "projects" / SAMPLE


def demo_values(sandbox) -> dict[str, str]:
    """The sample's configurables that point it at the sandbox."""
    return {
        "scimServiceUrl": sandbox.service_url,
        "scimTokenUrl": sandbox.token_url,
        "scimClientId": sandbox.client_id,
        "scimClientSecret": sandbox.client_secret,
    }


def project_dir(arg: str | None) -> Path:
    root = Path(arg) if arg else sample_dir()
    if not (root / "workbench.toml").is_file():
        if arg:
            raise CliError(f"{arg} holds no workbench.toml")
        raise CliError(f"the sample project is not here: {root}\n"
                       "It ships with the source, not with a non-editable install. Run `make demo` in a "
                       "clone of the repository, or give a project: `workbench demo DIR`.")
    return root


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    from workbench.sandbox import Sandbox

    root = project_dir(args.dir)
    try:
        sandbox = Sandbox().start()
    except OSError as exc:
        raise CliError(f"cannot start the sandbox on 127.0.0.1: {exc.strerror or exc}", 1) from None
    try:
        from workbench.tui.app import WorkbenchApp

        app = WorkbenchApp(root, shown_path=str(args.dir or Path("projects") / SAMPLE),
                           memory=demo_values(sandbox), memory_source="demo")
        result = app.run()
    finally:
        sandbox.stop()
    return result if isinstance(result, int) else (app.return_code or 0)
