"""Findings → text | json | sarif | github | junit, and the rule list → text | markdown | json.

Every renderer takes a finished :class:`~cgcloud.validate.Validation` and returns
one string (no trailing newline); the CLI prints it. The formats are documented
in docs/output-formats.md; the JSON shape is versioned (``"version": 1``).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cgcloud import __version__
from cgcloud.findings import Finding, Severity, count
from cgcloud.i18n import DEFAULT, _, current, ngettext

if TYPE_CHECKING:
    from cgcloud.rules.base import Rule
    from cgcloud.validate import Validation

FORMATS = ("text", "json", "sarif", "github", "junit")
RULE_FORMATS = ("text", "markdown", "json")

TOOL_NAME = "cgcloud"
# Where a reader of a SARIF/JSON report learns what cgcloud is (shown by code scanning).
INFORMATION_URI = "https://cgcloud.invalid/docs/rules.md"  # no public home yet; .invalid by design
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
JSON_FORMAT_VERSION = 1


def render(v: Validation, fmt: str = "text") -> str:
    """Render the findings of ``v`` in one of :data:`FORMATS`."""
    renderers: dict[str, Callable[[Validation], str]] = {
        "text": render_text,
        "json": render_json,
        "sarif": render_sarif,
        "github": render_github,
        "junit": render_junit,
    }
    if fmt not in renderers:
        raise ValueError(
            _("未知的输出格式 {fmt!r}；可用: {formats}").format(fmt=fmt, formats=", ".join(FORMATS))
        )
    return renderers[fmt](v)


def _registry() -> Mapping[str, Rule]:
    from cgcloud.rules import REGISTRY

    return REGISTRY


def _with_hint(f: Finding) -> str:
    return f.message + (_(" 建议: {hint}").format(hint=f.hint) if f.hint else "")


def _summary(findings: list[Finding], files: int, read: int = -1) -> str:
    """The last line: files found and read, then the findings by severity."""
    if read < 0 or read == files:
        head = _("检查了 {n} 个文件").format(n=files)
    else:
        head = _("找到 {n} 个文件，读取了 {read} 个（其余见上面的 CG002/CG009）").format(
            n=files, read=read
        )
    return head + _("：{e} 个错误，{w} 个警告，{i} 个提示").format(
        e=count(findings, Severity.ERROR),
        w=count(findings, Severity.WARNING),
        i=count(findings, Severity.INFO),
    )


# --------------------------------------------------------------------------- text


def render_text(v: Validation) -> str:
    """``file:line:col: severity RULE message 建议: hint`` per finding, the summary last."""
    lines = [
        f"{f.file}:{f.line}:{f.column}: {f.severity.value} {f.rule} {_with_hint(f)}"
        for f in v.findings
    ]
    lines.append(_summary(v.findings, len(v.files), v.read))
    return "\n".join(lines)


# --------------------------------------------------------------------------- json


def render_json(v: Validation) -> str:
    """The stable JSON report (docs/output-formats.md): every key always present."""
    registry = _registry()
    findings = []
    for f in v.findings:
        rule = registry.get(f.rule)
        findings.append(
            {
                "rule": f.rule,
                "name": rule.name if rule else None,
                "article": rule.article if rule else None,
                "severity": f.severity.value,
                "file": f.file,
                "line": f.line,
                "column": f.column,
                "message": f.message,
                "hint": f.hint,
                "form": f.form,
            }
        )
    summary: dict[str, int] = {
        "files": len(v.files),
        "files_read": len(v.files) if v.read < 0 else v.read,
    }
    summary.update({s.value: count(v.findings, s) for s in Severity})
    return json.dumps(
        {
            "version": JSON_FORMAT_VERSION,
            "tool": {"name": TOOL_NAME, "version": __version__},
            "files": list(v.files),
            "summary": summary,
            "findings": findings,
        },
        ensure_ascii=False,
        indent=2,
    )


# --------------------------------------------------------------------------- github


def _escape_data(text: str) -> str:
    """Escape the message of a workflow command (GitHub's ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """Escape a property value of a workflow command (GitHub's ``escapeProperty``)."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render_github(v: Validation) -> str:
    """GitHub Actions workflow commands, one annotation per finding, the summary last."""
    lines = []
    for f in v.findings:
        props = ",".join(
            f"{k}={_escape_property(str(val))}"
            for k, val in (("file", f.file), ("line", f.line), ("col", f.column), ("title", f.rule))
        )
        lines.append(f"::{_GITHUB_COMMAND[f.severity]} {props}::{_escape_data(_with_hint(f))}")
    lines.append(_summary(v.findings, len(v.files), v.read))
    return "\n".join(lines)


