"""The headless project core: models, TOML files, configurables, expressions and diagnostics.
Never imports textual.

The exports load on first use: the app's first paint imports `workbench.project.view` and
`workbench.project.address` only, without pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.project.address import StepAddress
    from workbench.project.diagnostic import Diagnostic
    from workbench.project.files import ProjectFileError
    from workbench.project.store import EditError, ProjectStore

_EXPORTS = {
    "Diagnostic": "workbench.project.diagnostic",
    "EditError": "workbench.project.store",
    "ProjectFileError": "workbench.project.files",
    "ProjectStore": "workbench.project.store",
    "StepAddress": "workbench.project.address",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
