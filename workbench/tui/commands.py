"""The app's commands in the command palette (ctrl+p), with fuzzy search, plus one command per
entry point, connection and data mapper to open it."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

APP_COMMANDS = (
    ("Add connection", "add_connection", "Open the connector palette and create a connection"),
    ("Add entry point", "add_entry", "Create an automation (optionally on a cron schedule) or an HTTP service"),
    ("Add step", "add_step", "Insert a step in the selected automation"),
    ("Add data mapper", "add_mapper", "Map a record type onto a SCIM User or Group, with a live preview"),
    ("Open configurations", "open_configurations", "Values of the configurables and where they come from"),
    ("Check project", "check", "Run the diagnostics of `workbench check`"),
    ("Run automation", "run_entry", "Run the selected automation"),
    ("Plan automation", "plan_run", "Run the selected automation as a plan (no write), then apply it from the plan"),
    ("Cancel run", "cancel_run", "Stop the run that is going"),
    ("Run history", "run_history", "Past runs; open one to replay it in the output"),
    ("Toggle HTTP exchanges", "toggle_http", "Show or hide the HTTP requests in the output"),
    ("Toggle output", "toggle_output", "Show or hide the output panel"),
    ("Toggle problems", "toggle_problems", "Show or hide the list of problems"),
    ("Reload from disk", "reload", "Read workbench.toml and Config.toml again"),
)


class WorkbenchCommands(Provider):
    def _commands(self):
        app = self.app
        for name, action, help_text in APP_COMMANDS:
            yield name, partial(app.run_action, action), help_text
        outline = getattr(app, "project_view", None)
        if outline is None:
            return
        for entry in outline.entrypoints:
            yield f"Open automation {entry}", partial(app.show_item, "entrypoints", entry, True), "Show its flow"
        for connection in outline.connections:
            yield f"Open connection {connection}", partial(app.show_item, "connections", connection, True), \
                "Show its form"
        for mapper in outline.datamappers:
            yield f"Open data mapper {mapper}", partial(app.open_mapper, mapper), "Edit it, with its preview"

    async def discover(self) -> Hits:
        for name, command, help_text in self._commands():
            yield DiscoveryHit(name, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, command, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, help=help_text)
