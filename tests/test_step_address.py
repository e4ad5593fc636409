"""StepAddress: the one string form of a step, and what is derived from it."""

from __future__ import annotations

import pytest

from workbench.project.address import AddressError, StepAddress, split_key_path, subject
from workbench.project.diagnostic import Diagnostic
from workbench.project.model import EntryPoint, walk_steps


@pytest.mark.parametrize(("text", "key_path", "display"), [
    ("0", ("steps", 0), "steps[0]"),
    ("1.then.0", ("steps", 1, "then", 0), "steps[1].then[0]"),
    ("2.steps.1.else.3", ("steps", 2, "steps", 1, "else", 3), "steps[2].steps[1].else[3]"),
    ("onError.0", ("onError", 0), "onError[0]"),
])
def test_one_string_form_and_its_derived_forms(text, key_path, display):
    address = StepAddress.parse(text)
    assert str(address) == text
    assert address.key_path == key_path and address.display == display
    assert StepAddress.from_key_path((*key_path, "args", "payload")) == address
    assert StepAddress.parse(address) is address


def test_moving_around():
    address = StepAddress.parse("1.then.0")
    assert str(address.next) == "1.then.1" and str(address.parent) == "1"
    assert str(StepAddress.top(3).child("steps")) == "3.steps.0"
    assert address.container == ("steps", 1, "then") and address.index == 0 and address.depth == 1


@pytest.mark.parametrize("text", ["", "steps", "1.then", "x.0", "1.loop.0", "steps[0]", "-1"])
def test_not_an_address(text):
    with pytest.raises(AddressError, match="bad step address"):
        StepAddress.parse(text)


def test_the_old_prefixed_form_still_reads():
    """Written by the app and the store before the one form (and in some older run files)."""
    assert str(StepAddress.parse("steps.1.then.0")) == "1.then.0"


def test_engine_paths_are_step_addresses():
    entry = EntryPoint.model_validate({"steps": [{"log": "a"}, {"if": "${x}", "then": [{"log": "b"}]}]})
    assert [str(StepAddress.parse(path)) for path, _ in walk_steps(entry.steps)] == ["0", "1", "1.then.0"]


def test_diagnostics_name_their_step():
    diag = Diagnostic("error", "unknown-variable", "x", key='entrypoints.provision.steps[1].then[0].args.payload')
    assert diag.about() == (("entrypoints", "provision"), StepAddress.parse("1.then.0"))
    assert subject("Config.toml", "scimSecret") == (("configurables", "scimSecret"), None)
    assert split_key_path('connections."my.api".auth') == ("connections", "my.api", "auth")
