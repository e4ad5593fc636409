"""Shared fixtures. Keep each fixture small and documented; add new ones in their own section."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.helpers import copy_sample
from workbench.sandbox import Sandbox

# -- sandbox: a real OAuth2 token endpoint + SCIM 2.0 server on 127.0.0.1 ------------------------


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the whole session (port 0, token lifetime 1 h). Its SCIM data is shared
    by every test that uses it: use unique userNames, and don't revoke its tokens (use
    `make_sandbox` for that)."""
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """A factory of started sandboxes, stopped at the end of the test:
    `make_sandbox(token_lifetime=2, scopes=["scim"], client_secret="s3cret")`."""
    started: list[Sandbox] = []

    def make(**kwargs) -> Sandbox:
        sb = Sandbox(**kwargs).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


@pytest.fixture
def short_sandbox(make_sandbox) -> Sandbox:
    """A fresh sandbox whose tokens live 2 seconds (for expiry and refresh tests)."""
    return make_sandbox(token_lifetime=2)


# -- the reference sample, copied ---------------------------------------------------------------


@pytest.fixture
def sample(tmp_path):
    """A copy of projects/scim-provisioning (without any run history) to edit and run freely."""
    return copy_sample("scim-provisioning", tmp_path)
