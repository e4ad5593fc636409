"""The sandbox identity provider: loopback only, a real token endpoint, a SCIM server that takes
only the tokens it issued, and `workbench sandbox --write-config`."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from workbench.cli import sandbox as sandbox_cli
from workbench.sandbox import Sandbox, is_loopback

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ROOT = Path(__file__).resolve().parent.parent
HTTP = httpx.Client(timeout=5)  # one client for the module: building one costs ~35 ms


@pytest.fixture(scope="module", autouse=True)
def _close_http():
    yield
    HTTP.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def token_for(sb: Sandbox, **form) -> str:
    response = HTTP.post(sb.token_url, data={"grant_type": "client_credentials", **form},
                          auth=(sb.client_id, sb.client_secret))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- host policy ----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", ""])
def test_refuses_non_loopback_hosts(host):
    with pytest.raises(ValueError, match=r"loopback only .*allow_remote=True"):
        Sandbox(host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.4.5", "localhost", "LOCALHOST", "::1", "[::1]"])
def test_loopback_hosts_are_accepted(host):
    assert is_loopback(host)
    Sandbox(host=host)  # no error


def test_allow_remote_lifts_the_host_check():
    sb = Sandbox(host="0.0.0.0", allow_remote=True)  # not started: just constructed
    assert sb.host == "0.0.0.0"


def test_serves_on_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        sb = Sandbox(host="::1").start()
    except OSError:
        pytest.skip("::1 not available")
    try:
        assert sb.token_url.startswith("http://[::1]:")
        assert token_for(sb)
    finally:
        sb.stop()


def test_secret_defaults_to_random_and_repr_hides_it():
    a, b = Sandbox(), Sandbox()
    assert a.client_secret != b.client_secret and len(a.client_secret) >= 24
    assert a.client_id == "workbench-demo"
    assert a.client_secret not in repr(a)


# -- lifecycle ------------------------------------------------------------------------------------


def test_start_is_quick_and_stop_closes_the_port(make_sandbox):
    make_sandbox().stop()  # warm the lazy imports
    started = time.perf_counter()
    with Sandbox() as sb:
        elapsed = time.perf_counter() - started
        assert sb.service_url == f"http://127.0.0.1:{sb.port}/scim2"
        assert sb.token_url == f"http://127.0.0.1:{sb.port}/oauth2/token"
        assert HTTP.get(sb.service_url + "/ServiceProviderConfig").status_code == 200
    assert elapsed < 0.3
    with pytest.raises(httpx.ConnectError):
        HTTP.get(sb.service_url + "/ServiceProviderConfig")


def test_importing_the_package_is_cheap():
    code = ("import sys, workbench.sandbox; "
            "print(sorted(m for m in ('flask', 'authlib', 'scim2_server', 'scim2_models', 'textual') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


def test_unknown_paths_are_404(sandbox):
    assert HTTP.get(f"http://127.0.0.1:{sandbox.port}/elsewhere").status_code == 404


# -- token endpoint --------------------------------------------------------------------------------


def test_token_endpoint_issues_bearer_tokens(make_sandbox):
    sb = make_sandbox(token_lifetime=120)
    response = HTTP.post(sb.token_url, data={"grant_type": "client_credentials", "scope": "a b",
                                              "client_id": sb.client_id, "client_secret": sb.client_secret})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 120 and body["scope"] == "a b"
    assert response.headers["cache-control"] == "no-store"
    assert sb.tokens_issued == 1 and sb.requests == 0  # token requests are not SCIM requests


def test_token_endpoint_refuses_bad_clients(make_sandbox):
    sb = make_sandbox(client_secret="right")
    form = {"grant_type": "client_credentials"}
    wrong = HTTP.post(sb.token_url, data=form, auth=(sb.client_id, "wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = HTTP.post(sb.token_url, data={**form, "client_id": "nobody", "client_secret": "x"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_client"
    as_json = HTTP.post(sb.token_url, json=form, auth=(sb.client_id, "right"))
    assert as_json.json()["error"] == "unsupported_grant_type"
    assert sb.tokens_issued == 0


def test_token_endpoint_limits_scopes_when_asked(make_sandbox):
    sb = make_sandbox(scopes=["scim:read"])
    assert token_for(sb, scope="scim:read")
    refused = HTTP.post(sb.token_url, data={"grant_type": "client_credentials", "scope": "scim:admin"},
                         auth=(sb.client_id, sb.client_secret))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"


# -- SCIM access control ---------------------------------------------------------------------------


def _assert_401(response: httpx.Response, error: str | None) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/scim+json"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="workbench-sandbox"')
    assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge)
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "401" and body["detail"]


def test_scim_rejects_a_request_without_a_token(sandbox):
    before = sandbox.requests
    _assert_401(HTTP.get(sandbox.service_url + "/Users"), None)
    _assert_401(HTTP.get(sandbox.service_url + "/Users", auth=("workbench-demo", "x")), None)  # Basic
    assert sandbox.requests == before + 2


def test_scim_rejects_a_bogus_token(sandbox):
    _assert_401(HTTP.get(sandbox.service_url + "/Users", headers=bearer("bogus")), "invalid_token")


def test_scim_rejects_tokens_of_another_sandbox(sandbox, make_sandbox):
    other = make_sandbox()
    _assert_401(HTTP.get(sandbox.service_url + "/Users", headers=bearer(token_for(other))), "invalid_token")


def test_scim_rejects_an_expired_token(make_sandbox):
    clock = FakeClock()
    sb = make_sandbox(token_lifetime=60, clock=clock)
    token = token_for(sb)
    clock.now += 59
    assert HTTP.get(sb.service_url + "/Users", headers=bearer(token)).status_code == 200
    clock.now += 1
    response = HTTP.get(sb.service_url + "/Users", headers=bearer(token))
    _assert_401(response, "invalid_token")
    assert "expired" in response.json()["detail"]


def test_scim_rejects_revoked_tokens(make_sandbox):
    sb = make_sandbox()
    token = token_for(sb)
    assert HTTP.get(sb.service_url + "/Users", headers=bearer(token)).status_code == 200
    sb.revoke_all_tokens()
    _assert_401(HTTP.get(sb.service_url + "/Users", headers=bearer(token)), "invalid_token")
    assert HTTP.get(sb.service_url + "/Users", headers=bearer(token_for(sb))).status_code == 200


def test_scim_accepts_an_issued_token(sandbox):
    response = HTTP.get(sandbox.service_url + "/Users", headers=bearer(token_for(sandbox)))
    assert response.status_code == 200
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]


def test_service_provider_config_is_open_and_announces_bearer(sandbox):
    response = HTTP.get(sandbox.service_url + "/ServiceProviderConfig")
    assert response.status_code == 200
    assert [s["type"] for s in response.json()["authenticationSchemes"]] == ["oauthbearertoken"]
    # Only GET on that one endpoint is open.
    _assert_401(HTTP.get(sandbox.service_url + "/Schemas"), None)


# -- SCIM behaviours listed in PEERS.md -------------------------------------------------------------


def test_scim_behaviours_hold_behind_the_gate(sandbox):
    headers = bearer(token_for(sandbox))
    with httpx.Client(base_url=sandbox.service_url, headers=headers, verify=False) as client:
        created = client.post("/Users", json={"schemas": [USER], "userName": "peers.check@example.com"})
        assert created.status_code == 201
        etag, location = created.headers["etag"], created.headers["location"]
        assert etag.startswith('W/"')
        assert location == f"{sandbox.service_url}/Users/{created.json()['id']}"  # no /v2 in links
        assert created.json()["meta"]["location"] == location

        duplicate = client.post("/Users", json={"schemas": [USER], "userName": "peers.check@example.com"})
        assert duplicate.status_code == 409 and duplicate.json()["scimType"] == "uniqueness"

        bad_filter = client.get("/Users", params={"filter": "userName eq"})
        assert bad_filter.status_code == 400 and bad_filter.json()["scimType"] == "invalidFilter"

        patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "P"}]}
        stale = client.patch(location, json=patch, headers={"If-Match": 'W/"nope"'})
        assert stale.status_code == 412
        patched = client.patch(location, json=patch, headers={"If-Match": etag})
        assert patched.status_code == 204 and patched.content == b""

        assert client.get(location, headers={"If-None-Match": patched.headers.get("etag", etag)}).status_code in (200, 304)
        assert client.get(location).json()["displayName"] == "P"


async def test_a_burst_of_concurrent_connections_is_served_promptly(sandbox):
    # socketserver's default listen backlog (5) turns a burst into 1 s SYN retransmits.
    headers = bearer(token_for(sandbox))
    async with httpx.AsyncClient(headers=headers, verify=False) as client:
        responses = await asyncio.gather(*(client.get(sandbox.service_url + "/Users") for _ in range(40)))
    assert {r.status_code for r in responses} == {200}
    # Checked structurally, not by timing (no timed tests): the listen backlog fits the burst.
    assert sandbox._server.request_queue_size >= 40


def test_requests_counts_every_scim_request(make_sandbox):
    sb = make_sandbox()
    token = token_for(sb)
    HTTP.get(sb.service_url + "/Users")  # 401: still a SCIM request
    HTTP.get(sb.service_url + "/Users", headers=bearer(token))
    HTTP.get(sb.service_url)
    assert sb.requests == 3


# -- CLI -----------------------------------------------------------------------------------------------


def _args(*argv: str):
    import argparse

    parser = argparse.ArgumentParser()
    sandbox_cli.configure(parser)
    return parser.parse_args(list(argv))


CONFIG = """\
# Values on this machine
newUserName = "kim@example.com"  # keep me

