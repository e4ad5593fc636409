"""Shared test helpers (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "projects"
GOLDEN = Path(__file__).resolve().parent / "golden"


def copy_sample(name: str, dest: Path) -> Path:
    """A sample as the repository has it: its Config.toml without the values a README tour
    (`sandbox --write-config`, `config set`) may have put in the working copy, no secrets file,
    no history."""
    target = dest / name
    shutil.copytree(SAMPLES / name, target, ignore=shutil.ignore_patterns(".workbench", "Config-secrets.toml"))
    config = target / "Config.toml"
    if config.exists():
        lines = config.read_text(encoding="utf-8").splitlines(keepends=True)
        config.write_text("".join(line for line in lines if line.startswith("#") or not line.strip()), encoding="utf-8")
    return target


def make_project(dest: Path, text: str, config: str | None = None) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "workbench.toml").write_text(text, encoding="utf-8")
    if config is not None:
        (dest / "Config.toml").write_text(config, encoding="utf-8")
    return dest


def hr_webhook_values(sb, hook_token: str) -> dict[str, str]:
    """Values of projects/hr-webhook against a sandbox, with the token its callers send."""
    return {"scimServiceUrl": sb.service_url, "scimTokenUrl": sb.token_url, "scimClientId": sb.client_id,
            "scimClientSecret": sb.client_secret, "hookToken": hook_token}
