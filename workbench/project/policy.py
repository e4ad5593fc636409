"""The policies a step may carry (`retry`, `timeout`, `onError`), as written in workbench.toml.
The runtime applies them (runtime/policies.py)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
KEYWORDS = ("transport", "timeout", "4xx", "5xx")


def parse_duration(value: Any) -> float:
    """Seconds from "30s", "500ms", "2m", "1h" or a number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"{value!r} is not a duration (e.g. \"30s\", \"500ms\", \"2m\")")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{value!r}: a duration must be more than 0")
    return seconds


def _condition(value: Any) -> str:
    text = str(value).strip()
    if text in KEYWORDS or re.fullmatch(r"[1-5]\d\d", text) or re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", text):
        return text
    raise ValueError(f"{value!r}: expected transport, timeout, 4xx, 5xx, a status such as 503, "
                     "or a scimType such as uniqueness")


class RetryPolicy(BaseModel):
    """`retry = { attempts = 3, backoff = "exponential", initial = "1s", max = "30s", on = [...] }`"""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(3, ge=1, le=20, description="Attempts in all, the first included")
    backoff: Literal["exponential", "fixed"] = "exponential"
    initial: float | str = Field("1s", description="The first pause")
    max: float | str = Field("30s", description="The longest pause")
    on: list[str] = Field(default_factory=lambda: ["transport", "429", "5xx"],
                          description="The errors to retry: transport, timeout, 4xx, 5xx, statuses, scimTypes")

    @field_validator("initial", "max")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        parse_duration(value)
        return value

    @field_validator("on")
    @classmethod
    def _conditions(cls, value: list[Any]) -> list[str]:
        return [_condition(item) for item in value]

    @property
    def initial_seconds(self) -> float:
        return parse_duration(self.initial)

    @property
    def max_seconds(self) -> float:
        return parse_duration(self.max)


def check_timeout(value: Any) -> Any:
    if value is not None:
        parse_duration(value)
    return value


OnError = Literal["fail", "continue"]