scimClientId = "old-id"

[extra]
# a comment in a table
answer = 42
"""


@pytest.fixture
def no_serve(monkeypatch):
    """Make the CLI return at once, as if Ctrl+C was pressed as soon as it served."""
    seen = []

    def interrupt(self):
        seen.append(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(Sandbox, "serve_forever", interrupt)
    return seen


def test_cli_defaults():
    args = _args()
    assert (args.host, args.port, args.client_id, args.client_secret, args.token_lifetime, args.write_config,
            args.allow_remote) == ("127.0.0.1", 8765, "workbench-demo", None, 3600, None, False)


def test_cli_write_config_keeps_other_keys_and_comments(tmp_path, no_serve, capsys):
    import tomllib

    path = tmp_path / "Config.toml"
    path.write_text(CONFIG)
    path.chmod(0o644)
    code = sandbox_cli.run(_args("--port", "0", "--client-secret", "demo-secret", "--write-config", str(tmp_path)))
    assert code == 0
    (served,) = no_serve
    values = tomllib.loads(path.read_text())
    assert values == {
        "newUserName": "kim@example.com",
        "scimClientId": "workbench-demo",
        "scimServiceUrl": served.service_url,
        "scimTokenUrl": served.token_url,
        "scimClientSecret": "demo-secret",
        "extra": {"answer": 42},
    }
    text = path.read_text()
    assert "# Values on this machine" in text and "# keep me" in text and "# a comment in a table" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["Config.toml"]  # no temp file left
    out = capsys.readouterr().out
    for value in (served.service_url, served.token_url, "workbench-demo", "demo-secret"):
        assert value in out


def test_cli_write_config_creates_the_file(tmp_path, no_serve):
    assert sandbox_cli.run(_args("--port", "0", "--write-config", str(tmp_path))) == 0
    path = tmp_path / "Config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "scimClientSecret" in path.read_text()


def test_cli_refuses_a_malformed_config_and_leaves_it_alone(tmp_path, no_serve, capsys):
    path = tmp_path / "Config.toml"
    broken = 'a = "ok"\nb = [1, 2\nc = 3\n'
    path.write_text(broken)
    path.chmod(0o644)
    code = sandbox_cli.run(_args("--port", "0", "--write-config", str(tmp_path)))
    assert code == 1
    assert path.read_text() == broken and stat.S_IMODE(path.stat().st_mode) == 0o644
    err = capsys.readouterr().err
    assert f"{path}:3:1:" in err and "not overwritten" in err
    assert no_serve == []  # never started serving


def test_cli_refuses_remote_hosts_and_busy_ports(no_serve, capsys, sandbox):
    assert sandbox_cli.run(_args("--host", "0.0.0.0")) == 2
    assert "loopback only" in capsys.readouterr().err
    assert sandbox_cli.run(_args("--port", str(sandbox.port))) == 1
    assert f"cannot listen on 127.0.0.1:{sandbox.port}" in capsys.readouterr().err
    assert no_serve == []


def test_cli_serves_until_ctrl_c(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "sandbox", "--port", "0", "--client-secret", "cli-secret"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or line.startswith("Serving until Ctrl+C"):
                break
            key, _, value = line.strip().partition(" ")
            lines[key] = value.strip()
        assert lines["clientSecret"] == "cli-secret" and lines["clientId"] == "workbench-demo"
        token = HTTP.post(lines["tokenUrl"], data={"grant_type": "client_credentials"},
                           auth=("workbench-demo", "cli-secret")).json()["access_token"]
        assert HTTP.get(lines["serviceUrl"] + "/Users", headers=bearer(token)).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
