"""The file connector spec: read and write CSV and JSON files inside the project folder.

The implementation (`FileConnection`) lives in `workbench.connectors.file.client`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workbench.connectors.base import ConnectorSpec, OperationSpec

__all__ = ["SPEC", "FileConnectionConfig"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileConnectionConfig(_Model):
    """No fields: paths are relative to the project folder."""


class ReadCsvParams(_Model):
    path: str = Field(description="A path inside the project folder, e.g. data/users.csv")
    delimiter: str = Field(",", min_length=1, max_length=1, description="The field delimiter")
    encoding: str = Field("utf-8-sig", description="The text encoding (a BOM is skipped by default)")
    strict: bool = Field(True, description="Refuse a row whose field count differs from the header's, "
                         "or a broken quote, naming the line; false pads short rows and drops extra fields")


class ReadJsonParams(_Model):
    path: str = Field(description="A path inside the project folder")
    encoding: str = Field("utf-8", description="The text encoding")


class WriteJsonParams(_Model):
    path: str = Field(description="A path inside the project folder (folders are created)")
    data: Any = Field(description="Any JSON value")
    indent: int | None = Field(2, ge=0, le=8, description="Indentation; none for one line")


class WriteCsvParams(_Model):
    path: str = Field(description="A path inside the project folder (folders are created)")
    data: list[dict[str, Any]] = Field(description="Rows: a list of objects")
    columns: list[str] | None = Field(None, description="Column order (default: keys in order of appearance)")
    delimiter: str = Field(",", min_length=1, max_length=1, description="The field delimiter")


SPEC = ConnectorSpec(
    id="file",
    name="Files",
    package="workbench/file",
    version="0.1.0",
    description="Read and write CSV and JSON files in the project folder (atomic writes).",
    category="Core",
    connection=FileConnectionConfig,
    operations={
        op.name: op
        for op in (
            OperationSpec(
                "readCsv",
                "Read CSV",
                "Read a CSV file with a header row. Returns a list of objects (all values are text). A row "
                "with more or fewer fields than the header is an error naming its line, unless strict = false.",
                ReadCsvParams,
                result="list[object]",
                result_type=list[dict[str, str]],
                reads_only=True,
            ),
            OperationSpec("readJson", "Read JSON", "Read a JSON file. Returns its value.", ReadJsonParams, result="any",
                          reads_only=True),
            OperationSpec(
                "writeJson",
                "Write JSON",
                "Write a value as JSON, atomically. Returns {path, bytes}.",
                WriteJsonParams,
                result="{path, bytes}",
            ),
            OperationSpec(
                "writeCsv",
                "Write CSV",
                "Write rows as CSV with a header, atomically. Nested values are written as JSON. "
                "Returns {path, rows}.",
                WriteCsvParams,
                result="{path, rows}",
            ),
        )
    },
    implementation="workbench.connectors.file.client:FileConnection",
    keywords=("file", "csv", "json", "import", "export", "local", "disk"),
    icon="📄",
)
