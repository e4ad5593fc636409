"""WorkbenchApp: build an integration by keyboard, like a low-code canvas.

Layout: header (project name); the project tree on the left; the selected item's view in the
centre (a flow, a connection form, the Configurations pane, or the overview); the Output panel of
runs (run_actions.py) and the problems list under it; the footer with the keys that apply.

Data flows one way: the first paint shows `workbench.project.view.ProjectView.read` (no pydantic),
the store is loaded in a worker, every edit goes through `apply_edit` (a worker calling the
ProjectStore API), and the views show `ProjectView.of(store)` afterwards. Diagnostics run in a worker too.
Its handlers live in mixins, each declaring what it uses of the app: project_io.py (load, check,
edit, reload), connection_actions.py, step_actions.py, run_actions.py and mapper_actions.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Static

from workbench.project.session import ProjectSession
from workbench.runtime.controller import RunController
from workbench.tui.connection_actions import ConnectionActions
from workbench.tui.errors import guarded
from workbench.tui.idle_gc import IdleCollector
from workbench.tui.issues import Issues, locate
from workbench.tui.mapper_actions import MapperActions
from workbench.tui.messages import ItemChosen, ProblemChosen
from workbench.tui.project_io import ProjectIO
from workbench.tui.replay_actions import ReplayActions
from workbench.tui.run_actions import RunActions
from workbench.tui.run_feed import RunFeed
from workbench.tui.step_actions import StepActions
from workbench.tui.typeahead import TypeAhead
from workbench.tui.widgets.footer import StableFooter
from workbench.tui.widgets.project_tree import ProjectTree

if TYPE_CHECKING:
    from workbench.tui.run_feed import RunFormat
    from workbench.tui.widgets.flow_view import FlowView
    from workbench.tui.widgets.problems import ProblemsList

POLL_SECONDS = 1.0
BROWSE_DELAY = 0.06
IDLE_GC_SECONDS = 0.25


def _workbench_commands():
    from workbench.tui.commands import WorkbenchCommands

    return WorkbenchCommands


class WorkbenchApp(ProjectIO, ConnectionActions, StepActions, RunActions, ReplayActions, MapperActions, App[int]):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses live elsewhere
    TITLE = "Workbench"
    COMMANDS = App.COMMANDS | {_workbench_commands}
    # The selection: what the centre shows, (section, name). Reactive: the bindings that depend
    # on it (run, cancel) are re-checked when it changes.
    current: reactive[tuple[str, str]] = reactive(("", ""), init=False)
    BINDINGS = [
        Binding("c,f2", "add_connection", "Connection", id="add-connection"),
        Binding("a,f3", "add_entry", "Automation", id="add-entry-point"),
        Binding("g,f4", "open_configurations", "Config", id="open-configurations"),
        Binding("k,f6", "check", "Check", id="check-project", show=False),
        Binding("r,f5", "run_entry", "Run", id="run-entry"),
        Binding("R", "resume_run", "Resume", id="resume-run", show=False),  # a failed or cancelled run
        Binding("P", "plan_run", "Plan", id="plan-run", show=False),  # sync steps plan only: the Plan screen
        Binding("t", "try_it", "Try it", id="try-it"),  # a service: send it a request (screens/try_it.py)
        Binding("escape,ctrl+c", "cancel_run", "Cancel", id="cancel-run", priority=True),  # while a run goes
        Binding("h", "run_history", "History", id="run-history", show=False),
        Binding("e", "toggle_http", "HTTP", id="toggle-http", show=False),
        Binding("o", "toggle_output", "Output", id="toggle-output", show=False),
        Binding("p,f8", "toggle_problems", "Problems", id="toggle-problems", show=False),
        Binding("ctrl+r", "reload", "Reload", id="reload", show=False),
        Binding("q", "request_quit", "Quit", id="quit", show=False),
    ]
    # What a key must never do from inside a form or a modal: these change the project, start or
    # stop runs, or leave the form (ctrl+q still quits, and asks about unsaved changes).
    FORM_BLOCKED = frozenset({"add_connection", "add_entry", "open_configurations", "check", "run_entry", "resume_run",
                              "plan_run", "run_history", "toggle_http", "toggle_output", "toggle_problems", "reload",
                              "request_quit", "add_step", "delete_item", "try_it"})

    def __init__(self, root: Path | str = ".", *, env: Mapping[str, str] | None = None,
                 shown_path: str | None = None, poll_seconds: float = POLL_SECONDS,
                 memory: Mapping[str, Any] | None = None, memory_source: str = "memory",
                 run_format: RunFormat | None = None) -> None:
        super().__init__()
        self.animation_level = "none"  # users are often on SSH
        self.started = time.perf_counter()
        # The app's state outside Textual: the project (load, reload, edit, check) and the runs.
        self.project_session = ProjectSession(root, env=os.environ if env is None else env, memory=memory)
        self.run_controller = RunController(self.project_session)
        self.run_feed = RunFeed(self.run_format if run_format is None else run_format)
        self.drain_timer: Any = None  # takes the run feed's events in batches while runs go
        self.root = self.project_session.root
        self.shown_path = shown_path or str(root)
        self.env = self.project_session.env
        self.memory = self.project_session.memory  # in-process values that rank like --set (the demo's)
        self.memory_source = memory_source  # how the Configurations pane names their source
        if run_format is not None:
            self.run_format = run_format  # tests mask times, durations and ids
        self.poll_seconds = poll_seconds
        self.project_view = self.project_session.view()  # the files, until the store has loaded
        self.issues = Issues()
        self.init_project_io()  # the catalogue, and what waits for it or for the store
        self.internal_errors: list[BaseException] = []  # reported by `guarded`; tests assert none
        self.views_ready = False
        self._browse: Any = None  # the timer of a pending tree-cursor change
        self.typeahead = TypeAhead(self)  # keys in a burst wait for the previous key's effects
        self.idle_collector = IdleCollector(lambda: self.typeahead.handled_at)  # full GCs between keys

    @property
    def store(self) -> Any:
        """The loaded ProjectStore, or None (the session owns it)."""
        return self.project_session.store

    # -- layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # The first paint is the tree; the centre views are mounted right after it (on_ready).
        yield Static(self.project_view.name, id="header")
        with Horizontal(id="main"):
            yield ProjectTree(id="project-tree")
            yield Vertical(id="centre")
        yield StableFooter()

    async def _mount_views(self) -> None:
        from workbench.tui.widgets.connection_view import ConnectionView
        from workbench.tui.widgets.flow_view import FlowView
        from workbench.tui.widgets.output_panel import OutputPanel
        from workbench.tui.widgets.overview import Overview
        from workbench.tui.widgets.problems import ProblemsList

        switcher = ContentSwitcher(Overview(id="overview"), FlowView(id="flow"), ConnectionView(id="connection-view"),
                                   Container(id="config-view"), initial="overview", id="view")
        output = OutputPanel(id="output-panel")
        output.display = False  # until a run starts
        await self.query_one("#centre", Vertical).mount_all([switcher, output, ProblemsList(id="problems")])
        self.views_ready = True

    @property
    def tree(self) -> ProjectTree:
        return self.query_one(ProjectTree)

    @property
    def flow(self) -> FlowView:
        return self.query_one("#flow")  # type: ignore[return-value]

    @property
    def problems(self) -> ProblemsList:
        return self.query_one("#problems")  # type: ignore[return-value]

    def _show_title(self) -> None:
        self.title = self.project_view.name
        self.query_one("#header", Static).update(self.project_view.name)

    def on_mount(self) -> None:
        from workbench.tui.keymap import load_keymap

        keymap, problem = load_keymap(self.env)
        if keymap:
            self.set_keymap(keymap)
        if problem:
            self.notify(problem, title="Keymap", severity="warning", timeout=8)
        self._show_title()
        self.tree.show(self.project_view, self.issues)
        first_entry = next(iter(self.project_view.entrypoints), "")
        self.current = ("entrypoints", first_entry) if first_entry else ("", "")
        if first_entry:
            self.tree.select_ref(("entrypoints", first_entry, ""), quiet=True)
        self.tree.focus()

    async def on_ready(self, event: events.Ready) -> None:
        self.log.info(f"first screen in {(time.perf_counter() - self.started) * 1000:.0f} ms")
        await self._mount_views()
        self.show_item(*self.current, refresh=True)
        if self.project_session.exists:
            self._load_store()
        else:
            from workbench.tui.screens.create_project import CreateProjectScreen

            self.push_screen(CreateProjectScreen(self.shown_path, self.root.name), self._create_project)
        self.set_interval(self.poll_seconds, self._poll_disk, name="watch-files")
        self.idle_collector.start()
        self.set_interval(IDLE_GC_SECONDS, self.idle_collector.tick, name="idle-gc")

    def on_unmount(self) -> None:
        self.idle_collector.stop()

    async def on_event(self, event: events.Event) -> None:
        if TypeAhead.applies(event):
            if self.typeahead.hold(event):
                return
            await super().on_event(event)
            self.typeahead.handled()
            return
        await super().on_event(event)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":  # Textual's saves to ~/Downloads and does not say so
                command = SystemCommand("Screenshot", "Save an SVG screenshot in the current folder",
                                        lambda: self.set_timer(0.1, self.action_save_screenshot))
            yield command

    def action_save_screenshot(self) -> None:
        path = self.save_screenshot(path=str(Path.cwd()))
        self.notify(f"saved to {path}", title="Screenshot", timeout=6)

    def watch_current(self, old: tuple[str, str], new: tuple[str, str]) -> None:
        self.refresh_bindings()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if self.is_headless and hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False  # steady cursors: deterministic screenshots

    # -- views ----------------------------------------------------------------------------------
    def refresh_views(self) -> None:
        """Rebuild the tree and the centre from the store's data (after a load or an edit)."""
        if self.store is not None:
            self.project_view = self.project_session.view()
        self._show_title()
        self.tree.show(self.project_view, self.issues)
        if not self.views_ready:
            return
        section, name = self.current
        if section and name and name not in getattr(self.project_view, section) and name != "<new>":
            section, name = section, ""  # it was removed or renamed
        self.show_item(section, name, refresh=True)

    @guarded
    def show_item(self, section: str, name: str = "", focus: bool = False, refresh: bool = False) -> None:
        """Show an item in the centre: a flow, a connection form, the configurations, or the
        overview. Keeps an unsaved connection form unless the person agrees to discard it."""
        if not self.views_ready:
            self.current = (section, name)
            return
        form = self.connection_form
        if form is not None and form.is_dirty and (section, name) != self.current:
            if refresh:
                return
            if focus:
                self._confirm_discard(lambda: self._show(section, name, focus, force=True))
            return
        self._show(section, name, focus, refresh=refresh)

    def _show(self, section: str, name: str, focus: bool, *, refresh: bool = False, force: bool = False) -> None:
        switcher = self.query_one("#view", ContentSwitcher)
        self.current = (section, name)
        if section == "entrypoints" and name in self.project_view.entrypoints:
            self.flow.show(name, self.project_view, self.issues, self.op_label)
            self.show_run_status(name, fresh=True)
            switcher.current = "flow"
            if focus:
                self.call_after_refresh(self.flow.focus_first)
        elif section == "connections" and name in self.project_view.connections:
            self._show_connection(name, focus, force=force)
            switcher.current = "connection-view"
        elif section == "configurables":
            self._show_config(name, focus)
            switcher.current = "config-view"
        elif section == "datamappers" and name in self.project_view.datamappers and focus:
            self.open_mapper(name)  # mapper_actions.py: its editor
        elif section == "connections" and name == "<new>":
            switcher.current = "connection-view"
        else:
            self.current = (section, "")
            self.query_one("#overview").show(self.project_view, section)  # type: ignore[attr-defined]
            switcher.current = "overview"
        if not refresh and name and name != "<new>":
            self.tree.select_ref((section, name, ""), quiet=True)

    def on_item_chosen(self, message: ItemChosen) -> None:
        if message.action == "add":
            action = {"connections": self.action_add_connection, "entrypoints": self.action_add_entry,
                      "configurables": self.action_new_configurable,
                      "datamappers": self.action_add_mapper}[message.section]
            action()
        elif message.focus:
            self._cancel_browse()
            self.show_item(message.section, message.name, focus=True)
        elif (message.section, message.name) != self.current:
            # Moving the tree cursor shows the item after a short pause, so holding an arrow key
            # does not build every form on the way.
            self._cancel_browse()
            self._browse = self.set_timer(BROWSE_DELAY, lambda: self.show_item(message.section, message.name))

    def _cancel_browse(self) -> None:
        if self._browse is not None:
            self._browse.stop()
            self._browse = None

    # -- configurations -------------------------------------------------------------------------
    def _show_config(self, name: str, focus: bool) -> None:
        from workbench.tui.widgets.config_pane import ConfigPane

        view = self.query_one("#config-view", Container)
        panes = view.query(ConfigPane)
        pane = panes.first() if panes else None
        if pane is None:
            pane = ConfigPane(id="config-pane")
            view.mount(pane)
        if self.store is None:
            self._after_load.append(lambda: self._show_config(name, focus))  # run by on_store_loaded
            return
        pane.call_after_refresh(pane.show, self.project_session.resolve_config(), name or None)
        if focus:
            pane.call_after_refresh(pane.focus_table)

    # -- actions ----------------------------------------------------------------------------------
    def action_open_configurations(self) -> None:
        self.show_item("configurables", "", focus=True)
        self.tree.select_ref(("configurables", "", ""), quiet=True)

    def action_check(self) -> None:
        if self.store is None:
            self.notify("the project is still loading", severity="warning")
            return
        self._announce_check = True
        self._check()

    def action_toggle_problems(self) -> None:
        if not self.problems.toggle():
            self.tree.focus()

    def form_open(self) -> bool:
        """A modal is up, a connection form is new, edited or has the focus, or a value is being
        typed in the Configurations pane."""
        if len(self.screen_stack) > 1 or getattr(self.focused, "id", None) == "value-input":
            return True
        form = self.connection_form
        return form is not None and (form.is_new or form.is_dirty or form.has_focus_within)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.FORM_BLOCKED and self.form_open():
            return False
        return super().check_action(action, parameters)

    async def action_request_quit(self) -> None:
        await self.action_quit()

    async def action_quit(self) -> None:
        """Quit; with unsaved form changes, ask first."""
        if not self.dirty_forms():
            self.exit(0)
            return
        from workbench.tui.screens.confirm import ConfirmScreen

        self.push_screen(ConfirmScreen("Quit and lose the unsaved changes?", yes="Quit", no="Stay"),
                         lambda yes: self.exit(0) if yes else None)

    def action_focus_tree(self) -> None:
        self.tree.focus()

    @guarded
    def action_reload(self) -> None:
        if self.store is not None:
            self._reload_store()

    def on_problem_chosen(self, message: ProblemChosen) -> None:
        item, address = locate(message.diagnostic)
        if item is None:
            return
        section, name = item
        self.show_item(section, name, focus=True)
        if section == "entrypoints" and address:
            self.call_after_refresh(self.flow.focus_step, address)
