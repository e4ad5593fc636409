"""A throwaway installed package that registers N connectors under the connectors' entry-point
group: a `wbfake` module and a `wbfake-1.0.dist-info/entry_points.txt`, in a folder to put on
sys.path (or PYTHONPATH for a child process). Used by tests and by bench/tui_scale.py.

Connector `fake-0007` is `wbfake:c0007`, built on first access (module `__getattr__`), and
`wbfake.LOADED` lists the ones built, so a test can tell which ones a registry loaded.
"""

from __future__ import annotations

from pathlib import Path

from workbench.connectors.registry import ENTRY_POINT_GROUP

MODULE = '''"""Generated: {count} fake connectors."""
from pydantic import BaseModel, Field

from workbench.connectors.base import ConnectorSpec, OperationSpec

LOADED = []


class Connection(BaseModel):
    baseUrl: str = Field(description="The service URL")


class Params(BaseModel):
    id: str = ""


def __getattr__(name):
    if not (name.startswith("c") and name[1:].isdigit()):
        raise AttributeError(name)
    LOADED.append(name)
    number = name[1:]
    ops = {{op: OperationSpec(op, f"{{label}} #{{number}}", f"{{label}} in fake {{number}}", Params)
           for op, label in (("createThing", "Create Thing"), ("listThings", "List Things"))}}
    return ConnectorSpec(id=f"fake-{{number}}", name=f"Fake {{number}}", package=f"fake/{{number}}",
                         version="1.0.0", description=f"Fake connector number {{number}}.",
                         category="Other", connection=Connection, operations=ops,
                         implementation="wbfake:Nothing", keywords=("fake",))
'''


def connector_id(n: int) -> str:
    return f"fake-{n:04d}"


def install(folder: Path, count: int) -> Path:
    """Write the package into `folder` (created); returns it, the entry to put on the path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wbfake.py").write_text(MODULE.format(count=count), encoding="utf-8")
    info = folder / "wbfake-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wbfake\nVersion: 1.0\n", encoding="utf-8")
    lines = [f"[{ENTRY_POINT_GROUP}]"] + [f"{connector_id(n)} = wbfake:c{n:04d}" for n in range(count)]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
