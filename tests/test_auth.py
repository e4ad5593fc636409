"""workbench.connectors.auth against the real sandbox token endpoint on 127.0.0.1.

httpx.MockTransport is used only to inject faults the sandbox cannot produce."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from workbench.connectors.auth import (
    AuthConfig,
    BasicConfig,
    BearerConfig,
    NoAuthConfig,
    OAuth2ClientCredentials,
    OAuth2ClientCredentialsConfig,
    TokenError,
    parse_auth,
)
from workbench.connectors.base import ConnectorError

CTX = httpx.create_ssl_context()  # shared: building a client's default one costs ~35 ms
SECRET = "s3cret-Do-Not-Leak-7f3a"
WRONG = "wr0ng-Do-Not-Leak-91c2"


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recording(httpx.AsyncHTTPTransport):
    """A real transport that remembers the token requests it sent (observation only)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.sent.append(request)
        return await super().handle_async_request(request)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text
        assert WRONG not in text


@pytest.fixture
def sb(make_sandbox):
    return make_sandbox(client_secret=SECRET)


async def _get(auth: httpx.Auth, url: str, n: int = 1) -> list[httpx.Response]:
    async with httpx.AsyncClient(auth=auth, verify=CTX) as client:
        return [await client.get(url + "/Users") for _ in range(n)]


# -- fetching and caching -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_token_fetch_uses_the_configured_client_auth_method(sb, method):
    transport = Recording()
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET, ["scim:read", "scim:write"], method,
                                   transport=transport)
    (response,) = await _get(auth, sb.service_url)
    await auth.aclose()
    assert response.status_code == 200
    assert sb.tokens_issued == 1
    (sent,) = transport.sent
    form = dict(httpx.QueryParams(sent.content.decode()))
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "scim:read scim:write"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    if method == "client_secret_basic":
        assert sent.headers["authorization"].startswith("Basic ")
        assert "client_secret" not in form
    else:
        assert "authorization" not in sent.headers
        assert form["client_id"] == sb.client_id and form["client_secret"] == SECRET


async def test_token_is_cached_across_requests(sb):
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET)
    responses = await _get(auth, sb.service_url, n=8)
    await auth.aclose()
    assert [r.status_code for r in responses] == [200] * 8
    assert sb.tokens_issued == 1 and auth.tokens_fetched == 1
    assert sb.requests == 8  # no 401 round trips


async def test_concurrent_requests_share_one_token_fetch(sb):
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET)
    async with httpx.AsyncClient(auth=auth, verify=CTX) as client:
        responses = await asyncio.gather(*(client.get(sb.service_url + "/Users") for _ in range(20)))
    await auth.aclose()
    assert {r.status_code for r in responses} == {200}
    assert sb.tokens_issued == 1


async def test_refreshes_before_expiry_with_the_skew(sb):
    clock = FakeClock()
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET, clock=clock)  # lifetime 3600, skew 30
    async with httpx.AsyncClient(auth=auth, verify=CTX) as client:
        await client.get(sb.service_url + "/Users")
        clock.now += 3600 - 30 - 1
        await client.get(sb.service_url + "/Users")
        assert sb.tokens_issued == 1
        clock.now += 2  # within the skew: refreshed before the server would refuse it
        assert (await client.get(sb.service_url + "/Users")).status_code == 200
        assert sb.tokens_issued == 2
    await auth.aclose()
    assert sb.requests == 3  # refreshed proactively, never a 401


async def test_skew_is_at_most_half_the_lifetime(make_sandbox):
    sb = make_sandbox(client_secret=SECRET, token_lifetime=40)
    clock = FakeClock()
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET, clock=clock)
    async with httpx.AsyncClient(auth=auth, verify=CTX) as client:
        await client.get(sb.service_url + "/Users")
        clock.now += 19.5  # a 30 s skew would already refresh here
        await client.get(sb.service_url + "/Users")
        assert sb.tokens_issued == 1
        clock.now += 1  # past 40 - min(30, 20)
        await client.get(sb.service_url + "/Users")
        assert sb.tokens_issued == 2
    await auth.aclose()


