"""The JSON Schemas under schemas/ and the shipped policies/ against them.

Every schema runs through two engines (fastjsonschema as the fast gate and
jsonschema 2020-12 for detailed messages), so these tests prove that both
engines compile every schema and agree on what is valid, for the spec's own
example forms and for a set of broken variants of them.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import pytest
import ryml

from cgcloud import schemas as cgcloud_schemas

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
POLICIES = ROOT / "policies"

KIND_FILES = cgcloud_schemas.KIND_FILES  # one table: the loader's own

# Keywords that mean the same in fastjsonschema (draft-07/2019 generators) and
# jsonschema 2020-12. maxLength/maxItems are the mirror images of minLength/minItems
# and are read identically by both; everything else (prefixItems, unevaluated*,
# dependentRequired, $anchor, format, ...) is banned.
VALIDATION_KEYWORDS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "oneOf",
    "anyOf",
    "allOf",
    "if",
    "then",
    "not",
    "$ref",
}
ANNOTATIONS = {"title", "description", "examples", "default"}
ROOT_ONLY = {"$schema", "$id", "$defs"}
SCHEMA_VALUED = {"additionalProperties", "items", "if", "then", "not"}
SCHEMA_LIST_VALUED = {"oneOf", "anyOf", "allOf"}
SCHEMA_MAP_VALUED = {"properties", "$defs"}


def load_schema(kind: str) -> dict[str, Any]:
    with open(SCHEMAS / KIND_FILES[kind], encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


def subschemas(schema: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    """Every schema object inside ``schema`` (itself included), with a JSON-pointer-ish path."""
    out: list[tuple[str, dict[str, Any]]] = []
    if not isinstance(schema, dict):
        return out
    out.append((path, schema))
    for key, value in schema.items():
        if key in SCHEMA_VALUED and isinstance(value, dict):
            out.extend(subschemas(value, f"{path}/{key}"))
        elif key in SCHEMA_LIST_VALUED:
            for i, sub in enumerate(value):
                out.extend(subschemas(sub, f"{path}/{key}/{i}"))
        elif key in SCHEMA_MAP_VALUED:
            for name, sub in value.items():
                out.extend(subschemas(sub, f"{path}/{key}/{name}"))
    return out


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    assert ref.startswith("#/$defs/"), ref
    return schema["$defs"][ref.removeprefix("#/$defs/")]


# --------------------------------------------------------------------------- engines


@cache
def gates(kind: str) -> dict[str, Any]:
    """fastjsonschema compiled three ways: as shipped, without $schema (how
    cgcloud.schemas builds its gate) and forced to draft-07 semantics."""
    schema = load_schema(kind)
    bare = {k: v for k, v in schema.items() if k != "$schema"}
    draft7 = dict(bare, **{"$schema": "http://json-schema.org/draft-07/schema#"})
    return {
        "fast-shipped": fastjsonschema.compile(schema, use_default=False),
        "fast-bare": fastjsonschema.compile(bare, use_default=False),
        "fast-draft7": fastjsonschema.compile(draft7, use_default=False),
    }


@cache
def detailed_validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(kind))


def verdicts(kind: str, doc: Any) -> dict[str, bool]:
    """Valid (True) or not, per engine (and per gate: cgcloud's own, whose generated
    code is cached and which checks NetworkPolicy rows itself, must agree too)."""
    out: dict[str, bool] = {}
    all_gates = {**gates(kind), "cgcloud-gate": cgcloud_schemas._gate(kind)}
    for name, gate in all_gates.items():
        try:
            gate(copy.deepcopy(doc))
            out[name] = True
        except fastjsonschema.JsonSchemaException:
            out[name] = False
    detailed = detailed_validator(kind)
    out["jsonschema"] = not list(detailed.iter_errors(doc))
    return out


# --------------------------------------------------------------------------- the schemas themselves


def test_one_schema_per_kind_and_nothing_else() -> None:
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(KIND_FILES.values())


@pytest.mark.parametrize("kind", KIND_FILES)
def test_schema_header(kind: str) -> None:
    schema = load_schema(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://cgcloud.invalid/schemas/{KIND_FILES[kind]}"
    assert schema["properties"]["kind"]["const"] == kind
    assert resolve(schema, schema["properties"]["apiVersion"])["const"] == "cgcloud/v1"
    assert {"apiVersion", "kind"} <= set(schema["required"])
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("kind", KIND_FILES)
def test_schema_compiles_in_both_engines(kind: str) -> None:
    schema = load_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert len(gates(kind)) == 3


@pytest.mark.parametrize("kind", KIND_FILES)
def test_only_keywords_both_engines_read_alike(kind: str) -> None:
    schema = load_schema(kind)
    for path, node in subschemas(schema):
        allowed = VALIDATION_KEYWORDS | ANNOTATIONS | (ROOT_ONLY if path == "#" else set())
        unknown = set(node) - allowed
        assert not unknown, f"{KIND_FILES[kind]} {path}: keywords {sorted(unknown)}"
        if "$ref" in node:
            # draft-07 engines ignore the siblings of $ref: only annotations may sit beside it
            extra = set(node) - ANNOTATIONS - {"$ref"}
            assert not extra, f"{KIND_FILES[kind]} {path}: {sorted(extra)} beside $ref"
            assert node["$ref"].removeprefix("#/$defs/") in schema["$defs"], path
        if "pattern" in node:
            # Python's $ matches before a trailing newline in jsonschema but not in
            # fastjsonschema; and \d matches non-ASCII digits. Bound and spell it out.
            assert "maxLength" in node, f"{path}: a pattern ending in $ needs maxLength"
            assert "\\d" not in node["pattern"], f"{path}: use [0-9], not \\d"
        if "const" in node and isinstance(node["const"], bool):
            # fastjsonschema compares const with ==, so 1 == True: pin the type too
            assert node.get("type") == "boolean", path


@pytest.mark.parametrize("kind", KIND_FILES)
def test_every_property_and_definition_has_chinese_title_and_description(kind: str) -> None:
    schema = load_schema(kind)
    han = re.compile(r"[\u4e00-\u9fff]")
    named: list[tuple[str, dict[str, Any]]] = [("#", schema)]
    for path, node in subschemas(schema):
        for name, sub in node.get("properties", {}).items():
            named.append((f"{path}/properties/{name}", sub))
        for name, sub in node.get("$defs", {}).items():
            named.append((f"{path}/$defs/{name}", sub))
    for path, node in named:
        for key in ("title", "description"):
            value = node.get(key) or resolve(schema, node).get(key)
            assert value and han.search(value), f"{KIND_FILES[kind]} {path}: no Chinese {key}"


@pytest.mark.parametrize("kind", KIND_FILES)
def test_objects_are_closed(kind: str) -> None:
    for path, node in subschemas(load_schema(kind)):
        if "/if" in path:
            continue  # a condition, not a shape of data
        if node.get("type") in ("object", ["object", "null"]):
            assert node.get("additionalProperties") is False, f"{KIND_FILES[kind]} {path}"


def test_shared_definitions_are_identical_across_files() -> None:
    seen: dict[str, tuple[str, Any]] = {}
    for kind, fname in KIND_FILES.items():
        for name, definition in load_schema(kind)["$defs"].items():
            if name in seen:
                first, value = seen[name]
                assert definition == value, f"$defs/{name} differs between {first} and {fname}"
            else:
                seen[name] = (fname, definition)


# --------------------------------------------------------------------------- the shipped repository


def yaml_documents(path: Path) -> list[Any]:
    """Same route as cgcloud.loader: rapidyaml tree → JSON → Python (dates stay strings)."""
    tree = ryml.parse_in_arena(path.read_bytes())
    root = tree.root_id()
    nodes = list(ryml.children(tree, root)) if tree.is_stream(root) else [root]
    return [json.loads(ryml.emit_json(tree, n)) for n in nodes]


SHIPPED = sorted(POLICIES.rglob("*.yaml"))


def test_shipped_repository_has_every_kind() -> None:
    kinds = {doc["kind"] for p in SHIPPED for doc in yaml_documents(p)}
    assert kinds == set(KIND_FILES)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(POLICIES).as_posix())
def test_shipped_policy_is_valid_in_both_engines(path: Path) -> None:
    docs = yaml_documents(path)
    assert len(docs) == 1, "one kind (one document) per shipped file"
    doc = docs[0]
    assert verdicts(doc["kind"], doc) == dict.fromkeys(
        ("fast-shipped", "fast-bare", "fast-draft7", "cgcloud-gate", "jsonschema"), True
    )
    first = path.read_text(encoding="utf-8").splitlines()[0]
    m = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert m, f"{path}: first line must be the yaml-language-server $schema comment"
    target = (path.parent / m.group(1)).resolve()
    assert target == (SCHEMAS / KIND_FILES[doc["kind"]]).resolve()


def test_shipped_ids_are_unique() -> None:
    ids = [d["metadata"]["id"] for p in SHIPPED for d in yaml_documents(p) if "metadata" in d]
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------- spec examples and broken variants

SIG = {"by": "钱七", "date": "2026-11-20"}
EXAMPLES: dict[str, dict[str, Any]] = {
    "Zones": {
        "apiVersion": "cgcloud/v1",
        "kind": "Zones",
        "zones": [
            {"id": "gov", "name": "政务外网区", "internal": True, "cidrs": ["172.21.0.0/16"]},
            {"id": "public", "name": "互联网公网", "internal": False},
        ],
        "flows": [["gov", "public"]],
        "default_egress": [["gov", "public"]],
        "bastions": [{"zone": "gov", "address": "172.21.0.10"}],
    },
    "HighRiskPorts": {
        "apiVersion": "cgcloud/v1",
        "kind": "HighRiskPorts",
        "max_source_prefix": 24,
        "ports": [{"port": "TCP22", "name": "SSH"}, {"port": "TCP135-139", "name": "NetBIOS/RPC"}],
    },
    "Roster": {
        "apiVersion": "cgcloud/v1",
        "kind": "Roster",
        "people": [
            {
                "name": "钱七",
                "roles": ["cloud_resource_manager", "recheck"],
                "from": "2026-01-01",
                "to": "2027-12-31",
            },
            {"name": "孙八", "roles": ["final", "cloud_resource_leader"]},
        ],
    },
    "AnnualPlan": {
        "apiVersion": "cgcloud/v1",
        "kind": "AnnualPlan",
        "metadata": {"id": "JH-2027-市政设施处", "department": "市政设施处"},
        "spec": {"year": 2027, "vcpu": 256, "memory_gb": 512, "disk_gb": 200000, "public_ip": 10},
    },
    "ResourceApplication": {
        "apiVersion": "cgcloud/v1",
        "kind": "ResourceApplication",
        "metadata": {
            "id": "ZY-2027-0001",
            "system": "智慧城管综合平台",
            "department": "市政设施处",
        },
        "spec": {
            "type": "new",
            "year": 2027,
            "contact": {"name": "张三", "phone": "027-85551234"},
            "reason": "因综合平台升级改造，需要申请计算与存储资源。",
            "resources": [
                {"type": "server", "vcpu": 8, "memory_gb": 16, "system_disk_gb": 40, "count": 16},
                {"type": "volume", "tier": "high-speed", "size_gb": 116000},
                {"type": "public_ip", "count": 5},
                {"type": "domain", "count": 5},
                {"type": "license", "product": "Windows Server 标准版", "count": 17},
                {"type": "security_service", "product": "主机安全防护", "count": 1},
            ],
            "operators": [{"name": "李四", "phone": "13800000000"}],
            "approvals": {
                "department": {"by": "赵六", "date": "2026-11-10", "opinion": "同意"},
                "initial": {"by": "王五", "date": "2026-11-11", "opinion": "同意"},
                "recheck": {"by": "钱七", "date": "2026-11-12", "recommend": "formal"},
                "final": {"by": "孙八", "date": "2026-11-13", "decision": "formal"},
            },
            "expert_review": {"by": "专家组", "date": "2026-11-12", "conclusion": "同意"},
        },
    },
    "NetworkPolicy": {
        "apiVersion": "cgcloud/v1",
        "kind": "NetworkPolicy",
        "metadata": {"id": "WL-2026-0031", "system": "智慧城管综合平台"},
        "spec": {
            "applicant": {"org": "某某科技有限公司", "name": "周九", "phone": "13900000000"},
            "normal": {
                "reason": "平台对外提供服务",
                "period": {"start": "2026-12-01", "end": "2027-11-30"},
            },
            "high_risk": {
                "reason": "数据迁移期间临时开放数据库端口",
                "period": {"start": "2026-12-01", "end": "2026-12-31"},
            },
            "reviewers": {
                "cloud_resource_manager": {"by": "钱七", "date": "2026-11-28"},
                "business_leader": {"by": "王五", "date": "2026-11-28"},
                "cloud_resource_leader": {"by": "吴十", "date": "2026-11-29"},
            },
            "rules": [
                {
                    "from": "政务外网区",
                    "source": "172.21.0.111",
                    "to": "互联网区",
                    "target": "172.20.4.111",
                    "port": "TCP9999",
                    "note": "内部跨区访问",
                },
                {
                    "from": "互联网区",
                    "source": "172.20.4.111",
                    "to": "互联网公网",
                    "target": "0.0.0.0",
                    "port": "/",
                },
                {
                    "from": "互联网公网",
                    "source": "58.33.33.33-40",
                    "to": "互联网区",
                    "target": "172.20.4.111",
                    "port": "TCP9999",
                },
                {
                    "from": "政务外网区",
                    "source": "172.21.3.0/24",
                    "to": "政务外网区",
                    "target": "智慧城管-数据库",
                    "port": "TCP3306",
                },
            ],
        },
    },
    "ShutdownNotice": {
        "apiVersion": "cgcloud/v1",
        "kind": "ShutdownNotice",
        "metadata": {"id": "GT-2027-0002", "system": "旧版数字城管系统"},
        "spec": {
            "hosts": ["172.20.4.21", "172.20.4.22"],
            "tech_division": {"by": "钱七", "date": "2027-03-01"},
            "business_division": {
                "by": "王五",
                "date": "2027-03-02",
                "shutdown_date": "2027-03-15",
                "prepare_by": "2027-03-14",
            },
            "operator": {"by": "李四", "date": "2027-03-14", "data_copied": True},
        },
    },
    "ProjectApplication": {
        "apiVersion": "cgcloud/v1",
        "kind": "ProjectApplication",
        "metadata": {"id": "KT-2027-0003", "project": "智慧城管综合平台二期"},
        "spec": {
            "forms": ["ZY-2027-0001", "WL-2026-0031"],
            "accounts": [{"name": "李四", "type": "bastion"}, {"name": "李四", "type": "sslvpn"}],
            "signoffs": {
                "integrator": {"by": "某某集成公司", "date": "2026-11-20"},
                "supervisor": {"by": "某某监理公司", "date": "2026-11-21"},
                "project_manager": {"by": "某某项目管理公司", "date": "2026-11-22"},
                "cloud_provider": {"by": "武汉云", "date": "2026-11-23"},
            },
        },
    },
}

_DROP = object()


def variant(kind: str, path: str, value: Any) -> Any:
    """The example of ``kind`` with the value at ``path`` (dot-separated; integers index
    lists) replaced, or removed when ``value`` is _DROP."""
    doc = copy.deepcopy(EXAMPLES[kind])
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = doc
    for p in parents:
        node = node[p]
    if value is _DROP:
        del node[last]
    else:
        node[last] = value
    return doc


VALID = [
    *((k, "spec example", doc) for k, doc in EXAMPLES.items()),
    (
        "NetworkPolicy",
        "unsigned box is null",
        variant("NetworkPolicy", "spec.reviewers.business_leader", None),
    ),
    (
        "NetworkPolicy",
        "unsigned box without by",
        variant("NetworkPolicy", "spec.reviewers.business_leader", {}),
    ),
    (
        "NetworkPolicy",
        "by and date null",
        variant("NetworkPolicy", "spec.reviewers.business_leader", {"by": None, "date": None}),
    ),
    ("NetworkPolicy", "no reviewers at all", variant("NetworkPolicy", "spec.reviewers", _DROP)),
    ("NetworkPolicy", "no normal section", variant("NetworkPolicy", "spec.normal", _DROP)),
    ("NetworkPolicy", "no high_risk section", variant("NetworkPolicy", "spec.high_risk", _DROP)),
    (
        "NetworkPolicy",
        "high-risk exception",
        variant(
            "NetworkPolicy",
            "spec.high_risk.exception",
            {"reason": "跨月迁移", "by": "吴十", "date": "2026-11-20"},
        ),
    ),
    ("NetworkPolicy", "port with space", variant("NetworkPolicy", "spec.rules.0.port", "TCP 22")),
    ("NetworkPolicy", "rule without note", variant("NetworkPolicy", "spec.rules.0.note", _DROP)),
    (
        "ShutdownNotice",
        "all hosts",
        variant("ShutdownNotice", "spec", {"all": True, "tech_division": SIG}),
    ),
    ("ShutdownNotice", "operator not yet signed", variant("ShutdownNotice", "spec.operator", None)),
    (
        "ShutdownNotice",
        "operator says not copied",
        variant("ShutdownNotice", "spec.operator.data_copied", False),
    ),
    (
        "ResourceApplication",
        "no approvals yet",
        variant("ResourceApplication", "spec.approvals", _DROP),
    ),
    (
        "ResourceApplication",
        "final unsigned",
        variant("ResourceApplication", "spec.approvals.final", None),
    ),
    (
        "ResourceApplication",
        "resource with note",
        variant(
            "ResourceApplication",
            "spec.resources.2",
            {"type": "public_ip", "count": 1, "note": "门户"},
        ),
    ),
    (
        "ProjectApplication",
        "no signoffs yet",
        variant("ProjectApplication", "spec.signoffs", _DROP),
    ),
    ("HighRiskPorts", "default prefix", variant("HighRiskPorts", "max_source_prefix", _DROP)),
    ("AnnualPlan", "zero public IPs", variant("AnnualPlan", "spec.public_ip", 0)),
]

INVALID = [
    ("NetworkPolicy", "unknown top-level key", variant("NetworkPolicy", "status", "x")),
    (
        "NetworkPolicy",
        "unknown key in a rule",
        variant("NetworkPolicy", "spec.rules.0.protocol", "tcp"),
    ),
    ("NetworkPolicy", "wrong apiVersion", variant("NetworkPolicy", "apiVersion", "cgcloud/v2")),
    ("NetworkPolicy", "wrong kind", variant("NetworkPolicy", "kind", "Networkpolicy")),
    ("NetworkPolicy", "no metadata", variant("NetworkPolicy", "metadata", _DROP)),
    ("NetworkPolicy", "rule without port", variant("NetworkPolicy", "spec.rules.0.port", _DROP)),
    (
        "NetworkPolicy",
        "rule without target",
        variant("NetworkPolicy", "spec.rules.0.target", _DROP),
    ),
    ("NetworkPolicy", "port as a bare number", variant("NetworkPolicy", "spec.rules.0.port", 22)),
    ("NetworkPolicy", "empty source", variant("NetworkPolicy", "spec.rules.0.source", "")),
    ("NetworkPolicy", "empty note", variant("NetworkPolicy", "spec.rules.0.note", "")),
    ("NetworkPolicy", "note as a number", variant("NetworkPolicy", "spec.rules.3.note", 1)),
    ("NetworkPolicy", "null target", variant("NetworkPolicy", "spec.rules.1.target", None)),
    ("NetworkPolicy", "rule as text", variant("NetworkPolicy", "spec.rules.2", "TCP22")),
    ("NetworkPolicy", "rule as a list", variant("NetworkPolicy", "spec.rules.2", ["a"])),
    ("NetworkPolicy", "rules as a mapping", variant("NetworkPolicy", "spec.rules", {"a": {}})),
    ("NetworkPolicy", "no rules", variant("NetworkPolicy", "spec.rules", [])),
    (
        "NetworkPolicy",
        "phone not quoted",
        variant("NetworkPolicy", "spec.applicant.phone", 13900000000),
    ),
    (
        "NetworkPolicy",
        "signed without date",
        variant("NetworkPolicy", "spec.reviewers.business_leader", {"by": "王五"}),
    ),
    (
        "NetworkPolicy",
        "signed with null date",
        variant("NetworkPolicy", "spec.reviewers.business_leader", {"by": "王五", "date": None}),
    ),
    (
        "NetworkPolicy",
        "empty signer",
        variant(
            "NetworkPolicy", "spec.reviewers.business_leader", {"by": "", "date": "2026-11-20"}
        ),
    ),
    (
        "NetworkPolicy",
        "unknown reviewer box",
        variant("NetworkPolicy", "spec.reviewers.auditor", SIG),
    ),
    (
        "NetworkPolicy",
        "unpadded date",
        variant("NetworkPolicy", "spec.normal.period.start", "2026-12-1"),
    ),
    (
        "NetworkPolicy",
        "month 13",
        variant("NetworkPolicy", "spec.normal.period.start", "2026-13-01"),
    ),
    (
        "NetworkPolicy",
        "date with trailing newline",
        variant("NetworkPolicy", "spec.normal.period.end", "2027-11-30\n"),
    ),
    (
        "NetworkPolicy",
        "date in full-width digits",
        variant("NetworkPolicy", "spec.normal.period.end", "２０２７-１１-３０"),
    ),
    (
        "NetworkPolicy",
        "date as a number",
        variant("NetworkPolicy", "spec.normal.period.end", 20271130),
    ),
    (
        "NetworkPolicy",
        "normal without period",
        variant("NetworkPolicy", "spec.normal.period", _DROP),
    ),
    (
        "NetworkPolicy",
        "high_risk without reason",
        variant("NetworkPolicy", "spec.high_risk.reason", _DROP),
    ),
    (
        "NetworkPolicy",
        "exception without by",
        variant(
            "NetworkPolicy",
            "spec.high_risk.exception",
            {"reason": "跨月迁移", "date": "2026-11-20"},
        ),
    ),
    (
        "ResourceApplication",
        "unknown resource type",
        variant("ResourceApplication", "spec.resources.0.type", "gpu"),
    ),
    (
        "ResourceApplication",
        "server without count",
        variant("ResourceApplication", "spec.resources.0.count", _DROP),
    ),
    (
        "ResourceApplication",
        "vcpu zero",
        variant("ResourceApplication", "spec.resources.0.vcpu", 0),
    ),
    (
        "ResourceApplication",
        "vcpu boolean",
        variant("ResourceApplication", "spec.resources.0.vcpu", True),
    ),
    (
        "ResourceApplication",
        "vcpu fractional",
        variant("ResourceApplication", "spec.resources.0.vcpu", 1.5),
    ),
    (
        "ResourceApplication",
        "vcpu as text",
        variant("ResourceApplication", "spec.resources.0.vcpu", "8"),
    ),
    (
        "ResourceApplication",
        "volume with vcpu",
        variant("ResourceApplication", "spec.resources.1.vcpu", 8),
    ),
    (
        "ResourceApplication",
        "volume with count",
        variant("ResourceApplication", "spec.resources.1.count", 2),
    ),
    (
        "ResourceApplication",
        "volume tier ssd",
        variant("ResourceApplication", "spec.resources.1.tier", "ssd"),
    ),
    (
        "ResourceApplication",
        "volume without size",
        variant("ResourceApplication", "spec.resources.1.size_gb", _DROP),
    ),
    (
        "ResourceApplication",
        "public_ip with product",
        variant("ResourceApplication", "spec.resources.2.product", "x"),
    ),
    (
        "ResourceApplication",
        "license without product",
        variant("ResourceApplication", "spec.resources.4.product", _DROP),
    ),
    (
        "ResourceApplication",
        "unknown application type",
        variant("ResourceApplication", "spec.type", "renew"),
    ),
    ("ResourceApplication", "year as text", variant("ResourceApplication", "spec.year", "2027")),
    ("ResourceApplication", "no resources", variant("ResourceApplication", "spec.resources", [])),
    (
        "ResourceApplication",
        "recheck signed without recommend",
        variant(
            "ResourceApplication", "spec.approvals.recheck", {"by": "钱七", "date": "2026-11-12"}
        ),
    ),
    (
        "ResourceApplication",
        "final decision unknown",
        variant("ResourceApplication", "spec.approvals.final.decision", "approved"),
    ),
    (
        "ResourceApplication",
        "expert review without conclusion",
        variant(
            "ResourceApplication", "spec.expert_review", {"by": "专家组", "date": "2026-11-12"}
        ),
    ),
    (
        "ResourceApplication",
        "metadata without department",
        variant("ResourceApplication", "metadata.department", _DROP),
    ),
    ("ShutdownNotice", "both hosts and all", variant("ShutdownNotice", "spec.all", True)),
    ("ShutdownNotice", "neither hosts nor all", variant("ShutdownNotice", "spec.hosts", _DROP)),
    ("ShutdownNotice", "all false", variant("ShutdownNotice", "spec", {"all": False})),
    ("ShutdownNotice", "all as 1", variant("ShutdownNotice", "spec", {"all": 1})),
    ("ShutdownNotice", "empty hosts", variant("ShutdownNotice", "spec.hosts", [])),
    (
        "ShutdownNotice",
        "duplicate hosts",
        variant("ShutdownNotice", "spec.hosts", ["172.20.4.21", "172.20.4.21"]),
    ),
    (
        "ShutdownNotice",
        "operator signed without data_copied",
        variant("ShutdownNotice", "spec.operator", {"by": "李四", "date": "2027-03-14"}),
    ),
    (
        "ShutdownNotice",
        "business division without shutdown date",
        variant("ShutdownNotice", "spec.business_division.shutdown_date", _DROP),
    ),
    ("Zones", "internal zone without pool", variant("Zones", "zones.0.cidrs", _DROP)),
    ("Zones", "flow of three zones", variant("Zones", "flows.0", ["gov", "public", "gov"])),
    ("Zones", "internal as text", variant("Zones", "zones.0.internal", "yes")),
    ("HighRiskPorts", "prefix 33", variant("HighRiskPorts", "max_source_prefix", 33)),
    ("HighRiskPorts", "entry without name", variant("HighRiskPorts", "ports.0.name", _DROP)),
    ("Roster", "unknown role", variant("Roster", "people.0.roles", ["boss"])),
    ("Roster", "no roles", variant("Roster", "people.0.roles", [])),
    ("AnnualPlan", "negative vcpu", variant("AnnualPlan", "spec.vcpu", -1)),
    ("AnnualPlan", "missing disk", variant("AnnualPlan", "spec.disk_gb", _DROP)),
    ("ProjectApplication", "no forms", variant("ProjectApplication", "spec.forms", [])),
    (
        "ProjectApplication",
        "unknown account type",
        variant("ProjectApplication", "spec.accounts.0.type", "vpn"),
    ),
    (
        "ProjectApplication",
        "signoff without date",
        variant("ProjectApplication", "spec.signoffs.supervisor", {"by": "某某监理公司"}),
    ),
]


@pytest.mark.parametrize(("kind", "case", "doc"), VALID, ids=[f"{k}:{c}" for k, c, _ in VALID])
def test_valid_in_both_engines(kind: str, case: str, doc: Any) -> None:
    v = verdicts(kind, doc)
    assert all(v.values()), v


@pytest.mark.parametrize(("kind", "case", "doc"), INVALID, ids=[f"{k}:{c}" for k, c, _ in INVALID])
def test_invalid_in_both_engines(kind: str, case: str, doc: Any) -> None:
    v = verdicts(kind, doc)
    assert not any(v.values()), v


def test_server_message_stays_readable() -> None:
    """if/then on `type` (not a big oneOf) keeps jsonschema's message to the point."""
    doc = variant("ResourceApplication", "spec.resources.0.count", _DROP)
    errors = list(
        jsonschema.Draft202012Validator(load_schema("ResourceApplication")).iter_errors(doc)
    )
    leaves = [e for err in errors for e in ([err] if not err.context else err.context)]
    assert any("'count' is a required property" in e.message for e in leaves), [
        e.message for e in errors
    ]


