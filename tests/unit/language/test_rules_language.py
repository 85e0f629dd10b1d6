"""The validation wing speaks both languages (issue 13, part A): the same broken
repository through the real CLI in Chinese and in English.

Chinese output is what it was before the sweep (the exact messages below are the
pre-sweep texts); English output carries English messages; rule IDs, positions,
severities, JSON keys, SARIF rule ids and the exit code do not depend on the language.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from cgcloud.schemas import data_dir

ROOT = Path(__file__).resolve().parents[3]
NOW = "2027-01-15"
HAN = re.compile("[\u4e00-\u9fff]")
BAD_ROWS = """\
    - {from: 政务外网区, source: 0.0.0.0, to: 政务外网区, target: 172.21.4.21, port: TCP8080}
    - {from: 政务外网区, source: 172.21.4.021, to: 政务外网区, target: 172.21.4.21, port: "8080"}
    - {from: 火星区, source: 172.21.4.21, to: 政务外网区, target: 172.21.4.22, port: TCP99999}
    - {from: 互联网公网, source: 10.0.0.1, to: 政务外网区, target: 172.21.9.9/23, port: TCP22}
"""
EXTRA_FILES = {
    "tabs.yaml": "apiVersion: cgcloud/v1\n\tkind: Zones\n",
    "syntax.yaml": "apiVersion: cgcloud/v1\nkind: [Zones\n",
    "dup.yaml": "apiVersion: cgcloud/v1\nkind: AnnualPlan\nkind: AnnualPlan\n",
    "schema.yaml": (
        "apiVersion: cgcloud/v1\nkind: AnnualPlan\n"
        "metadata: {id: JH-X, department: 某处, colour: red}\n"
        "spec: {year: 二〇二七, vcpu: -1, memory_gb: 1, disk_gb: 1, public_ip: 0}\n"
    ),
    "empty.yaml": "# nothing\n",
    "policy.yaml": (  # a date the schema's pattern refuses, where the schema has an example
        "apiVersion: cgcloud/v1\nkind: NetworkPolicy\n"
        "metadata: {id: WL-2027-0099, system: 测试系统}\n"
        'spec:\n  normal: {reason: 测试, period: {start: "2027-1-1", end: 2027-12-31}}\n'
    ),
    "notice.yaml": (  # a date the schema's pattern refuses
        "apiVersion: cgcloud/v1\nkind: ShutdownNotice\n"
        "metadata: {id: GT-2027-0009, system: 旧版数字城管系统}\n"
        "spec:\n  hosts: [172.20.4.21]\n  tech_division: {by: 钱七, date: 2027-3-1}\n"
    ),
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped example repository with four bad rows and eight bad files added."""
    root = tmp_path_factory.mktemp("broken") / "repo"
    shutil.copytree(data_dir("policies"), root)
    policy = root / "智慧城管综合平台" / "network-policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + BAD_ROWS, encoding="utf-8")
    for name, text in EXTRA_FILES.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "binary.yaml").write_bytes(b"\xff\xfeabc")
    return root


