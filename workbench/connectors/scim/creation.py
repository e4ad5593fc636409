"""`ScimCreation`: the POST of a create, never blindly re-sent. After an ambiguous failure the
resource is looked up by its key (`userName`, `displayName`) before the create is sent again, as
`client.py`'s docstring says; `_created_before` tells an earlier writer's resource from ours."""

from __future__ import annotations

import email.utils
import logging
import time
from datetime import datetime
from typing import Any

import httpx

from workbench.connectors.base import ConnectorError
from workbench.connectors.httpx_core import RETRY_STATUSES, Ambiguous, NotSent, RetryLater
from workbench.connectors.scim.errors import ScimError, filter_value
from workbench.connectors.scim.payload import SCIM_JSON, _Kind
from workbench.connectors.scim.transport import _JSON, ScimTransport
from workbench.connectors.urls import safe_url

log = logging.getLogger("workbench.connectors.scim.client")  # the connection's logger: its records keep their name

LOOKUPS = 3  # after an ambiguous create: lookups (with backoff) before the create is sent again
CLOCK_TOLERANCE = 2.0  # seconds: the Date header's resolution and the two ends' jitter


class ScimCreation(ScimTransport):
    """`_post_resource` and its lookups (`createUser`, `createGroup`, and the reconciler's creates)."""

    async def _post_resource(self, kind: _Kind, body: dict[str, Any]) -> dict[str, Any]:
        """POST a validated body, never blindly re-sent: after an ambiguous failure the resource is
        looked up first (see the module docstring)."""
        content = _JSON(body).encode()
        headers = {"Content-Type": SCIM_JSON}
        first_sent: float | None = None  # when the first attempt that may have arrived was sent
        ambiguous_error: ConnectorError | None = None

        async def resolve(error: ConnectorError) -> dict[str, Any]:
            """The resource an ambiguous attempt may have created, or RetryLater to send again."""
            nonlocal ambiguous_error
            ambiguous_error = error
            found = await self._lookup(kind, body, error, first_sent)
            if found is not None:
                return found
            error.resend_safe = True  # the server has no such resource: sending again cannot duplicate
            raise RetryLater(error) from error

        async def attempt(last: bool) -> dict[str, Any]:
            nonlocal first_sent
            sent_at = time.time()
            try:
                response = await self.send(self._build("POST", kind.endpoint, None, content, headers))
            except NotSent as error:
                raise RetryLater(error) from error
            except Ambiguous as error:
                first_sent = first_sent or sent_at
                return await resolve(error)
            status = response.status_code
            if status == 429 and not last:
                raise RetryLater(self._error(response), response)
            if status in RETRY_STATUSES:
                first_sent = first_sent or sent_at
                return await resolve(self._error(response))
            if status == 409 and ambiguous_error is not None:
                # An earlier attempt may have created it after all.
                found = await self._lookup(kind, body, self._error(response), first_sent)
                if found is not None:
                    return found
            return self._json(response)

        return await self.retrying(attempt)

    async def _lookup(self, kind: _Kind, body: dict[str, Any], error: ConnectorError,
                      sent_at: float | None) -> dict[str, Any] | None:
        """After an ambiguous create: the resource if the server has it, None if it still has not
        after `LOOKUPS` lookups with backoff (a server's index may lag behind its writes). Raises
        `error` when a lookup itself fails (the outcome stays unknown), and a 409 when the
        resource is older than the first attempt (it was there before: not ours to report)."""
        value = body.get(kind.key)
        if not isinstance(value, str) or not value:
            error.resend_safe = False  # nothing to look it up by: it may have been created
            raise error
        query = {"filter": f"{kind.key} eq {filter_value(value)}"}
        for number in range(1, LOOKUPS + 1):
            try:
                response, _ = await self._request("GET", kind.endpoint, query=query, safe=True)
                page = self._json(response)
            except ConnectorError as exc:
                log.warning("could not check whether the %s %r was created: %s", kind.name, value, exc.message)
                error.resend_safe = False  # the outcome stays unknown: sending again could duplicate
                raise error from exc
            for resource in (page or {}).get("Resources") or []:
                if isinstance(resource, dict) and str(resource.get(kind.key, "")).lower() == value.lower():
                    if _created_before(resource, response, sent_at):
                        raise ScimError(
                            f"SCIM 409 uniqueness: a {kind.name} with {kind.key} {value!r} already existed "
                            "before this create (the create's answer was lost)",
                            status=409, scim_type="uniqueness", method="POST",
                            url=self.mask(safe_url(response.request.url.copy_with(query=None))),
                        ) from error
                    log.info("the %s %r was created by an earlier attempt", kind.name, value)
                    return resource
            if number < LOOKUPS:
                await self.backoff(number)
        return None


def _created_before(resource: dict[str, Any], response: httpx.Response, sent_at: float | None) -> bool:
    """Whether `resource` was created before `sent_at` (our clock), judged on the server's clock:
    the lookup's Date header tells how far the two clocks are apart."""
    created = (resource.get("meta") or {}).get("created") if isinstance(resource.get("meta"), dict) else None
    date = response.headers.get("date")
    if sent_at is None or not isinstance(created, str) or not date:
        return False  # nothing to judge by: take it as ours, as before
    try:
        created_at = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
        server_now = email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return False
    server_sent_at = sent_at + (server_now - time.time())
    return created_at < server_sent_at - CLOCK_TOLERANCE
