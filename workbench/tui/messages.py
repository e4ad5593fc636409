"""Messages posted by the widgets and workers of the app (dataclasses, as in Posting)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


# -- workers -> app -------------------------------------------------------------------------------
@dataclass
class StoreLoaded(Message):
    store: Any  # workbench.project.store.ProjectStore


@dataclass
class LoadFailed(Message):
    error: str


@dataclass
class CatalogueLoaded(Message):
    specs: list[Any]
    error: str = ""


@dataclass
class ProjectConnectorsLoaded(Message):
    specs: dict[str, Any]  # connector id -> ConnectorSpec, of the connectors the project uses


@dataclass
class DiagnosticsReady(Message):
    diagnostics: list[Any]


# -- widgets -> app ------------------------------------------------------------------------------
@dataclass
class ItemChosen(Message):
    """A tree item was opened: section is "connections", "entrypoints", "configurables", or ""
    for the overview; name is "" for a section itself; action is "add" for the `+` items."""

    section: str
    name: str = ""
    action: str = ""
    focus: bool = False


@dataclass
class ItemDeleteRequested(Message):
    section: str
    name: str


@dataclass
class InsertStepRequested(Message):
    entry: str
    address: str  # a StepAddress string: where the new step goes, e.g. "1" or "onError.0"


@dataclass
class EditStepRequested(Message):
    entry: str
    address: str


@dataclass
class InspectStepRequested(Message):
    """Open the step inspector of a step that ran (screens/step_inspector.py)."""

    entry: str
    address: str


@dataclass
class MoveStepRequested(Message):
    entry: str
    address: str
    delta: int


@dataclass
class DeleteStepRequested(Message):
    entry: str
    address: str


@dataclass
class EditEntryRequested(Message):
    entry: str
    focus: tuple = ()  # the field a diagnostic is about (its path in the entry's table)


@dataclass
class ProblemChosen(Message):
    diagnostic: Any


@dataclass
class ConfigurableRequested(Message):
    """A form field asked for `+ New configurable` (ctrl+g); the app binds `field` to it."""

    field: Any  # the FieldRow or PayloadRow that asked: it has .bind(name)
    suggestion: str = ""
    type: str = "string"
    secret: bool = False
    description: str = ""


# -- runs (run_actions.py) -------------------------------------------------------------------------
@dataclass
class RunRefused(Message):
    """The run did not start: preflight found errors (e.g. missing values)."""

    session: Any  # workbench.runtime.controller.RunSession
    diagnostics: list[Any]


@dataclass
class RunEnded(Message):
    """The run's worker is done. `result` is the RunResult; `error` when it could not run."""

    session: Any
    result: Any = None
    error: str = ""


@dataclass
class RunsListed(Message):
    runs: list[Any]  # workbench.runtime.history.RunSummary, newest first
    error: str = ""


@dataclass
class ReplayLoaded(Message):
    run_id: str
    session: Any  # workbench.runtime.controller.RunSession, None when it could not be read
    events: list[dict[str, Any]]
    error: str = ""
