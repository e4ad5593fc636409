"""Reconcile a desired set of users (or groups) with the server's: a plan, then an apply.

The plan compares the desired resources with the server's resources *in scope* (a SCIM filter:
a sync never manages every user), matched locally on `matchOn`, so a server that cannot filter on
that attribute works too:
- create: desired, absent from the server;
- update: both, differing (a per-attribute diff, the minimal PatchOp of `diff.py`);
- deprovision: in scope, absent from desired (deactivate = `active` false, or delete);
- unchanged.

Computing the plan sends only reads. A plan that would change (update or deprovision) more than
`maxChanges` of the resources in scope (a count, or a percentage of them) is refused unless
forced, so a truncated source cannot deactivate everyone. Creates do not count: they change no
resource in scope. Applying a plan twice sends no write the second time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench.connectors.base import ValidationFailed
from workbench.connectors.scim.diff import diff, value_at

CREATE, UPDATE, DEPROVISION, UNCHANGED = "create", "update", "deprovision", "unchanged"


@dataclass
class Change:
    action: str
    key: str
    desired: dict[str, Any] | None = None
    current: dict[str, Any] | None = None
    ops: list[dict[str, Any]] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def diffs(self) -> list[dict[str, Any]]:
        """Each changed attribute with its value before and after."""
        return [{"path": path, "from": value_at(self.current or {}, path), "to": value_at(self.desired or {}, path)}
                for path in self.changed]


@dataclass
class Plan:
    kind: str  # "User" or "Group"
    deprovision: str  # deactivate | delete | none
    in_scope: int
    changes: list[Change] = field(default_factory=list)

    def of(self, action: str) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    @property
    def counts(self) -> dict[str, int]:
        return {action: len(self.of(action)) for action in (CREATE, UPDATE, DEPROVISION, UNCHANGED)}

    @property
    def changing(self) -> int:
        """The resources in scope the plan changes (updates and deprovisions; not the creates),
        what `maxChanges` limits."""
        return sum(1 for c in self.changes if c.action in (UPDATE, DEPROVISION))

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "inScope": self.in_scope,
            "create": [c.key for c in self.of(CREATE)],
            "update": [{"key": c.key, "changes": c.diffs()} for c in self.of(UPDATE)],
            "deprovision": [{"key": c.key, "action": self.deprovision} for c in self.of(DEPROVISION)],
        }


def parse_limit(limit: int | str | None, in_scope: int) -> int | None:
    """`maxChanges` as a count: 25, or "10%" of the resources in scope."""
    if limit is None:
        return None
    if isinstance(limit, str) and limit.strip().endswith("%"):
        try:
            percent = float(limit.strip()[:-1])
        except ValueError:
            raise ValidationFailed(f"maxChanges {limit!r}: expected a count or a percentage such as \"10%\"") from None
        return int(in_scope * percent / 100)
    try:
        return int(limit)
    except (TypeError, ValueError):
        raise ValidationFailed(f"maxChanges {limit!r}: expected a count or a percentage such as \"10%\"") from None


def make_plan(kind: str, desired: list[dict[str, Any]], current: list[dict[str, Any]], *, match_on: str,
              deprovision: str, clear_missing: bool = False) -> Plan:
    """Compare validated desired resources with the server's resources in scope."""
    plan = Plan(kind, deprovision, len(current))
    by_key: dict[str, dict[str, Any]] = {}
    for resource in current:
        key = _key(value_at(resource, match_on), match_on)
        if key is not None:
            by_key.setdefault(key, resource)
    seen: set[str] = set()
    for index, item in enumerate(desired):
        key = _key(value_at(item, match_on), match_on)
        if key is None:
            raise ValidationFailed(f"desired[{index}] has no {match_on} to match on")
        if key in seen:
            raise ValidationFailed(f"desired[{index}]: {match_on} {key!r} appears twice in the desired set")
        seen.add(key)
        resource = by_key.get(key)
        if resource is None:
            plan.changes.append(Change(CREATE, key, desired=item))
            continue
        ops, changed = diff(item, resource, clear_missing=clear_missing)
        plan.changes.append(Change(UPDATE if ops else UNCHANGED, key, item, resource, ops, changed))
    for key, resource in sorted(by_key.items()):  # the server's order is not stable
        if key in seen:
            continue
        if deprovision == "none" or (deprovision == "deactivate" and resource.get("active") is False):
            plan.changes.append(Change(UNCHANGED, key, current=resource))
        else:
            plan.changes.append(Change(DEPROVISION, key, current=resource))
    return plan


def _key(value: Any, match_on: str) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    return text.lower() if match_on.lower() == "username" else text


def plan_lines(report: dict[str, Any]) -> list[str]:
    """The plan as a readable diff, as `terraform plan` shows one."""
    lines = [f"+ {key}  (create)" for key in report.get("create", [])]
    for update in report.get("update", []):
        parts = [f"{c['path']}: {json.dumps(c['from'], ensure_ascii=False)} → {json.dumps(c['to'], ensure_ascii=False)}"
                 for c in update["changes"]]
        lines.append(f"~ {update['key']}  " + "; ".join(parts))
    lines += [f"- {d['key']}  ({d['action']})" for d in report.get("deprovision", [])]
    lines += [f"! {f['key']}  ({f['action']} failed: {f['error']})" for f in report.get("failed", [])]
    counts = report.get("counts", {})
    totals = (f"{counts.get(CREATE, 0)} to create, {counts.get(UPDATE, 0)} to update, "
              f"{counts.get(DEPROVISION, 0)} to deprovision, {counts.get(UNCHANGED, 0)} unchanged")
    if report.get("applied") is False:
        totals += " (a plan: nothing was changed)"
    elif report.get("failed"):
        totals += f"; {len(report['failed'])} failed"
    lines.append(totals)
    return lines
