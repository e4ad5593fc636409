"""Scale of the project core: a generated project with 200 connections, 50 entry points and
2,000 steps. Prints load + check time and the time to save one edit.
Targets (2 cores): load + check <= 300 ms; one edit saved <= 100 ms."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.project import ProjectStore  # noqa: E402
from workbench.project.diagnostics import check  # noqa: E402

CONNECTIONS, ENTRYPOINTS, STEPS_PER_ENTRY = 200, 50, 40


def generate(root: Path) -> None:
    lines = ['[integration]\nname = "scale"\n']
    lines.append('[configurables.baseUrl]\ntype = "string"\ndefault = "http://127.0.0.1:9"\n')
    lines.append('[configurables.secret]\ntype = "string"\nsecret = true\n')
    for c in range(CONNECTIONS):
        lines.append(
            f'[connections.conn{c}]\nconnector = "scim"\nserviceUrl = "${{config.baseUrl}}/t{c}"\n'
            f'auth = {{ type = "bearer", token = "${{config.secret}}" }}\n'
        )
    for e in range(ENTRYPOINTS):
        lines.append(f'[entrypoints.entry{e}]\nkind = "automation"\nschedule = "*/5 * * * *"\n')
        for s in range(STEPS_PER_ENTRY):
            if s % 2 == 0:
                lines.append(
                    f'[[entrypoints.entry{e}.steps]]\ncall = "conn{(e * STEPS_PER_ENTRY + s) % CONNECTIONS}.createUser"\n'
                    f'result = "r{s}"\nargs = {{ payload = {{ userName = "u{e}-{s}", active = true }} }}\n'
                )
            else:
                lines.append(f'[[entrypoints.entry{e}.steps]]\nlog = "created ${{r{s - 1}.id}}"\n')
        lines.append(f'[[entrypoints.entry{e}.onError]]\nlog = "failed: ${{error.message}}"\nlevel = "error"\n')
    (root / "workbench.toml").write_text("\n".join(lines))
    (root / "Config.toml").write_text('secret = "s3cr3t-value"\n')
    (root / "Config.toml").chmod(0o600)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root)
        steps = ENTRYPOINTS * (STEPS_PER_ENTRY + 1)
        loads = []
        for _ in range(5):
            t0 = time.perf_counter()
            store = ProjectStore.open(root)
            diagnostics = check(store, env={})
            loads.append(time.perf_counter() - t0)
        assert not diagnostics, diagnostics[:3]
        # The first edit parses the document with tomlkit (the app does that once, after opening).
        t0 = time.perf_counter()
        store.project_file.doc()
        first_parse = time.perf_counter() - t0
        edits = []
        for i in range(5):
            t0 = time.perf_counter()
            store.update_entrypoint("entry7", schedule=f"{i} 9 * * *")
            edits.append(time.perf_counter() - t0)
        print(f"project: {CONNECTIONS} connections, {ENTRYPOINTS} entry points, {steps} steps, "
              f"{len((root / 'workbench.toml').read_bytes()) // 1024} KiB")
        print(f"load + check: median {statistics.median(loads) * 1000:.0f} ms (target <= 300 ms)")
        print(f"first tomlkit parse (once per session, before the first edit): {first_parse * 1000:.0f} ms")
        print(f"one edit saved: median {statistics.median(edits) * 1000:.0f} ms (target <= 100 ms)")


if __name__ == "__main__":
    main()