async def test_short_lived_token_is_refreshed_in_real_time(short_sandbox):
    sb = short_sandbox  # tokens live 2 s, so the client refreshes after 1 s
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, sb.client_secret)
    async with httpx.AsyncClient(auth=auth, verify=CTX) as client:
        assert (await client.get(sb.service_url + "/Users")).status_code == 200
        await asyncio.sleep(1.1)
        assert (await client.get(sb.service_url + "/Users")).status_code == 200
    await auth.aclose()
    assert sb.tokens_issued == 2
    assert sb.requests == 2


# -- 401 handling -------------------------------------------------------------------------------


async def test_401_with_cached_token_refreshes_once_and_retries(sb):
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET)
    async with httpx.AsyncClient(auth=auth, verify=CTX) as client:
        assert (await client.get(sb.service_url + "/Users")).status_code == 200
        sb.revoke_all_tokens()
        response = await client.get(sb.service_url + "/Users")
    await auth.aclose()
    assert response.status_code == 200
    assert sb.tokens_issued == 2
    assert sb.requests == 3  # 200, then 401 + retried 200
    assert [r.status_code for r in response.history] == [401]


async def test_401_after_revoke_concurrent_requests_share_one_refresh(sb):
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET)
    async with httpx.AsyncClient(auth=auth, verify=CTX) as client:
        await client.get(sb.service_url + "/Users")
        sb.revoke_all_tokens()
        responses = await asyncio.gather(*(client.get(sb.service_url + "/Users") for _ in range(10)))
    await auth.aclose()
    assert {r.status_code for r in responses} == {200}
    assert sb.tokens_issued == 2


async def test_persistent_401_is_retried_only_once_and_never_with_a_fresh_token(sb):
    calls: list[str] = []

    def always_401(request: httpx.Request) -> httpx.Response:  # fault: a server refusing every token
        calls.append(request.headers["authorization"])
        return httpx.Response(401, json={"status": "401"})

    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET)
    async with httpx.AsyncClient(auth=auth, verify=CTX, transport=httpx.MockTransport(always_401)) as client:
        first = await client.get("http://scim.invalid/Users")  # fresh token: no retry
        assert first.status_code == 401 and len(calls) == 1 and sb.tokens_issued == 1
        second = await client.get("http://scim.invalid/Users")  # cached token: one refresh + retry
    await auth.aclose()
    assert second.status_code == 401
    assert len(calls) == 3
    assert calls[1] != calls[2]  # the retry carried the new token
    assert sb.tokens_issued == 2


def test_sync_client_is_supported(sb):
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET)
    with httpx.Client(auth=auth, verify=CTX) as client:
        assert client.get(sb.service_url + "/Users").status_code == 200
        sb.revoke_all_tokens()
        assert client.get(sb.service_url + "/Users").status_code == 200
    assert sb.tokens_issued == 2


def test_auth_survives_a_new_event_loop(sb):
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET)
    assert asyncio.run(_get(auth, sb.service_url))[0].status_code == 200
    first_client = auth._client
    auth.invalidate()
    assert asyncio.run(_get(auth, sb.service_url))[0].status_code == 200
    assert auth._client is not first_client  # a pooled client is bound to the loop that made it
    assert sb.tokens_issued == 2


async def test_aclose_closes_the_token_client(sb):
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET)
    await _get(auth, sb.service_url)
    client = auth._client
    assert client is not None and not client.is_closed
    await auth.aclose()
    assert client.is_closed


async def test_on_exchange_reports_the_token_request(sb):
    seen = []
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET, on_exchange=lambda *a: seen.append(a))
    await _get(auth, sb.service_url, n=2)
    await auth.aclose()
    assert [(m, u, s) for m, u, s, _ in seen] == [("POST", sb.token_url, 200)]
    assert seen[0][3] >= 0


