"""Issue 13, part D, through the real command line: `plan` (text, markdown, json) and
`apply --yes` on the in-process memory engine (a fresh, empty cloud), the builder's form
errors and `devcloud status`, in Chinese and in English (``CGCLOUD_LANG``, a fresh
process as a user runs it).

Chinese is what it was before the sweep (the lines below are copied from its output),
except the plan's summary, "no changes" and notes heading, which were English and are
Chinese msgids now. English has English text and no Chinese of cgcloud's own: every
Chinese run left is the forms' data, or data cgcloud writes to the cloud (a project's
description) and the ``(全局)`` system key of the JSON, which must not change with the
language. Exit codes, JSON keys, actions, kinds and names are identical.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bilingual import CHINESE_RUN, form_words
from bilingual import foreign_chinese as foreign_chinese_of_ours
from typer.testing import CliRunner

from cgcloud import i18n
from cgcloud.cli import app, helpformat
from cgcloud.engines.pulumi.policy import FORM_ID, ROW_PREFIX

ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
# data cgcloud writes to the cloud, compared by the next plan: the same in every language
PROJECT_DESCRIPTION = re.compile(r"cgcloud: [^,'\"]*?（依据 [^）]*）")
NOW = ("--now", "2027-01-15")


def cgcloud(lang: str, *args: str, tmp: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CGCLOUD_LANG": lang}
    env["XDG_STATE_HOME"] = str(tmp / "state")  # the audit log and state of this test only
    env.pop("CGCLOUD_AUDIT_LOG", None)
    return subprocess.run(
        [sys.executable, "-m", "cgcloud", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def both(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], ...]:
    zh, en = cgcloud("zh", *args, tmp=tmp / "zh"), cgcloud("en", *args, tmp=tmp / "en")
    assert zh.returncode == en.returncode, (zh.stderr, en.stderr)
    assert "Traceback" not in zh.stderr + en.stderr
    return zh, en


@pytest.fixture(scope="module")
def form_text() -> str:
    return form_words(POLICIES)


def foreign_chinese(text: str, form_text: str) -> list[str]:
    """The Chinese in ``text`` that is neither the forms' data nor cloud data."""
    text = PROJECT_DESCRIPTION.sub("", text).replace('"(全局)"', "")
    return foreign_chinese_of_ours(text, form_text)


