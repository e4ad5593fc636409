"""The headless project core: models, TOML files, configurables, expressions and diagnostics.
Never imports textual."""

from workbench.project.diagnostic import Diagnostic
from workbench.project.files import ProjectFileError
from workbench.project.store import EditError, ProjectStore

__all__ = ["Diagnostic", "EditError", "ProjectFileError", "ProjectStore"]