# -- errors (never the secret) --------------------------------------------------------------------


async def _token_error(auth: OAuth2ClientCredentials, url: str = "http://127.0.0.1:9/never") -> TokenError:
    with pytest.raises(TokenError) as info:
        await _get(auth, url)
    await auth.aclose()
    return info.value


def _all_text(exc: TokenError, auth, caplog) -> list[str]:
    return [str(exc), repr(exc), str(exc.to_dict()), repr(auth), caplog.text]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_wrong_secret_is_invalid_client(sb, method, caplog):
    caplog.set_level(logging.DEBUG)
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, WRONG, auth_method=method)
    exc = await _token_error(auth, sb.service_url)
    assert isinstance(exc, ConnectorError)
    assert str(exc).startswith(f"token request to {sb.token_url} failed: invalid_client (")
    assert exc.error == "invalid_client" and exc.status == 401 and exc.detail
    assert sb.requests == 0  # no SCIM request was sent
    assert_no_secret(*_all_text(exc, auth, caplog))


@pytest.mark.parametrize("method, status", [("client_secret_basic", 401), ("client_secret_post", 400)])
async def test_unknown_client_is_invalid_client(sb, method, status, caplog):
    caplog.set_level(logging.DEBUG)
    auth = OAuth2ClientCredentials(sb.token_url, "nobody", WRONG, auth_method=method)
    exc = await _token_error(auth, sb.service_url)
    assert exc.error == "invalid_client" and exc.status == status
    assert "does not exist" in str(exc)
    assert_no_secret(*_all_text(exc, auth, caplog))


async def test_unsupported_scope_is_invalid_scope(make_sandbox, caplog):
    sb = make_sandbox(client_secret=SECRET, scopes=["scim:read"])
    auth = OAuth2ClientCredentials(sb.token_url, sb.client_id, SECRET, ["scim:admin"])
    exc = await _token_error(auth, sb.service_url)
    assert exc.error == "invalid_scope" and exc.status == 400
    assert str(exc).startswith(f"token request to {sb.token_url} failed: invalid_scope")
    assert_no_secret(*_all_text(exc, auth, caplog))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_token_url(caplog):
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{_closed_port()}/oauth2/token"
    auth = OAuth2ClientCredentials(url, "client", SECRET, timeout=2)
    started = time.perf_counter()
    exc = await _token_error(auth)
    assert time.perf_counter() - started < 2
    assert str(exc).startswith(f"token request to {url} failed: cannot connect")
    assert exc.status is None and exc.token_url == url
    assert_no_secret(*_all_text(exc, auth, caplog))


def _mock(handler) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


URL = "http://127.0.0.1:5001/oauth2/token"


@pytest.mark.parametrize(
    "response, expected",
    [
        (httpx.Response(200, text="<html>login</html>", headers={"content-type": "text/html"}),
         "the response is not a JSON object (HTTP 200, text/html)"),
        (httpx.Response(200, json=["not", "an", "object"]), "the response is not a JSON object"),
        (httpx.Response(200, json={"token_type": "Bearer", "expires_in": 60}), "the response has no access_token"),
        (httpx.Response(200, json={"access_token": "t", "token_type": "mac"}), "unsupported token_type 'mac'"),
        (httpx.Response(502, text="Bad Gateway", headers={"content-type": "text/plain"}), "HTTP 502 (text/plain"),
        (httpx.Response(503, json={"message": "down"}), "HTTP 503"),
        (httpx.Response(400, json={"error": "invalid_request"}), "invalid_request (HTTP 400)"),
        (httpx.Response(400, json={"error": "invalid_client", "error_description": f"bad secret {SECRET}"}),
         "invalid_client (bad secret ***)"),
    ],
)
async def test_bad_token_responses(response, expected, caplog):
    caplog.set_level(logging.DEBUG)
    auth = OAuth2ClientCredentials(URL, "client", SECRET, transport=_mock(lambda request: response))
    exc = await _token_error(auth)
    assert str(exc) == f"token request to {URL} failed: {expected}" or str(exc).startswith(
        f"token request to {URL} failed: {expected}")
    assert exc.status == response.status_code
    assert_no_secret(*_all_text(exc, auth, caplog))


