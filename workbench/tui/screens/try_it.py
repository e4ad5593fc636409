"""Try it: send a request to a service entry point and see the answer beside its run.

While the panel is open the project's services run in-process on a loopback port
(workbench/serve/local.py: the `workbench serve` server in a thread). The body starts as the
entry point's `sample`; ctrl+s sends it with the caller's auth (the bearer token, or the hmac
signature of the body); the response's status, headers and body show on the left, the run's
live output on the right. Starting, sending and stopping run in workers; they post the
messages below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Log, Static, TextArea

from workbench.tui.errors import describe
from workbench.tui.widgets.footer import StableFooter

DRAIN_SECONDS = 0.05  # how often the run output takes new lines


@dataclass
class TryItReady(Message):
    url: str


@dataclass
class TryItFailed(Message):
    error: str


@dataclass
class TryItAnswered(Message):
    answer: Any  # workbench.serve.local.Answer
    request: Any  # workbench.serve.local.TryRequest


def sample_text(entry: dict[str, Any]) -> str:
    """The body the panel starts with: the entry point's `sample` as JSON, else `{}`."""
    sample = entry.get("sample")
    return json.dumps(sample if isinstance(sample, dict) else {}, indent=2, ensure_ascii=False)


def answer_text(answer: Any, request: Any) -> Text:
    ok = 200 <= answer.status < 300
    text = Text.assemble((f"{answer.status}", "bold green" if ok else "bold red"),
                         (f"  {request.method} {request.path}  {answer.took_ms:.0f} ms", "dim"), "\n")
    for name, value in answer.headers.items():
        if name.lower() not in ("date", "content-length"):
            text.append_text(Text.assemble((f"{name}: ", "cyan"), value, "\n"))
    text.append("\n" + answer.body)
    return text


class TryItScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="try-send"),
        Binding("escape", "close", "Close", id="try-close"),
    ]

    def __init__(self, entry: str, data: dict[str, Any]) -> None:
        super().__init__(classes="modal")
        self.entry, self.data = entry, data
        self.local: Any = None  # the LocalServer, once started
        self.answers: list[Any] = []  # every Answer, oldest first (tests read them)
        self.feed: Any = None  # the run output's RunFeed (lines from the server's thread)
        self.closing = False

    def compose(self) -> ComposeResult:
        method = str(self.data.get("method") or "POST").upper()
        auth = self.data.get("auth") if isinstance(self.data.get("auth"), dict) else {}
        with Vertical(classes="dialog tall try-dialog"):
            yield Static(Text.assemble(("Try it  ", "bold"), (self.entry, "bold cyan"),
                                       f"  auth {auth.get('type', '?')}  ", ("starting…", "dim")), id="try-title")
            with Horizontal(id="try-line"):
                yield Static(Text(method, style="bold"), id="try-method")
                yield Input(str(self.data.get("path") or "/"), id="try-path", compact=True)
            yield Static(Text("Body (JSON)  ctrl+s sends · esc closes", style="dim"), id="try-body-label")
            yield TextArea(sample_text(self.data), id="try-body", soft_wrap=True, show_line_numbers=False)
            with Horizontal(id="try-results"):
                with VerticalScroll(id="try-response-box"):
                    yield Static(Text("Response: none yet", style="dim"), id="try-response")
                yield Log(id="try-output", auto_scroll=True)
        yield StableFooter()

    def on_mount(self) -> None:
        from workbench.tui.run_feed import RunFeed

        self.feed = RunFeed(self.app.run_format)  # type: ignore[attr-defined]
        self.query_one("#try-body", TextArea).focus()
        self.set_interval(DRAIN_SECONDS, self._drain, name="try-it-output")
        self._start()

    # -- the local server ------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="try-it-server", exit_on_error=False)
    def _start(self) -> None:
        from workbench.project import ProjectStore
        from workbench.runtime.service import Services
        from workbench.serve.local import LocalServer

        session = self.app.project_session  # type: ignore[attr-defined]
        feed = self.feed
        try:
            # Its own store, read from the files: edits saved meanwhile reload it (as serve does).
            with session.lock:
                store = ProjectStore.open(session.root)
                services = Services(store, env=session.env, memory=session.memory, host="127.0.0.1",
                                    sink_for=lambda name: feed.sink(None), notify=self._notify)
            local = LocalServer(services).start()
        except Exception as error:  # noqa: BLE001 - ServiceError (missing values...), OSError
            self.post_message(TryItFailed(describe(error)))
            return
        if self.closing:  # closed while it started
            local.stop()
            return
        self.local = local
        self.post_message(TryItReady(local.url))

    def _notify(self, text: str) -> None:
        """The server's own lines (reloads) go to the run output (from its thread)."""
        self.feed.items.append(_line(text))

    def on_try_it_ready(self, message: TryItReady) -> None:
        auth = self.data.get("auth") if isinstance(self.data.get("auth"), dict) else {}
        self.query_one("#try-title", Static).update(Text.assemble(
            ("Try it  ", "bold"), (self.entry, "bold cyan"), f"  auth {auth.get('type', '?')}  served on ",
            (message.url, "green")))

    def on_try_it_failed(self, message: TryItFailed) -> None:
        self.query_one("#try-title", Static).update(Text.assemble(("Try it  ", "bold"), (self.entry, "bold cyan"),
                                                                  ("  cannot serve", "bold red")))
        self.query_one("#try-response", Static).update(Text(message.error, style="red"))
        self.app.notify(message.error, title=f"{self.entry} cannot serve", severity="error", timeout=10)

    # -- a request -------------------------------------------------------------------------------
    def action_send(self) -> None:
        if self.local is None:
            self.app.notify("the service is not serving yet", title="Try it", severity="warning", timeout=3)
            return
        body = self.query_one("#try-body", TextArea).text
        path = self.query_one("#try-path", Input).value.strip() or "/"
        self.query_one("#try-response", Static).update(Text("sending…", style="dim"))
        self._send(body, path)

    @work(thread=True, group="try-it-send", exit_on_error=False)
    def _send(self, body: str, path: str) -> None:
        local = self.local
        try:
            request = local.request_for(self.entry, body, path)
            answer = local.send(request)
        except Exception as error:  # noqa: BLE001 - a refused connection, a timeout
            self.post_message(TryItFailed(describe(error)))
            return
        self.post_message(TryItAnswered(answer, request))

    def on_try_it_answered(self, message: TryItAnswered) -> None:
        self.answers.append(message.answer)
        self.query_one("#try-response", Static).update(answer_text(message.answer, message.request))

    # -- the run output ----------------------------------------------------------------------------
    def _drain(self) -> None:
        items = self.feed.take(500) if self.feed is not None else []
        lines = [line for item in items if not item.http for line in item.lines]
        if lines:
            self.query_one("#try-output", Log).write_lines(lines)

    @property
    def output_lines(self) -> list[str]:
        return [str(line) for line in self.query_one("#try-output", Log).lines]

    # -- closing ----------------------------------------------------------------------------------
    def action_close(self) -> None:
        self.dismiss(None)

    def on_unmount(self) -> None:
        self.closing = True
        local, self.local = self.local, None
        if local is not None:  # stopped off the UI thread: it drains and writes the history
            self.app.run_worker(local.stop, thread=True, group="try-it-stop", exit_on_error=False)


def _line(text: str) -> Any:
    from workbench.tui.run_feed import FeedItem

    return FeedItem(None, {"event": "note"}, (text,), False)
