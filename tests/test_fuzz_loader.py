"""Hypothesis: any workbench.toml text or structure loads to a model or diagnostics, never a
traceback; and every diagnostic points at a line that exists."""

from __future__ import annotations

import tempfile
from pathlib import Path

import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.project import ProjectStore
from workbench.project.diagnostics import check

names = st.sampled_from(["a", "scimClient", "provisionUser", "x_1", "9bad", "with space", "steps"])
scalars = st.one_of(
    st.text(max_size=20), st.integers(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["${config.a}", "${x.y[0]}", "${", "$${z}", "${len(a) > 1 and not b}", "scim", "a.createUser"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3), max_leaves=8)
step_keys = st.sampled_from(["call", "set", "log", "if", "foreach", "return", "fail", "args", "result", "level",
                             "then", "else", "steps", "as", "concurrency", "value", "label", "bogus"])
steps = st.lists(st.dictionaries(step_keys, values, min_size=1, max_size=4), max_size=4)
documents = st.fixed_dictionaries(
    {},
    optional={
        "integration": st.dictionaries(st.sampled_from(["name", "description", "x"]), scalars, max_size=2),
        "configurables": st.dictionaries(names, st.dictionaries(
            st.sampled_from(["type", "secret", "default", "description", "extra"]),
            st.one_of(st.sampled_from(["string", "int", "float", "boolean", "string[]", "int[]", "date"]), scalars),
            max_size=3), max_size=3),
        "connections": st.dictionaries(names, st.dictionaries(
            st.sampled_from(["connector", "serviceUrl", "baseUrl", "auth", "timeout"]), values, max_size=3), max_size=2),
        "entrypoints": st.dictionaries(names, st.fixed_dictionaries(
            {}, optional={"kind": scalars, "schedule": scalars, "timezone": scalars, "steps": steps, "onError": steps}),
            max_size=2),
    },
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_and_check(text: str, config: str = "") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "workbench.toml").write_text(text, encoding="utf-8")
        (root / "Config.toml").write_text(config, encoding="utf-8")
        store = ProjectStore.open(root)
        diagnostics = check(store, env={})
        line_count = max(1, len(text.splitlines()), len(config.splitlines()))
        for d in diagnostics:
            assert d.severity in ("error", "warning") and d.code and d.message
            assert d.line is None or 1 <= d.line <= line_count, d


@FUZZ
@given(documents)
def test_structured_documents_never_raise(doc):
    load_and_check(tomlkit.dumps(doc))


@FUZZ
@given(st.lists(st.sampled_from(list('[]."=\n #${}ab1_') + ["steps", "call", "integration", "[[", "'''"]), max_size=60).map("".join))
def test_arbitrary_text_never_raises(text):
    load_and_check(text, config=text[:30])