@pytest.mark.parametrize("fault, expected", [
    (httpx.ConnectTimeout("connect timed out"), "timed out after 2 s (ConnectTimeout)"),
    (httpx.ReadTimeout("read timed out"), "timed out after 2 s (ReadTimeout)"),
    (httpx.RemoteProtocolError("peer closed"), "RemoteProtocolError: peer closed"),
])
async def test_transport_faults(fault, expected, caplog):
    def handler(request):
        raise fault

    auth = OAuth2ClientCredentials(URL, "client", SECRET, timeout=2, transport=_mock(handler))
    exc = await _token_error(auth)
    assert str(exc) == f"token request to {URL} failed: {expected}"
    assert exc.__cause__ is None and exc.__suppress_context__
    assert_no_secret(*_all_text(exc, auth, caplog))


async def test_token_without_expires_in_is_kept_until_a_401():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(200, json={"access_token": f"t{len(calls)}", "token_type": "bearer"})

    clock = FakeClock()
    auth = OAuth2ClientCredentials(URL, "client", SECRET, clock=clock, transport=_mock(handler))
    request = httpx.Request("GET", "http://scim.invalid/Users")
    flow = auth.async_auth_flow(request)
    sent = await flow.__anext__()
    assert sent.headers["authorization"] == "Bearer t1"
    clock.now += 10**7
    flow = auth.async_auth_flow(httpx.Request("GET", "http://scim.invalid/Users"))
    assert (await flow.__anext__()).headers["authorization"] == "Bearer t1"
    assert len(calls) == 1
    await auth.aclose()


# -- configs --------------------------------------------------------------------------------------

ADAPTER = TypeAdapter(AuthConfig)


def test_configs_are_discriminated_by_type():
    oauth = ADAPTER.validate_python({"type": "oauth2-client-credentials", "tokenUrl": URL, "clientId": "c",
                                     "clientSecret": SECRET, "scopes": ["a", "b"], "authMethod": "client_secret_post"})
    assert isinstance(oauth, OAuth2ClientCredentialsConfig)
    assert oauth.clientSecret.get_secret_value() == SECRET and oauth.scopes == ["a", "b"]
    assert isinstance(ADAPTER.validate_python({"type": "bearer", "token": SECRET}), BearerConfig)
    assert isinstance(ADAPTER.validate_python({"type": "basic", "username": "u", "password": SECRET}), BasicConfig)
    assert isinstance(ADAPTER.validate_python({"type": "none"}), NoAuthConfig)
    default = OAuth2ClientCredentialsConfig(tokenUrl=URL, clientId="c", clientSecret=SECRET)
    assert default.authMethod == "client_secret_basic" and default.scopes == []


SHORT = "pw-Leak-1"  # short enough that pydantic would not truncate it in an error


@pytest.mark.parametrize("data", [
    {"type": "oauth2-client-credentials", "tokenUrl": URL, "clientSecret": SHORT},  # no clientId
    {"type": "oauth2-client-credentials", "tokenUrl": URL, "clientId": "c", "clientSecret": SHORT,
     "authMethod": "private_key_jwt"},
    {"type": "bearer", "token": SHORT, "extra": 1},
    {"type": "basic", "password": SHORT},
    {"type": "bearer", "token": 12345},
])
def test_invalid_configs_are_refused_without_echoing_secrets(data):
    with pytest.raises(ValidationError) as info:
        parse_auth(data)
    assert SHORT not in str(info.value) and "12345" not in str(info.value)
    assert info.value.errors()[0]["loc"][0] == data["type"]
    model = {"oauth2-client-credentials": OAuth2ClientCredentialsConfig, "bearer": BearerConfig,
             "basic": BasicConfig}[data["type"]]
    with pytest.raises(ValidationError) as info:  # validated alone, the model hides its input too
        model.model_validate(data)
    assert SHORT not in str(info.value) and "12345" not in str(info.value)


