"""The compiled steps of a run: one small node per step, templates parsed up front, so a step
costs little more than its own work. `Execution` (execution.py) drives them; each node's `run` returns
(value, summary).

In three parts: `node_base.py` (what every node shares), `leaf_nodes.py` (call, set, log, return,
fail) and `flow_nodes.py` (if, foreach, and `compile_steps`). This module is where the runtime
imports them from, and holds `compile_entry`."""

from __future__ import annotations

from workbench.runtime.flow_nodes import compile_steps
from workbench.runtime.node_base import (NOTHING, Node, Return, StepError, current_step, describe_validation,
                                         error_dict, ms, rendered_args, summarize)

__all__ = ["NOTHING", "Node", "Return", "StepError", "compile_entry", "compile_steps", "current_step",
           "describe_validation", "error_dict", "ms", "rendered_args", "summarize"]


def compile_entry(project, name: str) -> tuple[list[Node], list[Node]]:
    """An entry point's steps and Error Handler, compiled once for many runs (a service's
    requests). Nodes keep no run state: the run and the scope are passed to `run`."""
    entry = project.entrypoints[name]
    return compile_steps(entry.steps, project), compile_steps(entry.onError, project, "onError.")
