"""A shared route is the later service's problem, in the forms as in `check` (entry_checks.py)."""

from __future__ import annotations

from workbench.project.entry_checks import entry_problems

SERVICE = {"kind": "service", "method": "POST", "path": "/hires", "auth": {"type": "none"}}
OTHERS = {"first": dict(SERVICE), "second": dict(SERVICE)}


def codes(name: str, original: str | None) -> list[str]:
    return [code for code, *_ in entry_problems(name, dict(SERVICE), others=OTHERS, original=original)]


def test_the_first_of_two_services_on_one_route_saves_and_the_second_is_told():
    assert "duplicate-route" not in codes("first", "first")
    assert "duplicate-route" in codes("second", "second")


def test_a_new_service_on_a_taken_route_is_told():
    assert "duplicate-route" in codes("third", None)
