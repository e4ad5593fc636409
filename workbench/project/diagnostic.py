from __future__ import annotations

from dataclasses import asdict, dataclass, field

ERROR, WARNING = "error", "warning"


@dataclass
class Diagnostic:
    severity: str  # "error" | "warning"
    code: str  # e.g. "unknown-connector"
    message: str
    file: str = "workbench.toml"
    line: int | None = None
    key: str = ""  # TOML key path, e.g. entrypoints.provisionUser.steps[0].call
    hints: list[str] = field(default_factory=list)
    col: int | None = None  # set for toml-syntax errors

    def location(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "") + (f":{self.col}" if self.line and self.col else "")
        return f"{where} [{self.key}]" if self.key else where

    def about(self):
        """(tree item, StepAddress or None) this diagnostic is about: (("entrypoints", "a"), 1.then.0)."""
        from workbench.project.address import subject

        return subject(self.file, self.key)

    def to_dict(self) -> dict:
        return asdict(self)