def shape(value: Any) -> Any:
    """A JSON document with every message replaced: what must not change with the language."""
    if isinstance(value, dict):
        return {k: "<msg>" if k in ("detail", "message") else shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return value


def test_foreign_chinese_can_fail() -> None:
    assert foreign_chinese("create project 新建项目", "") == ["新建项目"]
    assert foreign_chinese("description: cgcloud: 甲（依据 ZY-1）, tags", "甲") == []
    assert foreign_chinese('"system": "(全局)"', "") == []
    assert foreign_chinese("== (全局)", "") == ["全局"]  # shown text is translated


ZH_PLAN_LINES = [  # cgcloud plan's text before the sweep, byte for byte
    "      新建安全组（主机 172.21.3.0/24）  [WL-2026-0031#10 until 2027-01-31]",
    "      新建规则  [WL-2026-0031#5 until 2027-12-31]",
    "      存储类型 high-speed、standard 不是云硬盘类型（volume type），只计入总量 gigabytes"
    "  [ZY-2027-0001]",
    "      占位主机 智慧城管-数据库 尚无端口带标签 cgcloud:placeholder=智慧城管-数据库，"
    "安全组暂不绑定  [WL-2026-0031#4 until 2027-12-31; WL-2026-0031#9 until 2027-01-31;"
    " WL-2026-0031#10 until 2027-01-31]",
    "== (全局)",
    "      新建规格  [ZY-2027-0001]",
    "  - 旧版数字城管系统: 旧版数字城管系统 没有 2027 年度已批准的云资源申请单（有: 2026）；"
    "已有资源不会被删除，配额按已过期处理",
]
EN_PLAN_LINES = [
    "Plan: 22 to create, 1 to update, 0 to delete, 3 pending, 1 reported"
    " (cloud memory-lang-plan, now 2027-01-15T00:00:00+08:00)",
    "      create security group (hosts 172.21.3.0/24)  [WL-2026-0031#10 until 2027-01-31]",
    "      create rule  [WL-2026-0031#5 until 2027-12-31]",
    "      storage tiers high-speed, standard are not volume types: counted in the gigabytes"
    " total only  [ZY-2027-0001]",
    "== (global)",
    "      create flavor  [ZY-2027-0001]",
    "Notes:",
    "  - 旧版数字城管系统: 旧版数字城管系统 has no approved cloud resource application for 2027"
    " (has: 2026); existing resources are not deleted, quotas are treated as expired",
]
PLAN = ("plan", "policies", "--engine", "memory", "--cloud", "memory-lang-plan", *NOW)


def test_plan_text(tmp_path: Path, form_text: str) -> None:
    zh, en = both(tmp_path, *PLAN, "--detailed-exitcode")
    assert zh.returncode == 2, zh.stderr  # changes present, in both languages
    lines = zh.stdout.splitlines()
    assert lines[0] == (
        "计划：新建 22 项，更新 1 项，删除 0 项，待定 3 项，报告 1 项"
        "（云 memory-lang-plan，当前时刻 2027-01-15T00:00:00+08:00）"
    )
    assert "备注:" in lines
    for line in ZH_PLAN_LINES:
        assert line in lines, line
    for line in EN_PLAN_LINES:
        assert line in en.stdout.splitlines(), line
    assert foreign_chinese(en.stdout, form_text) == []
    change = re.compile(r"^  [-+~?!] (project|quota|flavor|group|rule|binding) ")
    signs = [line for line in lines if change.match(line)]
    assert signs == [line for line in en.stdout.splitlines() if change.match(line)]
    assert len(signs) == 27  # the same actions, kinds and names in both


def test_plan_markdown(tmp_path: Path, form_text: str) -> None:
    zh, en = both(tmp_path, *PLAN, "--format", "markdown")
    assert zh.returncode == 0, zh.stderr
    assert zh.stdout.startswith("### 计划：新建 22 项")
    assert "| | 类型 | 资源 | 说明 | 依据 |" in zh.stdout and "#### 备注" in zh.stdout
    rule = (
        "| + | rule | `cg-智慧城管综合平台-172.20.4.11/32,172.20.4.12/32 egress any to 0.0.0.0/0` |"
    )
    assert rule + " 新建规则 | WL-2026-0031#5 until 2027-12-31 |" in zh.stdout.splitlines()
    assert rule + " create rule | WL-2026-0031#5 until 2027-12-31 |" in en.stdout.splitlines()
    assert en.stdout.startswith("### Plan: 22 to create, 1 to update")
    assert "| | kind | resource | detail | reason |" in en.stdout and "#### Notes" in en.stdout
    assert foreign_chinese(en.stdout, form_text) == []
    assert zh.stdout.count("\n|") == en.stdout.count("\n|")


def test_plan_json(tmp_path: Path, form_text: str) -> None:
    zh, en = both(tmp_path, *PLAN, "--format", "json")
    a, b = json.loads(zh.stdout), json.loads(en.stdout)
    assert shape(a) == shape(b)  # keys, summary, actions, kinds, names, reasons, before/after
    details = {c["detail"] for s in a["systems"] for c in s["changes"]}
    assert {"新建项目", "新建规则", "新建规格", "配额按本年度已批准的申请单合计"} <= details
    assert "新建安全组（主机 172.21.3.0/24）" in details
    en_details = {c["detail"] for s in b["systems"] for c in s["changes"]}
    assert {"create project", "create rule", "create flavor"} <= en_details
    assert [s["system"] for s in a["systems"]] == [s["system"] for s in b["systems"]]
    assert a["systems"][-1]["system"] == "(全局)"  # a key, not a message
    assert foreign_chinese(en.stdout, form_text) == []


def test_apply_on_an_empty_cloud(tmp_path: Path, form_text: str) -> None:
    args = ("apply", "policies", "--engine", "memory", "--cloud", "memory-lang-plan", *NOW)
    zh, en = both(tmp_path, *args, "--yes")
    assert zh.returncode == 0, zh.stdout + zh.stderr
    assert "已应用: 完成 23 项，失败 0 项，未执行 0 项" in zh.stdout
    assert "Applied: 23 done, 0 failed, 0 not done" in en.stdout
    assert ZH_PLAN_LINES[1] in zh.stdout.splitlines() and EN_PLAN_LINES[2] in en.stdout
    assert foreign_chinese(en.stdout + en.stderr, form_text) == []
    # the audit log: the same steps (ids, kinds, actions) whatever the language
    logs = [tmp_path / lang / "state" / "cgcloud" / "audit.jsonl" for lang in ("zh", "en")]
    steps = [[json.loads(x) for x in p.read_text(encoding="utf-8").splitlines()] for p in logs]
    keep = ("action", "kind", "system", "name", "status")
    assert [{k: s.get(k) for k in keep} for s in steps[0]] == [
        {k: s.get(k) for k in keep} for s in steps[1]
    ]
    assert len(steps[0]) >= 23


def test_form_errors_of_the_builder(tmp_path: Path) -> None:
    repo = tmp_path / "forms"
    repo.mkdir()
    (repo / "a.yaml").write_text("- a\n", encoding="utf-8")
    (repo / "b.yaml").write_text("apiVersion: v0\nkind: Zones\n", encoding="utf-8")
    (repo / "c.yaml").write_text("apiVersion: cgcloud/v1\nkind: Bogus\n", encoding="utf-8")
    zh, en = both(tmp_path, "validate", str(repo), "--format", "json")
    assert zh.returncode == 1
    a, b = json.loads(zh.stdout)["findings"], json.loads(en.stdout)["findings"]
    where = [(f["file"], f["line"], f["column"], f["rule"]) for f in a]
    assert where == [(f["file"], f["line"], f["column"], f["rule"]) for f in b]
    assert [f["message"] for f in a] == [
        "文档不是一个表单（应为以 apiVersion 和 kind 开头的映射）",
        "apiVersion 应为 cgcloud/v1，实际为 'v0'",
        "未知的表单类型 kind: 'Bogus'",
    ]
    assert [f["message"] for f in b] == [
        "the document is not a form (a mapping starting with apiVersion and kind)",
        "apiVersion should be cgcloud/v1, not 'v0'",
        "unknown form kind: 'Bogus'",
    ]
    assert "可用的类型: Zones、HighRiskPorts" in a[2]["hint"]
    assert "known kinds: Zones, HighRiskPorts" in b[2]["hint"]
    assert not CHINESE_RUN.search(" ".join(f["message"] + f["hint"] for f in b))


@pytest.mark.parametrize(
    "message",
    [
        f"{FORM_ID} 第3行向内部区域开放",
        f"{FORM_ID} row 3 opens a port",
        f"row 3 of {FORM_ID} opens a port",
        f"{FORM_ID}, row 12: opens a port",
    ],
)
def test_the_pulumi_scratch_rows_reference_is_replaced_in_either_language(message: str) -> None:
    out = ROW_PREFIX.sub("THIS", message, count=1)
    assert out.startswith("THIS") and FORM_ID not in out and not re.search(r"\d", out)


def test_devcloud_status_columns_line_up_in_both_languages(tmp_path: Path) -> None:
    runner = CliRunner()
    outs = {}
    try:
        for lang in ("zh", "en"):
            r = runner.invoke(app, ["--lang", lang, "devcloud", "status", "--dir", str(tmp_path)])
            assert r.exit_code == 1, r.output  # nothing runs in an empty directory
            outs[lang] = r.output.splitlines()
    finally:
        i18n.setup(i18n.DEFAULT)
    assert outs["zh"][0].split()[:3] == ["服务", "状态", "端口"]
    assert outs["en"][0].split()[:3] == ["Service", "Status", "Port"]
    assert outs["zh"][1].split()[1] == "停止" and outs["en"][1].split()[1] == "down"
    assert outs["en"][-2].split()[:2] == ["Total", f"0/{len(outs['en']) - 3}"]
    for lines in outs.values():
        table = lines[:-1]  # the footnote is a sentence, not a row
        # every "MB" of the RSS column and the header's "PSS" end in the same terminal column
        ends = {helpformat.columns(line[: line.index("MB") + 2]) for line in table[1:]}
        assert ends == {helpformat.columns(table[0][: table[0].index("RSS") + 3])}
        assert len({helpformat.columns(line) for line in table}) == 1