@cache
def _run(lang: str, *args: str) -> tuple[int, str]:
    env = {**os.environ, "CGCLOUD_LANG": lang, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "cgcloud", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout


def validate(repo: Path, lang: str, fmt: str) -> tuple[int, str]:
    return _run(lang, "validate", str(repo), "--now", NOW, "--format", fmt)


def findings(repo: Path, lang: str) -> list[dict[str, Any]]:
    code, out = validate(repo, lang, "json")
    assert code == 1, out
    report: dict[str, Any] = json.loads(out)
    return list(report["findings"])


def by_rule(items: list[dict[str, Any]], rule: str) -> list[str]:
    return [f["message"] + " | " + f["hint"] for f in items if f["rule"] == rule]


# one finding per area: loader, schema gate, grammar, address rules, flows, bastions,
# resources — (rule, Chinese message and hint as before the sweep, English)
EXPECTED = [
    (
        "CG001",
        "YAML 语法错误: 缺少闭合的 ] | 请检查该位置附近的缩进、引号和括号",
        "YAML syntax error: missing closing ] | check the indentation, quotes and brackets "
        "near this position",
    ),
    (
        "CG002",
        "文件不是有效的 UTF-8 编码（第 0 字节: 0xff） | 请用 UTF-8 保存该文件"
        "（例如用编辑器“另存为 UTF-8”，或 iconv -f GBK -t UTF-8）",
        "the file is not valid UTF-8 (byte 0: 0xff) | save the file as UTF-8 "
        '(e.g. the editor\'s "save as UTF-8", or iconv -f GBK -t UTF-8)',
    ),
    (
        "CG004",
        "重复的键 'kind'（首次出现在第 2 行） | 同一映射中每个键只能出现一次；请合并或删除重复项",
        "duplicate key 'kind' (first on line 2) | each key appears once in a mapping; "
        "merge or delete the duplicates",
    ),
    (
        "CG011",
        "字段 metadata 未知的键 'colour'（允许的键: department、id） | "
        "对照 schemas/ 中该表单的 JSON Schema（cgcloud schema <KIND>）修改",
        "field metadata: unknown key 'colour' (allowed keys: department, id) | ",
    ),
    (
        "CG013",
        '字段 spec.tech_division.date 格式不正确: "2027-3-1"（签字日期 YYYY-MM-DD，例如 2026-11-24；',
        # in English the schema's Chinese description gives way to its pattern
        'field spec.tech_division.date: wrong format: "2027-3-1" (expected: pattern ^[0-9]{4}-',
    ),
    (
        "CG013",
        '字段 spec.normal.period.start 格式不正确: "2027-1-1"（公历日期，格式 YYYY-MM-DD',
        'field spec.normal.period.start: wrong format: "2027-1-1" (expected: e.g. 2026-11-24; '
        "pattern ^[0-9]{4}-",
    ),
    (
        "CG107",
        "WL-2026-0031 第14行 目标地址写法错误：'172.21.9.9/23' 设置了主机位；"
        "网段应写作 172.21.8.0/23 | 地址写法：58.33.33.33；列表 58.33.33.33、58.44.44.44；"
        "范围 58.33.33.33-40；网段 10.10.10.0/24（主机位须为 0）；0.0.0.0 表示不限制；"
        "未分配地址的内部主机写 系统名称-用途",
        "WL-2026-0031 row 14: wrong target: '172.21.9.9/23' has host bits set; write the "
        "network as 172.21.8.0/23 | addresses: 58.33.33.33;",
    ),
    (
        "CG108",
        "WL-2026-0031 第12行 端口写法错误：端口 '8080' 缺少协议；应写作 TCP8080 或 UDP8080 | "
        "端口写法：/（不限制）、TCP9999、UDP53、TCP80,443、TCP8000-8080、TCP 22、ICMP",
        "WL-2026-0031 row 12: wrong port: port '8080' has no protocol; write TCP8080 or "
        "UDP8080 | ports: / (any), TCP9999, UDP53, TCP80,443, TCP8000-8080, TCP 22, ICMP",
    ),
    (
        "CG106",
        "WL-2026-0031 第11行 源地址写了 0.0.0.0（不限制），但 政务外网区 是内部区域 | "
        "0.0.0.0 只能用于外部区域；内部区域请写具体地址或该区域的网段（172.21.0.0/16）",
        "WL-2026-0031 row 11: source is 0.0.0.0 (any), but 政务外网区 is an internal zone | "
        "0.0.0.0 is only for external zones; in an internal zone write the actual addresses "
        "or the zone's networks (172.21.0.0/16)",
    ),
    (
        "CG102",
        "WL-2026-0031 第14行的访问方向 互联网公网 → 政务外网区 不是允许的方向 | "
        "从 互联网公网 允许访问：互联网区（见 Zones 的 flows）；请改正区域，"
        "或经云资源管理部门同意后修改区域模型",
        "WL-2026-0031 row 14: the direction 互联网公网 → 政务外网区 is not an allowed flow | "
        "from 互联网公网 traffic may go to: 互联网区 (see the flows of Zones)",
    ),
    (
        "CG310",
        "WL-2026-0031 第14行向内部区域 政务外网区 开放远程管理端口 TCP22 (SSH)，"
        "但源地址中 10.0.0.1-10.0.0.1 不是 互联网公网 的堡垒机 | 第十九条：",
        "WL-2026-0031 row 14 opens remote-administration ports TCP22 (SSH) into the internal "
        "zone 政务外网区, but the source holds 10.0.0.1-10.0.0.1, which is not a bastion of "
        "互联网公网 | Art. 19: remote logins",
    ),
    (
        "CG505",
        "系统“旧版数字城管系统”已批准的资源属于 2026 年度（最近一张为 ZY-2026-0007），"
        "已于 2026-12-31 后失效，2027 年度没有已批准的申请单续期 | ",
        'the approved resources of system "旧版数字城管系统" belong to 2026 (latest: '
        "ZY-2026-0007) and lapsed after 2026-12-31; no approved application renews them "
        "for 2027 | ",
    ),
]


@pytest.mark.parametrize(
    ("rule", "zh", "en"), EXPECTED, ids=[f"{e[0]}-{i}" for i, e in enumerate(EXPECTED)]
)
def test_a_finding_in_both_languages(broken: Path, rule: str, zh: str, en: str) -> None:
    zh_messages, en_messages = (
        by_rule(findings(broken, "zh"), rule),
        by_rule(findings(broken, "en"), rule),
    )
    assert any(m.startswith(zh) for m in zh_messages), zh_messages
    assert any(m.startswith(en) for m in en_messages), en_messages


def test_only_the_words_change_with_the_language(broken: Path) -> None:
    zh, en = findings(broken, "zh"), findings(broken, "en")
    where = ["rule", "name", "article", "severity", "file", "line", "column", "form"]
    assert [[f[k] for k in where] for f in zh] == [[f[k] for k in where] for f in en]
    assert [sorted(f) for f in zh] == [sorted(f) for f in en]
    # every message of the validation wing is translated (CG010 is the model
    # builder's, outside this sweep)
    same = [f["message"] for f, g in zip(zh, en, strict=True) if f["message"] == g["message"]]
    assert all(f["rule"] == "CG010" for f in zh if f["message"] in same), same
    code_zh, json_zh = validate(broken, "zh", "json")
    code_en, json_en = validate(broken, "en", "json")
    assert code_zh == code_en == 1
    assert json.loads(json_zh)["summary"] == json.loads(json_en)["summary"]


def test_text_output_in_both_languages(broken: Path) -> None:
    code_zh, zh = validate(broken, "zh", "text")
    code_en, en = validate(broken, "en", "text")
    assert code_zh == code_en == 1
    assert zh.splitlines()[-1].startswith("检查了 18 个文件：")
    assert en.splitlines()[-1].startswith("checked 18 files: ")
    positions = [line.split(" ", 3)[:3] for line in zh.splitlines()[:-1]]
    assert positions == [line.split(" ", 3)[:3] for line in en.splitlines()[:-1]]
    assert " 建议: " in zh and " 建议: " not in en


def test_sarif_carries_the_chosen_language_and_the_same_rule_ids(broken: Path) -> None:
    runs = {}
    for lang in ("zh", "en"):
        code, out = validate(broken, lang, "sarif")
        assert code == 1
        runs[lang] = json.loads(out)["runs"][0]
    zh, en = runs["zh"], runs["en"]
    assert [r["id"] for r in zh["tool"]["driver"]["rules"]] == [
        r["id"] for r in en["tool"]["driver"]["rules"]
    ]
    assert [(r["ruleId"], r["ruleIndex"], r["level"]) for r in zh["results"]] == [
        (r["ruleId"], r["ruleIndex"], r["level"]) for r in en["results"]
    ]
    rule = {r["id"]: r for r in en["tool"]["driver"]["rules"]}["CG301"]
    assert rule["shortDescription"]["text"] == (
        "a high-risk period longer than a calendar month without an overrun exception"
    )
    assert rule["fullDescription"]["text"].endswith("Art. 13 (第十三条))")
    assert rule["properties"]["article"] == "第十三条"  # the citation itself is stable
    zh_rule = {r["id"]: r for r in zh["tool"]["driver"]["rules"]}["CG301"]
    assert zh_rule["shortDescription"]["text"] == "高危端口使用期超过一个自然月且没有超期例外"
    assert zh_rule["help"]["text"] == (
        "CG301 high-risk-window-too-long：高危端口使用期超过一个自然月且没有超期例外。"
        "依据：第十三条。"
    )


def test_the_rules_list_in_both_languages() -> None:
    lists = {}
    for lang in ("zh", "en"):
        code, out = _run(lang, "rules", "--format", "json")
        assert code == 0
        lists[lang] = json.loads(out)
    zh, en = lists["zh"], lists["en"]
    keys = ("id", "name", "severity", "article")
    assert [[r[k] for k in keys] for r in zh] == [[r[k] for k in keys] for r in en]
    cg107 = {r["id"]: r for r in en}["CG107"]
    assert cg107["summary"] == "wrong address syntax (including networks with host bits set)"
    assert {r["id"]: r for r in zh}["CG107"]["summary"] == "地址写法错误（含网段主机位不为 0）"
    # the text list shows the article translated, with the Chinese citation kept
    code, text = _run("en", "rules")
    assert code == 0
    line = next(x for x in text.splitlines() if x.startswith("CG107"))
    assert "Annex 2 note 2 (附件2 注2)" in line and "wrong address syntax" in line
    assert not HAN.search(line.replace("(附件2 注2)", ""))
