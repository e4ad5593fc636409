"""The image of an export: a `Containerfile` and its build context (`build/workbench/`, the
Workbench source with a pyproject made from the installed distribution, and `build/project/`,
the project's workbench.toml and data files). Config.toml, the secrets file, `.workbench/` and
hidden files are never copied: values reach the container from the ConfigMap and the Secret."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from workbench.project.files import atomic_write
from workbench.project.secret_sources import SECRETS_SUFFIX

UID = 10001  # the image's non-root user (numeric, so Kubernetes can verify runAsNonRoot)
PROJECT_MOUNT = "/project"
PYTHON_IMAGE = "docker.io/library/python:3.12-slim"

CONTAINERFILE = f"""\
# Written by `workbench export kubernetes`. It holds Workbench and the project's workbench.toml
# and data files; never Config.toml, Config-secrets.toml, .workbench/ or a secret (the values
# come from the ConfigMap and the Secret when the job runs).
FROM {PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY build/workbench/ /opt/workbench-src/
RUN pip install /opt/workbench-src && rm -rf /opt/workbench-src \\
    && useradd --uid {UID} --user-group --no-create-home --home-dir {PROJECT_MOUNT} --shell /usr/sbin/nologin workbench
COPY --chown={UID}:{UID} build/project/ {PROJECT_MOUNT}/
USER {UID}:{UID}
WORKDIR {PROJECT_MOUNT}
CMD ["workbench", "check", "{PROJECT_MOUNT}"]
"""

# The build context is the export folder: keep the manifests (the Secret with --include-secrets)
# and any values file out of what `build` sends to the engine.
IGNORE = "\n".join(["*.yaml", "**/Config.toml", f"**/*{SECRETS_SUFFIX}.toml", "**/.workbench", ""])


def write_context(root: Path, out: Path) -> list[Path]:
    """Write the Containerfile, its ignore files and build/; returns the project files copied
    (relative to the project folder)."""
    build = out / "build"
    shutil.rmtree(build, ignore_errors=True)  # files removed from the project must not linger
    copied = copy_project(root, build / "project", skip=out)
    copy_workbench(build / "workbench")
    atomic_write(out / "Containerfile", CONTAINERFILE)
    for name in (".containerignore", ".dockerignore"):
        atomic_write(out / name, IGNORE)
    return copied


def is_copied(relative: Path) -> bool:
    """Whether a project file belongs in the image: no values file, no state, nothing hidden."""
    parts = relative.parts
    if any(part.startswith(".") or part == "__pycache__" for part in parts):
        return False
    name = parts[-1]
    return name != "Config.toml" and not name.endswith(f"{SECRETS_SUFFIX}.toml")


def copy_project(root: Path, dest: Path, *, skip: Path | None = None) -> list[Path]:
    copied = []
    root = root.resolve()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if is_copied((here / d).relative_to(root))
                         and (skip is None or (here / d).resolve() != skip.resolve()))
        for name in sorted(files):
            path = here / name
            relative = path.relative_to(root)
            target = path.resolve()
            # A link leading out of the project is not the project's (the file connector refuses it too).
            if not is_copied(relative) or not target.is_file() or not target.is_relative_to(root):
                continue
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target, dest / relative)
            copied.append(relative)
    return copied


def copy_workbench(dest: Path) -> None:
    """The installed Workbench as a source tree pip can install: the package, and a pyproject
    with the distribution's own dependencies and entry points."""
    import importlib.metadata

    import tomlkit

    import workbench

    shutil.copytree(Path(workbench.__file__).parent, dest / "workbench",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = importlib.metadata.distribution("workbench")
    requires = [r for r in dist.requires or [] if "extra ==" not in r]
    scripts = {e.name: e.value for e in dist.entry_points if e.group == "console_scripts"}
    groups: dict[str, dict[str, str]] = {}
    for e in dist.entry_points:
        if e.group != "console_scripts":
            groups.setdefault(e.group, {})[e.name] = e.value
    pyproject = {
        "build-system": {"requires": ["setuptools>=68"], "build-backend": "setuptools.build_meta"},
        "project": {"name": "workbench", "version": dist.version, "requires-python": ">=3.11",
                    "dependencies": requires, "scripts": scripts, "entry-points": groups},
        "tool": {"setuptools": {"packages": {"find": {"include": ["workbench*"]}},
                                "package-data": {"workbench.tui": ["*.tcss"]}}},
    }
    atomic_write(dest / "pyproject.toml", tomlkit.dumps(pyproject))
