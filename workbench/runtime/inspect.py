"""The step inspector's data: what each step of a run received, returned and sent, built from the
run's events (live, or read back from the history, compact item records included). Headless: the
app's inspector screen and `workbench runs DIR show ID --step ADDRESS` both show what this gives.

    inspector = RunInspector()
    for event in read_events(path):
        inspector.add(event)
    record = inspector.step("0")            # StepRecord: args, result, duration, attempts, HTTP
    items = inspector.items_of("1")         # a foreach's ItemRecords, in index order
    item = inspector.item("1", 12)          # one item: its status, its id, its steps when known

Steps are keyed by the one step address (workbench.project.address). A step inside a foreach
body has one record per item (in `ItemRecord.steps`, when the item's events are known: every item
live, only the failed ones, or all with `--trace`, from the history) and one record over all the
items (`runs`, `failures`). Live, an ok item keeps its steps' records only for the first
DETAILED_ITEMS items of a loop: the compact record stays for all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from workbench.project.address import AddressError, StepAddress
from workbench.runtime.lines import describe_error, format_duration

DETAILED_ITEMS = 1000
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ITEM_FORM = re.compile(r"^(.*)\[(\d+)\]$")


@dataclass
class StepRecord:
    address: str
    kind: str = ""
    label: str = ""
    status: str = ""  # running, ok, failed, skipped (cancelled: cut short)
    duration_ms: float | None = None
    summary: str = ""
    args: Any = None  # the rendered arguments (secrets masked)
    result: Any = None  # the result, or a preview of a large one
    error: dict | None = None
    attempts: int = 1
    http: list[dict[str, Any]] = field(default_factory=list)  # method, url, status, durationMs
    logs: list[dict[str, Any]] = field(default_factory=list)  # level, message
    item: int | None = None  # the foreach item it ran for
    loop: str | None = None  # the innermost foreach around it
    runs: int = 0  # how often it finished (a step in a foreach body: once per item)
    failures: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.address, "kind": self.kind, "label": self.label, "status": self.status,
                               "durationMs": self.duration_ms}
        for key, value in (("summary", self.summary), ("args", self.args), ("result", self.result),
                           ("error", self.error), ("item", self.item), ("loop", self.loop)):
            if value not in (None, ""):
                out[key] = value
        out["attempts"] = self.attempts
        out["http"] = list(self.http)
        if self.logs:
            out["logs"] = list(self.logs)
        if self.loop is not None and self.item is None:
            out["runs"], out["failures"] = self.runs, self.failures
        return out


@dataclass
class ItemRecord:
    loop: str  # the foreach's address
    index: int
    status: str = "running"  # running, ok, failed
    duration_ms: float | None = None
    id: Any = None  # the id of the item's result
    summary: str = ""
    error: dict | None = None
    retries: int = 0
    steps: dict[str, StepRecord] = field(default_factory=dict)  # its body steps, when its events are known

    @property
    def detailed(self) -> bool:
        return bool(self.steps)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.loop, "item": self.index, "status": self.status,
                               "durationMs": self.duration_ms}
        for key, value in (("id", self.id), ("summary", self.summary), ("error", self.error)):
            if value not in (None, ""):
                out[key] = value
        out["retries"] = self.retries
        out["steps"] = [record.to_dict() for record in self.steps.values()]
        return out


def loop_of(address: str) -> str | None:
    """The innermost foreach holding the step at `address`: "1.steps.0.then.2" -> "1"."""
    try:
        at = StepAddress.parse(address)
    except AddressError:
        return None
    while at.branches:
        parent = at.parent
        if at.branches[-1] == "steps":
            return str(parent)
        at = parent  # type: ignore[assignment]
    return None


def parse_target(text: str) -> tuple[str, int | None]:
    """`1.steps.0` or `1[12]` (item 12 of the foreach at 1) as (address, item). Raises AddressError."""
    match = _ITEM_FORM.match(text.strip())
    address, item = (match.group(1), int(match.group(2))) if match else (text, None)
    return str(StepAddress.parse(address)), item


def value_path(var: str, parts: tuple[Any, ...]) -> str:
    """A `${...}` expression for a node of a result: value_path("user", ("emails", 0, "value"))
    is `${user.emails[0].value}`; a key that is not a name is quoted (`["urn:…"]`)."""
    text = var or "result"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENT.match(str(part)):
            text += f".{part}"
        else:
            text += "[" + json.dumps(str(part), ensure_ascii=False) + "]"
    return "${" + text + "}"


class RunInspector:
    """Step and item records of one run, from its events in order (dicts: `Event.to_dict()`,
    the app's event data, or history lines)."""

    def __init__(self) -> None:
        self.steps: dict[str, StepRecord] = {}
        self.items: dict[str, dict[int, ItemRecord]] = {}  # foreach address -> index -> record
        self.run: dict[str, Any] = {}  # entry, run id, status, duration

    # -- building ---------------------------------------------------------------------------------
    def add(self, data: dict[str, Any]) -> None:
        kind = data.get("event")
        if kind == "step.finished" or kind == "step.started":
            self._step_event(data, kind == "step.finished")
        elif kind == "http.exchange" or kind == "log":
            if data.get("step") is not None:
                entry = ({"method": data.get("method"), "url": data.get("url"), "status": data.get("status"),
                          "durationMs": data.get("durationMs")} if kind == "http.exchange" else
                         {"level": data.get("level"), "message": data.get("message")})
                record = self._records(str(data["step"]), data.get("item"))[-1]  # the item's own, in a loop
                (record.http if kind == "http.exchange" else record.logs).append(entry)
        elif kind == "item.finished":
            self._item_finished(data)
        elif kind == "run.started":
            self.run = {"entry": data.get("entry"), "run": data.get("run"), "status": "running"}
        elif kind == "run.finished":
            self.run.update(status=data.get("status"), durationMs=data.get("durationMs"))
            if data.get("status") == "cancelled":
                for record in self.steps.values():
                    if record.status == "running":
                        record.status = "cancelled"

    def _records(self, address: str, item: Any) -> list[StepRecord]:
        """The records an event of this step updates: the step's own, and its item's."""
        record = self.steps.get(address)
        if record is None:
            record = self.steps[address] = StepRecord(address, loop=loop_of(address))
        if item is None or record.loop is None:
            return [record]
        items = self.items.setdefault(record.loop, {})
        holder = items.get(item)
        if holder is None:
            holder = items[item] = ItemRecord(record.loop, int(item))
        own = holder.steps.get(address)
        if own is None:
            own = holder.steps[address] = StepRecord(address, record.kind, record.label, item=int(item),
                                                     loop=record.loop)
        return [record, own]

    def _step_event(self, data: dict[str, Any], finished: bool) -> None:
        address = str(data.get("step", ""))
        records = self._records(address, data.get("item"))
        for n, record in enumerate(records):
            record.kind, record.label = str(data.get("kind", record.kind)), str(data.get("label", record.label))
            if not finished:
                if n or record.loop is None or record.status != "failed":
                    record.status = "running"
                continue
            status = str(data.get("status", ""))
            aggregate = n == 0 and record.loop is not None and data.get("item") is not None
            if aggregate:  # over all the items: failed once is failed
                record.runs += 1
                record.failures += status == "failed"
                record.status = "failed" if record.failures else status
                if status == "failed":
                    record.error = data.get("error")
                continue
            record.status = status
            record.duration_ms = data.get("durationMs")
            record.summary = str(data.get("summary") or "")
            record.error = data.get("error")
            record.attempts = int(data.get("attempts") or 1)
            if data.get("args") is not None:
                record.args = data["args"]
            if data.get("result") is not None:
                record.result = data["result"]
            record.runs += 1

    def _item_finished(self, data: dict[str, Any]) -> None:
        loop = str(data.get("step", ""))
        index = int(data.get("item", 0))
        items = self.items.setdefault(loop, {})
        record = items.get(index)
        if record is None:
            record = items[index] = ItemRecord(loop, index)
        record.status = str(data.get("status", ""))
        record.duration_ms = data.get("durationMs")
        record.id = data.get("id")
        record.summary = str(data.get("summary") or "")
        record.error = data.get("error")
        record.retries = int(data.get("retries") or 0)
        if record.status == "ok" and index >= DETAILED_ITEMS:
            record.steps = {}  # live: bounded memory for long loops

    # -- reading ----------------------------------------------------------------------------------
    def step(self, address: str) -> StepRecord | None:
        """The record of the step at `address` (any form StepAddress reads). Raises AddressError."""
        return self.steps.get(str(StepAddress.parse(address)))

    def item(self, address: str, index: int) -> ItemRecord | None:
        """Item `index` of the foreach at `address` (or of the loop around the step at `address`)."""
        loop = self._loop(address)
        return self.items.get(loop, {}).get(index) if loop else None

    def items_of(self, address: str, *, failed_only: bool = False) -> list[ItemRecord]:
        """The items of the foreach at `address` (or of the loop around that step), by index."""
        loop = self._loop(address)
        records = self.items.get(loop, {}) if loop else {}
        out = [records[i] for i in sorted(records)]
        return [r for r in out if r.status == "failed"] if failed_only else out

    def _loop(self, address: str) -> str | None:
        text = str(StepAddress.parse(address))
        record = self.steps.get(text)
        if text in self.items or (record is not None and record.kind == "foreach"):
            return text
        return loop_of(text)


# -- as text (the CLI; the app shows the same fields) ---------------------------------------------


def _json_lines(value: Any, pad: str = "    ") -> list[str]:
    return [pad + line for line in json.dumps(value, indent=2, ensure_ascii=False, default=str).splitlines()]


def status_text(status: str, duration_ms: Any, attempts: int = 1, retries: int = 0) -> str:
    text = status or "not run"
    if duration_ms is not None:
        text += f" in {format_duration(duration_ms)}"
    if attempts > 1:
        text += f" · {attempts} attempts"
    if retries:
        text += f" · {retries} {'retry' if retries == 1 else 'retries'}"
    return text


def item_line(record: ItemRecord) -> str:
    mark = {"ok": "✓", "failed": "✗"}.get(record.status, "▶")
    text = f"{mark} [{record.index}] {record.status}"
    if record.duration_ms is not None:
        text += f"  {format_duration(record.duration_ms)}"
    if record.error:
        text += f"  {describe_error(record.error, with_step=False)}"
    elif record.id is not None:
        text += f"  id {record.id}"
    elif record.summary:
        text += f"  {record.summary}"
    return text


def step_lines(record: StepRecord, items: list[ItemRecord] | None = None, *, all_items: bool = False) -> list[str]:
    """The inspector as text: the step, its status, arguments, result, HTTP; a foreach's items
    (the failed ones, and the others with `all_items`)."""
    out = [f"step {record.address} · {record.kind} · {record.label}".rstrip(" ·")]
    if record.item is not None:
        out[0] += f" [item {record.item}]"
    out.append(f"  status     {status_text(record.status, record.duration_ms, record.attempts)}")
    if record.loop is not None and record.item is None:
        out.append(f"  in         the foreach at {record.loop}: once per item (--item N shows one)")
    if record.summary:
        out.append(f"  summary    {record.summary}")
    if record.error:
        out.append(f"  error      {describe_error(record.error)}")
    if record.args is not None:
        out += ["  arguments", *_json_lines(record.args)]
    if record.result is not None:
        out += ["  result", *_json_lines(record.result)]
    if record.http:
        out.append("  HTTP")
        out += [f"    {h['method']} {h['url']} → {h['status'] if h['status'] is not None else 'no response'}"
                f" ({format_duration(h['durationMs'])})" for h in record.http]
    if record.logs:
        out.append("  logs")
        out += [f"    {log['level']:<7} {log['message']}" for log in record.logs]
    if items is not None:
        failed = [i for i in items if i.status == "failed"]
        out.append(f"  items      {len(items):,}, {len(failed):,} failed")
        shown = items if all_items else failed
        out += [f"    {item_line(i)}" for i in shown]
        if not all_items and len(items) > len(failed):
            out.append(f"    … {len(items) - len(failed):,} more (-v lists every item; --item N shows one)")
    return out


def item_lines(record: ItemRecord) -> list[str]:
    out = [f"item {record.index} of the foreach at {record.loop}",
           f"  status     {status_text(record.status, record.duration_ms, retries=record.retries)}"]
    if record.id is not None:
        out.append(f"  id         {record.id}")
    elif record.summary:
        out.append(f"  summary    {record.summary}")
    if record.error:
        out.append(f"  error      {describe_error(record.error)}")
    if not record.steps and record.status == "ok":
        out.append("  (its steps' events are not in the history: `workbench run --trace` keeps them)")
    for step in record.steps.values():
        out += ["", *step_lines(step)]
    return out
