"""The JSON Schemas of the policy kinds, and checking documents against them.

The schemas in ``schemas/`` are the single source of truth. Each is run through
two engines: ``fastjsonschema`` as a fast gate (0.1 s for 50,000 rows; its generated
code is cached, see ``_gate_code``), and, only
for a document that fails the gate, ``jsonschema`` (2020-12) to list every error
with its path for a precise, translated finding. The schemas therefore use only
keywords both engines read the same way (see docs/policy-format.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import marshal
import os
import re
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema

from cgcloud.i18n import N_, _, current

if TYPE_CHECKING:
    import jsonschema

KIND_FILES: dict[str, str] = {
    "Zones": "zones.schema.json",
    "HighRiskPorts": "high-risk-ports.schema.json",
    "Roster": "roster.schema.json",
    "AnnualPlan": "annual-plan.schema.json",
    "ResourceApplication": "resource-application.schema.json",
    "NetworkPolicy": "network-policy.schema.json",
    "ShutdownNotice": "shutdown-notice.schema.json",
    "ProjectApplication": "project-application.schema.json",
}
KINDS = tuple(KIND_FILES)


def data_dir(name: str) -> Path:
    """Where shipped data (``schemas``/``policies``) lives: inside an installed wheel,
    or at the top of a source checkout (editable installs)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cgcloud data directory {name!r} not found (broken install?)")


