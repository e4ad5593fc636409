"""The sandbox in its own process, as `workbench sandbox` runs it, for benchmarks.

An in-process sandbox shares the GIL with the client being measured, so every microsecond the
client spends is taken from the server too; a real identity provider is another machine."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SandboxProcess:
    service_url: str
    token_url: str
    client_id: str
    client_secret: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def sandbox_process(token_lifetime: int = 3600):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "sandbox", "--port", str(port), "--token-lifetime", str(token_lifetime)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        values: dict[str, str] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "Serving" not in values:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the sandbox exited before serving")
            match = re.match(r"\s+(serviceUrl|tokenUrl|clientId|clientSecret)\s+(\S+)", line)
            if match:
                values[match.group(1)] = match.group(2)
            elif line.startswith("Serving"):
                values["Serving"] = ""
        yield SandboxProcess(values["serviceUrl"], values["tokenUrl"], values["clientId"], values["clientSecret"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
