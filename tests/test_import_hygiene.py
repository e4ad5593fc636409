"""The headless core never imports textual (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT

CORE = [
    "workbench.project", "workbench.project.diagnostics", "workbench.project.expressions",
    "workbench.connectors.catalogue", "workbench.connectors.scim", "workbench.runtime",
    "workbench.sandbox", "workbench.cli", "workbench.deploy.kubernetes", "workbench.project.secret_checks",
]


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_not_import_textual(module):
    code = f"import sys, {module}; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "False"


def test_the_check_command_does_not_import_textual():
    code = (
        "import sys; from workbench.cli import main; "
        "main(['check', 'projects/scim-provisioning', '--set', 'scimServiceUrl=x']); "
        "print('TEXTUAL', 'textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout
    assert "TEXTUAL False" in out
