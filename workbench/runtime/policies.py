"""Step policies: `retry`, `timeout` and `onError = "continue"` on any step.

A step's `retry` is the one retry loop for that step. While it runs, its connector sends each
request once (`single_attempt`), so the step's attempts and the connector's own transport
retries never multiply: a step with `attempts = 3` sends a request at most 3 times. The
connector's safety rules stay: a request that may have reached the server is sent again only
when the operation is idempotent, or when the connector made sure it was not applied (a
`createUser` whose lookup found no such user: `resendSafe`). A 429 is always retried, after its
`Retry-After`.

`timeout` is the whole step's deadline, across its attempts and backoffs.
"""
# Durations and the policy model are the project's (workbench/project/policy.py).

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from workbench.connectors.base import single_attempt

def _matches(condition: str, error: dict[str, Any]) -> bool:
    status = error.get("status")
    if condition == "transport":
        return error.get("type") in ("NotSent", "Ambiguous")
    if condition == "timeout":
        return bool(error.get("timedOut"))
    if condition in ("4xx", "5xx") and isinstance(status, int):
        return status // 100 == int(condition[0])
    if condition.isdigit():
        return status == int(condition)
    return error.get("scimType") == condition


def should_retry(error: dict[str, Any], on: list[str], idempotent: bool) -> bool:
    """Whether a failed attempt may run again: its error matches `on`, and sending again cannot
    apply the operation twice."""
    if error.get("resendSafe") is False or not any(_matches(c, error) for c in on):
        return False
    if idempotent or error.get("resendSafe") is True:
        return True
    return error.get("type") == "NotSent" or error.get("status") == 429


def backoff_delay(policy: Any, attempt: int, error: dict[str, Any]) -> float:
    """The pause before attempt `attempt + 1`: the server's Retry-After when it gave one,
    else `initial` doubled per attempt (or fixed), at most `max`."""
    after = error.get("retryAfter")
    if isinstance(after, (int, float)) and after >= 0:
        return min(float(after), policy.max_seconds)
    delay = policy.initial_seconds * (2 ** (attempt - 1) if policy.backoff == "exponential" else 1)
    return min(delay, policy.max_seconds)


class StepTimeout(Exception):
    """The step's own deadline (`timeout`) passed."""


async def with_policies(run_once: Callable[[], Awaitable[Any]], *, retry: Any, timeout: float | None,
                        idempotent: bool, on_retry: Callable[[int, dict, float], None],
                        error_of: Callable[[BaseException], dict[str, Any]],
                        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> Any:
    """Run a step body under its retry policy and deadline. Raises the last attempt's
    exception, or StepTimeout when the deadline passed."""

    async def attempts() -> Any:
        if retry is None:
            return await run_once()
        token = single_attempt.set(True)
        try:
            for attempt in range(1, retry.attempts + 1):
                try:
                    return await run_once()
                except Exception as exc:  # noqa: BLE001 - classified below, re-raised when final
                    error = error_of(exc)
                    if attempt == retry.attempts or not should_retry(error, retry.on, idempotent):
                        raise
                    delay = backoff_delay(retry, attempt, error)
                    on_retry(attempt, error, delay)
                    await sleep(delay)
        finally:
            single_attempt.reset(token)
        raise AssertionError("unreachable")  # pragma: no cover

    if timeout is None:
        return await attempts()
    try:
        async with asyncio.timeout(timeout) as deadline:
            return await attempts()
    except TimeoutError:
        if deadline.expired():
            raise StepTimeout(f"the step's {timeout:g} s deadline passed") from None
        raise
