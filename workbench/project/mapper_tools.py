"""Helpers for writing data mappers: a record type inferred from a CSV header or a JSON sample
(`workbench mapper infer FILE`), "map by name" (the targets whose names match the input's
fields, by a small synonym table), and the first record of a project file for the preview.

Headless: never imports textual.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

# input field (lowercased, without _ - and spaces) -> the targets it fills, for the user to review
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ('emails[type eq "work"].value', "userName"),
    "mail": ('emails[type eq "work"].value', "userName"),
    "workemail": ('emails[type eq "work"].value', "userName"),
    "emailaddress": ('emails[type eq "work"].value', "userName"),
    "homeemail": ('emails[type eq "home"].value',),
    "username": ("userName",),
    "login": ("userName",),
    "upn": ("userName",),
    "firstname": ("name.givenName",),
    "givenname": ("name.givenName",),
    "first": ("name.givenName",),
    "lastname": ("name.familyName",),
    "familyname": ("name.familyName",),
    "surname": ("name.familyName",),
    "last": ("name.familyName",),
    "middlename": ("name.middleName",),
    "fullname": ("displayName",),
    "name": ("displayName",),
    "displayname": ("displayName",),
    "nickname": ("nickName",),
    "title": ("title",),
    "jobtitle": ("title",),
    "phone": ('phoneNumbers[type eq "work"].value',),
    "workphone": ('phoneNumbers[type eq "work"].value',),
    "mobile": ('phoneNumbers[type eq "mobile"].value',),
    "employeeid": ("externalId", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber"),
    "employeenumber": ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber",),
    "id": ("externalId",),
    "externalid": ("externalId",),
    "department": ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department",),
    "costcenter": ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.costCenter",),
    "division": ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.division",),
    "organization": ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.organization",),
    "manager": ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager.value",),
    "locale": ("locale",),
    "language": ("preferredLanguage",),
    "timezone": ("timezone",),
    "active": ("active",),
    "usertype": ("userType",),
    "groupname": ("displayName",),
}


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


def _expr(field: str) -> str:
    return f"${{input.{field}}}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field) else f'${{input["{field}"]}}'


def map_by_name(fields: list[str], attributes: Any, taken: set[str] = frozenset()) -> dict[str, str]:
    """Target path -> expression for each input field whose name matches an attribute (by the
    synonyms, else by the name itself); targets in `taken` (already mapped) are left alone."""
    from workbench.project.mapper_paths import PathError, parse_target

    out: dict[str, str] = {}
    top = {a.name.lower(): a for a in attributes}
    for name in fields:
        candidates = list(SYNONYMS.get(_norm(name), ()))
        if not candidates and name.lower() in top and not top[name.lower()].sub:
            candidates = [top[name.lower()].name]
        for target in candidates:
            try:
                path = parse_target(target, attributes)
            except PathError:
                continue
            if path.unknown or target in taken or target in out:
                continue
            out[target] = _expr(name)
    return out


# -- record types ---------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    """A value's record field type: the static types' kind names, and `string[]` / `int[]`."""
    from workbench.project.static_types import kind_of

    if isinstance(value, list):
        kinds = {_kind(v) for v in value}
        return {"string": "string[]", "int": "int[]"}.get(kinds.pop(), "list") if len(kinds) == 1 else "list"
    return kind_of(value).kind


def infer_fields(path: Path) -> dict[str, str]:
    """Field -> type from a CSV header (every column a string) or a JSON object, or the objects
    of a JSON list (a field whose type differs between them is `any`). Raises ValueError."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        records = data if isinstance(data, list) else [data]
        out: dict[str, str] = {}
        for record in records[:1000]:
            if not isinstance(record, dict):
                raise ValueError(f"{path.name}: expected an object or a list of objects")
            for key, value in record.items():
                kind = _kind(value)
                out[key] = kind if out.get(key, kind) == kind else "any"
        return out
    header = next(csv.reader(text.splitlines()), None)
    if not header:
        raise ValueError(f"{path.name}: no header row")
    return {column: "string" for column in header}


def type_name_for(path: Path) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", path.stem) if part) or "Record"


def type_toml(name: str, fields: dict[str, str]) -> str:
    """The `[types.NAME]` table, as `workbench.toml` would hold it."""
    import tomlkit

    table = tomlkit.table()
    inline = tomlkit.inline_table()
    inline.update(fields)
    table["fields"] = inline
    doc = tomlkit.document()
    types = tomlkit.table(is_super_table=True)
    types[name] = table
    doc["types"] = types
    return tomlkit.dumps(doc)


# -- the preview's record -------------------------------------------------------------------------


def first_record(root: Path, path: str) -> dict[str, Any]:
    """The first row of a CSV or the first object of a JSON file inside the project folder, read
    the way the file connector reads it (the same refusals). Raises ConnectorError or ValueError."""
    import asyncio

    from workbench.connectors import catalogue
    from workbench.connectors.base import OperationContext

    spec = catalogue.get("file")
    connection = spec.load()(spec, spec.connection(), context=OperationContext(project_dir=root))
    operation = "readJson" if path.lower().endswith(".json") else "readCsv"
    data = asyncio.run(connection.call(operation, spec.operations[operation].params.model_validate({"path": path})))
    if isinstance(data, list):
        data = data[0] if data else None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: no record (an object, or a list of them) in it")
    return data