@cache
def schema_for(kind: str) -> dict[str, Any]:
    with open(data_dir("schemas") / KIND_FILES[kind], encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@cache
def _gate(kind: str) -> Callable[[Any], None]:
    """The fast validator of ``kind`` (raises ``JsonSchemaException`` when invalid)."""
    # Without $schema fastjsonschema uses its latest generator (the keywords are shared, see
    # the module docstring); without $id the generated entry point is named ``validate``.
    definition = {k: v for k, v in schema_for(kind).items() if k not in ("$schema", "$id")}
    rows_path = ROW_ARRAYS.get(kind)
    rows = _StringRecord.of(definition, rows_path) if rows_path else None
    if rows is not None:
        definition = _without_items(definition, rows_path or ())
    namespace: dict[str, Any] = {}
    exec(_gate_code(definition), namespace)
    validate: Callable[[Any], Any] = namespace["validate"]
    if rows is None:
        return validate

    def gate(data: Any) -> None:
        validate(data)
        for row in _at(data, rows_path or ()):
            if not rows.accepts(row):
                raise fastjsonschema.JsonSchemaValueException(f"a row does not match {kind}")

    return gate


# A NetworkPolicy's rows are the one large array of a repository, and the generated
# gate spends ~3 µs on each (0.15 s for 50,000 rows). A row is a flat record of
# non-empty strings, so when its schema says exactly that — read from the schema,
# never assumed: anything else there and the generated gate checks the rows too —
# the rows are checked with two set comparisons and fastjsonschema checks the rest.
ROW_ARRAYS: dict[str, tuple[str, ...]] = {"NetworkPolicy": ("spec", "rules")}
_ANNOTATIONS = frozenset({"title", "description", "examples"})
_RECORD_KEYWORDS = frozenset({"type", "properties", "additionalProperties", "required"})


@dataclass(frozen=True, slots=True)
class _StringRecord:
    """An object schema: these keys (the required ones at least, no other), every value a
    string of at least ``min_length[key]`` characters."""

    min_length: dict[str, int]
    required: frozenset[str]
    non_empty: bool  # every value must have at least one character (the usual case)

    @classmethod
    def of(cls, schema: dict[str, Any], path: tuple[str, ...]) -> _StringRecord | None:
        """The record that the items of the array at ``path`` must be, when their schema
        is exactly such a record; else None."""
        node: Any = schema
        for key in path:
            node = node.get("properties", {}).get(key) if isinstance(node, dict) else None
        items = node.get("items") if isinstance(node, dict) else None
        if not isinstance(items, dict) or set(items) - _ANNOTATIONS != {"$ref"}:
            return None
        ref = items["$ref"]
        if not ref.startswith("#/$defs/"):
            return None
        record = schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
        if not isinstance(record, dict) or set(record) - _ANNOTATIONS != _RECORD_KEYWORDS:
            return None
        if record["type"] != "object" or record["additionalProperties"] is not False:
            return None
        min_length: dict[str, int] = {}
        for key, prop in record["properties"].items():
            if not isinstance(prop, dict) or prop.get("type") != "string":
                return None
            if not set(prop) - _ANNOTATIONS <= {"type", "minLength"}:
                return None
            min_length[key] = prop.get("minLength", 0)
        required = frozenset(record["required"])
        if not required <= min_length.keys():
            return None
        return cls(min_length, required, set(min_length.values()) == {1})

    def accepts(self, row: Any) -> bool:
        if not isinstance(row, dict) or not self.required <= row.keys() <= self.min_length.keys():
            return False
        values = row.values()
        if set(map(type, values)) != {str}:
            return False
        if self.non_empty:  # the usual schema: every string at least one character
            return "" not in values
        return all(len(v) >= self.min_length[k] for k, v in row.items())


def _without_items(schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """``schema`` with the ``items`` of the array at ``path`` left unchecked (a copy)."""
    if not path:
        return {k: v for k, v in schema.items() if k != "items"}
    key, rest = path[0], path[1:]
    properties = dict(schema["properties"])
    properties[key] = _without_items(properties[key], rest)
    return dict(schema, properties=properties)


def _at(data: Any, path: tuple[str, ...]) -> list[Any]:
    """The array at ``path`` in a document that passed the gate ([] when absent)."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, list) else []


def cache_dir() -> Path:
    """cgcloud's cache of generated schema validators: ``$XDG_CACHE_HOME/cgcloud/schemas``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cgcloud" / "schemas"


def _gate_code(definition: dict[str, Any]) -> types.CodeType:
    """fastjsonschema's generated code for ``definition``, compiled to bytecode.

    Generating and compiling it costs 15–30 ms per kind, ~0.15 s for all of them
    at every start, so the bytecode is cached (like ``__pycache__``) under
    ``cache_dir()``, named by a hash of the schema, the fastjsonschema version and
    the bytecode version: editing a schema or upgrading either makes a new entry.
    When the cache cannot be read or written the code is generated in memory.
    """
    key = hashlib.sha256(
        json.dumps(
            [definition, fastjsonschema.VERSION, importlib.util.MAGIC_NUMBER.hex()],
            sort_keys=True,
        ).encode()
    ).hexdigest()[:32]
    path = cache_dir() / f"gate-{key}.marshal"
    try:
        code = marshal.loads(path.read_bytes())
        if isinstance(code, types.CodeType):
            return code
    except (OSError, ValueError, EOFError, TypeError):
        pass  # absent, unreadable or damaged: generate it again
    source = fastjsonschema.compile_to_code(definition, use_default=False)
    code = compile(source, f"<fastjsonschema gate {key}>", "exec")
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(marshal.dumps(code))
        os.replace(tmp, path)  # atomic: concurrent runs never read half a file
    except OSError:  # read-only, full disk, not a directory: run without the cache
        with contextlib.suppress(OSError):
            tmp.unlink()
    return code


@cache
def _detailed(kind: str) -> jsonschema.Draft202012Validator:
    import jsonschema  # only when a document failed the fast gate: it costs 60 ms to import

    return jsonschema.Draft202012Validator(schema_for(kind))


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One schema violation: where (path in the document), what (Chinese), and its rule."""

    rule: str
    path: tuple[str | int, ...]
    message: str
    key: bool = False


def check(kind: str, data: Any) -> list[SchemaProblem]:
    """Problems of ``data`` against the schema of ``kind`` (empty list when valid)."""
    try:
        _gate(kind)(data)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    problems: list[SchemaProblem] = []
    for error in sorted(_detailed(kind).iter_errors(data), key=lambda e: list(map(str, e.path))):
        problems.extend(_translate(error))
    # jsonschema reports each missing property of one object as its own error, and each
    # of those errors names them all: one finding per problem, in order
    return list(dict.fromkeys(problems))


def _leaf_errors(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    """For oneOf/anyOf, report the most specific sub-error instead of the umbrella."""
    if error.validator in ("oneOf", "anyOf", "allOf") and error.context:
        import jsonschema

        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            yield from _leaf_errors(best)
            return
    yield error


def _translate(error: jsonschema.ValidationError) -> Iterator[SchemaProblem]:
    for e in _leaf_errors(error):
        path = tuple(e.absolute_path)
        where = _field(path)
        v = e.validator
        if v == "additionalProperties":
            allowed = set(e.schema.get("properties", {}))
            for key in sorted(set(e.instance) - allowed):
                hint = _("、").join(sorted(allowed))
                message = _("{where}未知的键 {key!r}（允许的键: {hint}）").format(
                    where=where, key=clip(key), hint=hint
                )
                if _CUT_LIST.match(key):
                    message += _(
                        '；这看起来是被逗号截断的端口或地址列表：在 {…} 行内逗号是分隔符，请加引号（port: "TCP80,443"）或改用顿号（、）分隔'
                    )
                yield SchemaProblem("CG011", path + (key,), message, key=True)
        elif v == "required":
            missing = [k for k in e.validator_value if k not in e.instance]
            for key in missing:
                title = e.schema.get("properties", {}).get(key, {}).get("title", "")
                label = _("{key}（{title}）").format(key=key, title=title) if title else key
                yield SchemaProblem(
                    "CG012",
                    path,
                    _("{where}缺少必填项 {label}").format(where=where, label=label),
                    key=True,
                )
        elif v == "type":
            yield SchemaProblem(
                "CG013",
                path,
                _("{where}类型应为 {types}，实际为 {actual} {value}").format(
                    where=where,
                    types=_types(e.validator_value),
                    actual=_json_type(e.instance),
                    value=_short(e.instance),
                ),
            )
        elif v in ("enum", "const"):
            allowed_values = e.validator_value if v == "enum" else [e.validator_value]
            yield SchemaProblem(
                "CG013",
                path,
                _("{where}取值 {value} 无效，应为: {allowed}").format(
                    where=where,
                    value=_short(e.instance),
                    allowed=_("、").join(map(str, allowed_values)),
                ),
            )
        elif v == "pattern":
            desc = _schema_text(e.schema) or _pattern_text(e.schema, e.validator_value)
            yield SchemaProblem(
                "CG013",
                path,
                _("{where}格式不正确: {value}（{desc}）").format(
                    where=where, value=_short(e.instance), desc=desc
                ),
            )
        elif v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            yield SchemaProblem(
                "CG013",
                path,
                _("{where}数值 {value} 超出范围（{keyword} {limit}）").format(
                    where=where, value=_short(e.instance), keyword=v, limit=e.validator_value
                ),
            )
        elif v in ("minItems", "minLength"):
            yield SchemaProblem("CG013", path, _("{where}不能为空").format(where=where))
        elif v == "uniqueItems":
            yield SchemaProblem("CG013", path, _("{where}含有重复项").format(where=where))
        else:
            told = _schema_text(e.schema) if isinstance(e.schema, dict) else None
            yield SchemaProblem(
                "CG013",
                path,
                _("{where}不符合表单格式: {reason}").format(where=where, reason=told or e.message),
            )


_CUT_LIST = re.compile(r"^(?:(?:TCP|UDP)\s*)?[0-9][0-9.\-/]*$", re.IGNORECASE)


def _field(path: tuple[str | int, ...]) -> str:
    if not path:
        return ""
    parts = [f"[{p}]" if isinstance(p, int) else f".{clip(p)}" for p in path]
    return _("字段 {path} ").format(path="".join(parts).lstrip("."))


_TYPE_ZH = {
    "string": N_("字符串"),
    "integer": N_("整数"),
    "number": N_("数字"),
    "boolean": N_("布尔值"),
    "object": N_("映射"),
    "array": N_("列表"),
    "null": N_("空值"),
}


def _schema_text(schema: dict[str, Any]) -> str | None:
    """What the schema says a value should be, when the user reads Chinese: its
    ``description`` (or ``title``) is written in Chinese for editors' hover text. An
    English reader gets None instead, so the caller falls back to the pattern or
    to jsonschema's own (English) message."""
    if current() != "zh":
        return None
    text = schema.get("description") or schema.get("title")
    return str(text) if text else None


def _pattern_text(schema: dict[str, Any], pattern: str) -> str:
    """What a value of ``pattern`` looks like, for a reader without the description:
    the schema's first example (if any) and the pattern itself."""
    examples = schema.get("examples") or []
    if examples:
        return _("例如 {example}；模式 {pattern}").format(example=examples[0], pattern=pattern)
    return _("模式 {pattern}").format(pattern=pattern)


def _types(value: Any) -> str:
    names = value if isinstance(value, list) else [value]
    return _("或").join(_(_TYPE_ZH[str(n)]) if str(n) in _TYPE_ZH else str(n) for n in names)


def _json_type(instance: Any) -> str:
    if instance is None:
        return _(_TYPE_ZH["null"])
    if isinstance(instance, bool):
        return _(_TYPE_ZH["boolean"])
    if isinstance(instance, int):
        return _(_TYPE_ZH["integer"])
    if isinstance(instance, float):
        return _(_TYPE_ZH["number"])
    if isinstance(instance, str):
        return _(_TYPE_ZH["string"])
    if isinstance(instance, list):
        return _(_TYPE_ZH["array"])
    return _(_TYPE_ZH["object"])


def clip(text: str, limit: int = 60) -> str:
    """A key or name short enough for a one-line message (a 200,000-character key is
    still named, not printed whole)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"