# --------------------------------------------------------------------------- cgcloud's gate


def test_gate_checks_rows_itself_only_when_the_row_schema_is_a_string_record() -> None:
    schema = load_schema("NetworkPolicy")
    record = cgcloud_schemas._StringRecord.of(schema, ("spec", "rules"))
    assert record is not None
    assert record.required == {"from", "source", "to", "target", "port"}
    assert record.min_length == dict.fromkeys(["from", "source", "to", "target", "port", "note"], 1)
    # any other keyword in the row schema: the generated gate checks the rows
    extras: list[dict[str, Any]] = [
        {"minProperties": 1},
        {"properties": {"port": {"type": "string", "pattern": "x"}}},
    ]
    for extra in extras:
        changed = copy.deepcopy(schema)
        rule = changed["$defs"]["rule"]
        for key, value in extra.items():
            rule[key] = dict(rule[key], **value) if key == "properties" else value
        assert cgcloud_schemas._StringRecord.of(changed, ("spec", "rules")) is None, extra


def test_gate_code_is_cached_and_regenerated_when_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    definition = {"type": "object", "required": ["a"]}
    first = cgcloud_schemas._gate_code(definition)
    [cached] = (tmp_path / "cgcloud" / "schemas").iterdir()
    assert cgcloud_schemas._gate_code(definition).co_code == first.co_code
    cached.write_bytes(b"not marshal data")
    namespace: dict[str, Any] = {}
    exec(cgcloud_schemas._gate_code(definition), namespace)
    namespace["validate"]({"a": 1})
    with pytest.raises(fastjsonschema.JsonSchemaException):
        namespace["validate"]({})
    # another schema is another entry
    cgcloud_schemas._gate_code({"type": "string"})
    assert len(list(cached.parent.iterdir())) == 2


def test_gate_code_without_a_writable_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    namespace: dict[str, Any] = {}
    exec(cgcloud_schemas._gate_code({"type": "string"}), namespace)
    namespace["validate"]("ok")
    assert list(tmp_path.iterdir()) == [blocker]


def test_each_missing_field_is_reported_once() -> None:
    """jsonschema gives one `required` error per missing property, each naming them all:
    three missing fields are three problems, not nine."""
    data = {
        "apiVersion": "cgcloud/v1",
        "kind": "AnnualPlan",
        "metadata": {"id": "JH-X", "department": "某处"},
        "spec": {"year": 2027, "vcpu": 1},
    }
    problems = cgcloud_schemas.check("AnnualPlan", data)
    assert [(p.rule, p.path) for p in problems] == [("CG012", ("spec",))] * 3
    for problem, field in zip(problems, ("memory_gb", "disk_gb", "public_ip"), strict=True):
        assert field in problem.message