# --------------------------------------------------------------------------- sarif

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _artifact_uri(file: str) -> dict[str, str]:
    """A relative, percent-encoded URI (Chinese path segments included)."""
    if file.startswith("/"):
        return {"uri": "file://" + quote(file, safe="/")}
    return {"uri": quote(file, safe="/"), "uriBaseId": "%SRCROOT%"}


@lru_cache(maxsize=256)
def _file_lines(file: str) -> tuple[str, ...] | None:
    try:
        return tuple(Path(file).read_text(encoding="utf-8").split("\n"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _utf16_column(file: str, line: int, column: int) -> int:
    """cgcloud counts columns in characters; SARIF's ``utf16CodeUnits`` counts a character
    outside the BMP as two. Convert when the file can be read (else assume BMP)."""
    lines = _file_lines(file)
    if lines is None or not 1 <= line <= len(lines):
        return column
    prefix = lines[line - 1][: column - 1]
    return column + sum(1 for ch in prefix if ord(ch) > 0xFFFF)


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    summary, article = _(rule.summary), _(rule.article)
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": summary},
        "fullDescription": {
            "text": _("{summary}（依据：云资源管理办法 {article}）").format(
                summary=summary, article=article
            )
        },
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        "help": {
            "text": _("{id} {name}：{summary}。依据：{article}。").format(
                id=rule.id, name=rule.name, summary=summary, article=article
            )
        },
        "properties": {"article": rule.article, "tags": ["cgcloud", rule.article]},
    }


def sarif_log(v: Validation) -> dict[str, Any]:
    """The SARIF 2.1.0 log as a dict (``render_sarif`` serialises it)."""
    registry = _registry()
    rules = [_sarif_rule(r) for r in registry.values()]
    index = {r.id: i for i, r in enumerate(registry.values())}
    results = []
    for f in v.findings:
        if f.rule not in index:  # an ID not (yet) registered: still a valid, indexed rule
            index[f.rule] = len(rules)
            rules.append(
                {
                    "id": f.rule,
                    "shortDescription": {"text": f.rule},
                    "defaultConfiguration": {"level": _SARIF_LEVEL[f.severity]},
                }
            )
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": _with_hint(f)},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact_uri(f.file),
                        "region": {
                            "startLine": max(1, f.line),
                            "startColumn": max(1, _utf16_column(f.file, f.line, f.column)),
                        },
                    }
                }
            ],
        }
        props: dict[str, Any] = {}
        if f.hint:
            props["hint"] = f.hint
        if f.form:
            props["form"] = f.form
        if props:
            result["properties"] = props
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "columnKind": "utf16CodeUnits",
                "results": results,
            }
        ],
    }


def render_sarif(v: Validation) -> str:
    return json.dumps(sarif_log(v), ensure_ascii=False, indent=2)


# --------------------------------------------------------------------------- junit

