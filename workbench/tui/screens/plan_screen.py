"""The Plan screen: what a plan run (`P`, as `workbench run --plan`) would change, per sync step.

Where the plan comes from: the events of the run, never a request of its own. A sync step logs
its report as the diff of `workbench.connectors.scim.sync.plan_lines` (`+ key  (create)`,
`~ key  path: "A" → "B"`, `- key  (deactivate)`, then the counts), and a plan session keeps the
log lines of its sync steps (`RunSession.plan_logs`): no event carries more than it did. The
engine logs at most 50 lines of a step's result, so when the run returns a whole report (as
hr-sync's `return = "${report}"` does) and the entry's one sync step ran once, the lines are
`plan_lines` of that report: every change, none cut.

Keys: `+` `~` `-` show only the creates, the updates or the deprovisions, `*` all of them; `/`
filters on the key (enter goes back to the list); `a` applies (a normal run, whose maxChanges
guard still applies); `F` applies with force, offered only when maxChanges refused the plan; esc
closes. The screen returns "apply", "force" or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, RichLog, Static

from workbench.tui.widgets.footer import StableFooter

ALL, CREATE, UPDATE, DEPROVISION = "all", "create", "update", "deprovision"
KINDS = {CREATE: "+", UPDATE: "~", DEPROVISION: "-"}  # the mark of each kind's lines
STYLES = {"+": "green", "~": "yellow", "-": "red", "!": "bold red"}


@dataclass
class PlanSection:
    title: str  # the sync step's label
    lines: list[str]  # the changes, as plan_lines writes them
    counts: str  # plan_lines' last line: "40 to create, 0 to update, 0 to deprovision, 0 unchanged ..."


def _is_report(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("counts"), dict) and "inScope" in value


def plan_sections(session: Any) -> list[PlanSection]:
    """The plans of a finished plan session (a RunSession), one per sync step (and foreach item)."""
    from workbench.connectors.scim.sync import plan_lines

    logs = dict(session.plan_logs)
    result = (session.finished or {}).get("result")
    if _is_report(result) and len(session.sync_steps) == 1 and list(logs) == list(session.sync_steps):
        logs = {next(iter(logs)): plan_lines(result)}  # the whole plan, not 50 lines of it
    sections = []
    for key, lines in logs.items():
        address, _, item = key.partition("[")
        title = session.labels.get(address) or f"step {address}"
        if item:
            title += f" (item {item.rstrip(']')})"
        sections.append(PlanSection(title, lines[:-1], lines[-1] if lines else ""))
    return sections


def line_key(line: str) -> str:
    """The key of a diff line: "E1001" in "+ E1001  (create)"."""
    return line[2:].split("  ", 1)[0]


def shown_lines(section: PlanSection, kind: str, text: str) -> list[str]:
    """The section's lines of one kind (all: every line), whose key contains `text` (any case).
    Other lines (the note of lines left out) stay with any kind."""
    mark = KINDS.get(kind)
    needle = text.strip().lower()
    out = []
    for line in section.lines:
        if line[:1] in "+~-!":
            if mark is not None and line[:1] != mark:
                continue
            if needle and needle not in line_key(line).lower():
                continue
        out.append(line)
    return out


class PlanScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="close-plan"),
        Binding("a", "apply", "Apply", id="apply-plan"),
        Binding("F", "apply_force", "Apply with force", id="apply-plan-force"),
        Binding("plus", "kind('create')", "Creates", id="plan-show-creates", show=False),
        Binding("tilde", "kind('update')", "Updates", id="plan-show-updates", show=False),
        Binding("minus", "kind('deprovision')", "Deprovisions", id="plan-show-deprovisions", show=False),
        Binding("asterisk", "kind('all')", "All", id="plan-show-all", show=False),
        Binding("slash", "filter_keys", "Filter", id="plan-filter-keys"),
    ]

    def __init__(self, entry: str, sections: list[PlanSection], finished: dict[str, Any] | None) -> None:
        super().__init__(classes="modal")
        self.entry, self.sections = entry, sections
        finished = finished or {}
        self.status = str(finished.get("status", ""))
        self.error = str((finished.get("error") or {}).get("message", ""))
        self.refused = self.status == "failed" and "maxChanges" in self.error
        self.kind = ALL
        self.text = ""
        self.shown: list[str] = []  # the lines on screen, as text (tests read them)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog plan-dialog"):
            yield Static(Text.assemble(("Plan", "bold"), " · ", (self.entry, "bold"),
                                       ("  nothing was written", "dim")), id="plan-title")
            yield Static(self._counts(), id="plan-counts")
            with Horizontal(id="plan-bar"):
                yield Static(id="plan-kinds")
                yield Input(placeholder="/ filter on the key", id="plan-filter")
            yield RichLog(id="plan-lines", wrap=False, markup=False, highlight=False, auto_scroll=False)
        yield StableFooter()

    def on_mount(self) -> None:
        self._show()
        self.query_one("#plan-lines", RichLog).focus()

    def _counts(self) -> Text:
        if self.refused:
            return Text.assemble(("✗ refused: ", "bold red"), self.error, ("\nF applies it anyway (force)", "dim"))
        if self.status != "succeeded":
            return Text.assemble((f"✗ the plan run {self.status or 'failed'}", "bold red"),
                                 f": {self.error}" if self.error else "")
        if not self.sections:
            return Text("no sync step ran: nothing to plan", style="dim")
        counts = Text()
        for index, section in enumerate(self.sections):
            if index:
                counts.append("\n")
            if len(self.sections) > 1:
                counts.append(f"{section.title}: ", style="bold")
            counts.append(section.counts)
        return counts

    def _show(self) -> None:
        kinds = Text()
        for kind in (ALL, CREATE, UPDATE, DEPROVISION):
            mark = KINDS.get(kind, "*")
            kinds.append(f" {mark} {kind} ", style="reverse" if kind == self.kind else "dim")
        self.query_one("#plan-kinds", Static).update(kinds)
        log = self.query_one("#plan-lines", RichLog)
        log.clear()
        self.shown = []
        for section in self.sections:
            lines = shown_lines(section, self.kind, self.text)
            if len(self.sections) > 1:
                log.write(Text(f"── {section.title} ──", style="bold"))
            for line in lines:
                log.write(Text(line, style=STYLES.get(line[:1], "dim"), no_wrap=True, overflow="ellipsis"))
            self.shown += lines
        if self.sections and not self.shown:
            log.write(Text("no change of this kind" + (f" with {self.text!r} in its key" if self.text else ""),
                           style="dim"))

    # -- actions ---------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            return self.status == "succeeded"
        if action == "apply_force":
            return self.refused
        return True

    def action_kind(self, kind: str) -> None:
        self.kind = kind
        self._show()

    def action_filter_keys(self) -> None:
        self.query_one("#plan-filter", Input).focus()

    def action_apply(self) -> None:
        self.dismiss("apply")

    def action_apply_force(self) -> None:
        self.dismiss("force")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.text = event.value
        self._show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#plan-lines", RichLog).focus()