def test_parse_auth_hides_the_input_of_an_unknown_type():
    with pytest.raises(ValidationError) as info:
        parse_auth({"type": "kerberos", "token": SHORT})
    assert "does not match any of the expected tags" in str(info.value)
    assert SHORT not in str(info.value)


def test_unknown_auth_type_is_refused():
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        ADAPTER.validate_python({"type": "kerberos"})


def test_secret_fields_are_marked_and_described():
    for model, field in [(OAuth2ClientCredentialsConfig, "clientSecret"), (BearerConfig, "token"),
                         (BasicConfig, "password")]:
        info = model.model_fields[field]
        assert info.json_schema_extra == {"secret": True}
        assert info.description
    schema = OAuth2ClientCredentialsConfig.model_json_schema()
    assert schema["properties"]["clientSecret"]["secret"] is True
    assert set(schema["properties"]) >= {"type", "tokenUrl", "clientId", "clientSecret", "scopes", "authMethod"}


def test_reprs_never_show_secrets():
    configs = [
        OAuth2ClientCredentialsConfig(tokenUrl=URL, clientId="c", clientSecret=SECRET),
        BearerConfig(token=SECRET),
        BasicConfig(username="u", password=SECRET),
    ]
    for config in configs:
        assert_no_secret(repr(config), str(config), config.model_dump_json())
        assert config.secret_values() == [SECRET]
        assert_no_secret(repr(config.to_httpx_auth()))
    auth = configs[0].to_httpx_auth()
    assert repr(auth) == f"OAuth2ClientCredentials(token_url='{URL}', client_id='c')"


def test_to_httpx_auth_builds_the_right_auth():
    request = httpx.Request("GET", "http://x.invalid/")
    bearer = BearerConfig(token=SECRET).to_httpx_auth()
    assert next(bearer.sync_auth_flow(request)).headers["authorization"] == f"Bearer {SECRET}"
    basic = BasicConfig(username="u", password=SECRET).to_httpx_auth()
    expected = httpx.BasicAuth("u", SECRET)._auth_header
    assert next(basic.sync_auth_flow(httpx.Request("GET", "http://x.invalid/"))).headers["authorization"] == expected
    assert NoAuthConfig().to_httpx_auth() is None
    oauth = OAuth2ClientCredentialsConfig(tokenUrl=URL, clientId="c", clientSecret=SECRET, scopes=["a"],
                                          authMethod="client_secret_post").to_httpx_auth()
    assert isinstance(oauth, OAuth2ClientCredentials)
    assert (oauth.token_url, oauth.client_id, oauth.scopes, oauth.auth_method) == (URL, "c", ["a"], "client_secret_post")


async def test_bearer_config_works_against_the_sandbox(sandbox):
    async with httpx.AsyncClient(verify=CTX) as client:
        token = (await client.post(sandbox.token_url, data={"grant_type": "client_credentials"},
                                   auth=(sandbox.client_id, sandbox.client_secret))).json()["access_token"]
    (ok,) = await _get(BearerConfig(token=token).to_httpx_auth(), sandbox.service_url)
    (refused,) = await _get(BearerConfig(token="bogus").to_httpx_auth(), sandbox.service_url)
    assert (ok.status_code, refused.status_code) == (200, 401)


def test_token_url_must_be_http():
    with pytest.raises(ValueError, match="http:// or https://"):
        OAuth2ClientCredentials("ftp://example.com/token", "c", SECRET)