_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Characters XML 1.0 cannot carry (control bytes, lone surrogates) as visible escapes."""
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def render_junit(v: Validation) -> str:
    """JUnit XML: one testcase per checked file; a ``failure`` per error finding;
    warnings and notes in the testcase's ``system-out``."""
    by_file: dict[str, list[Finding]] = {f: [] for f in v.files}
    for f in v.findings:
        by_file.setdefault(f.file, []).append(f)
    failures = sum(1 for fs in by_file.values() if any(f.severity is Severity.ERROR for f in fs))
    suites = ET.Element(
        "testsuites",
        name="cgcloud validate",
        tests=str(len(by_file)),
        failures=str(failures),
        errors="0",
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="cgcloud validate",
        tests=str(len(by_file)),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    for file, findings in by_file.items():
        case = ET.SubElement(
            suite,
            "testcase",
            classname="cgcloud.validate",
            name=_xml_text(file),
            file=_xml_text(file),
        )
        others = []
        for f in findings:
            line = f"{f.file}:{f.line}:{f.column}: {f.severity.value} {f.rule} {_with_hint(f)}"
            if f.severity is Severity.ERROR:
                failure = ET.SubElement(
                    case, "failure", message=_xml_text(f"{f.rule} {f.message}"), type=f.rule
                )
                failure.text = _xml_text(line)
            else:
                others.append(line)
        if others:
            ET.SubElement(case, "system-out").text = _xml_text("\n".join(others))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


# --------------------------------------------------------------------------- rules


def _rules_sorted(registry: Mapping[str, Rule]) -> list[Rule]:
    return sorted(registry.values(), key=lambda r: r.id)


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_rules(fmt: str = "text", registry: Mapping[str, Rule] | None = None) -> str:
    """Every registered rule: ID, severity, article (条款), name, summary.

    ``markdown`` is docs/rules.md (``cgcloud rules --format markdown > docs/rules.md``).
    """
    rules = _rules_sorted(registry if registry is not None else _registry())
    if fmt == "json":
        return json.dumps(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "severity": r.severity.value,
                    "article": r.article,  # the regulation's own citation: stable, not translated
                    "summary": _(r.summary),
                }
                for r in rules
            ],
            ensure_ascii=False,
            indent=2,
        )
    if fmt == "markdown":
        return _rules_markdown(rules)
    if fmt == "text":
        if not rules:
            return _("（没有注册的规则）")
        articles = [_(r.article) for r in rules]
        w_name = max(len(r.name) for r in rules)
        w_art = max(_width(a) for a in articles)
        return "\n".join(
            f"{r.id}  {r.severity.value:<7}  {_pad(a, w_art)}  {r.name:<{w_name}}  {_(r.summary)}"
            for r, a in zip(rules, articles, strict=True)
        )
    raise ValueError(
        _("未知的输出格式 {fmt!r}；可用: {formats}").format(
            fmt=fmt, formats=", ".join(RULE_FORMATS)
        )
    )


# the rules table in each language: its file, and the language's own name for the links
RULES_DOCS = {"zh": ("docs/rules.md", "中文"), "en": ("docs/rules.en.md", "English")}


def _rules_markdown(rules: list[Rule]) -> str:
    """docs/rules.md (Chinese) or docs/rules.en.md (English), each linking to the other."""
    lang = current()
    doc = RULES_DOCS[lang][0]
    links = " · ".join(
        f"[{name}]({Path(path).name})" for code, (path, name) in RULES_DOCS.items() if code != lang
    )
    prefix = "" if lang == DEFAULT else f"CGCLOUD_LANG={lang} "
    out = [
        _("# cgcloud 规则一览"),
        "",
        links,
        "",
        "<!-- "
        + _(
            "由 `{command}` 生成，请勿手工编辑；tests/unit/test_rules_doc.py 在本文件过期时失败。"
        ).format(command=f"{prefix}cgcloud rules --format markdown > {doc}")
        + " -->",
        "",
        _(
            "`cgcloud validate` 报告的每个发现都带有下表中的一个规则编号。"
            "严重性：error（错误，退出码 1）、warning（警告）、info（提示）。"
        ),
        "",
        ngettext("共 {n} 条规则：", "共 {n} 条规则：", len(rules)).format(n=len(rules)),
        "",
        _("| 编号 | 严重性 | 条款 | 名称 | 说明 |"),
        "|---|---|---|---|---|",
    ]
    out += [
        f"| {r.id} | {r.severity.value} | {_md_cell(_(r.article))} | `{r.name}` "
        f"| {_md_cell(_(r.summary))} |"
        for r in rules
    ]
    return "\n".join(out)


def _width(text: str) -> int:
    """Terminal width: CJK and full-width characters take two columns."""
    return sum(2 if ord(ch) >= 0x1100 and not 0xFF61 <= ord(ch) <= 0xFFDC else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))
