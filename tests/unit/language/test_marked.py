"""Issue 13: every message of cgcloud goes through the catalogs, and stays there.

One scan (`marks.py`) over every area of the package, each with its own list of the
Chinese literals that are data, not messages — YAML keys and form words the loader
matches, text written to the cloud that the next plan compares, file names, regular
expressions. A data literal is allowed in the function that holds it, not anywhere in
its file. A new unmarked message fails here with file and line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from marks import files, problems

ROOT = Path(__file__).resolve().parents[3]

# area → globs under the repository root, one per line (the areas of the sweep)
AREAS: dict[str, list[str]] = {
    "cli": [
        "cgcloud/cli/*.py",
        "cgcloud/devcloud/cli.py",
        "cgcloud/exitcodes.py",
        "cgcloud/i18n.py",
    ],
    "validation": [
        "cgcloud/capping.py",
        "cgcloud/discovery.py",
        "cgcloud/findings.py",
        "cgcloud/grammar.py",
        "cgcloud/loader.py",
        "cgcloud/report.py",
        "cgcloud/rules/*.py",
        "cgcloud/schemas.py",
        "cgcloud/validate.py",
    ],
    "time and access": [
        "cgcloud/bastion/*.py",
        "cgcloud/clock.py",
        "cgcloud/enforce.py",
        "cgcloud/enforce_pass.py",
        "cgcloud/explain.py",
        "cgcloud/gitops/*.py",
        "cgcloud/lifecycle.py",
        "cgcloud/reach/*.py",
        "cgcloud/statedir.py",
        "cgcloud/textfile.py",
    ],
    "plan and engines": [
        "cgcloud/actual.py",
        "cgcloud/backoff.py",
        "cgcloud/catalogs.py",
        "cgcloud/redact.py",
        "cgcloud/builder.py",
        "cgcloud/desired.py",
        "cgcloud/engines/*.py",
        "cgcloud/engines/openstack/*.py",
        "cgcloud/engines/pulumi/*.py",
        "cgcloud/formats.py",
        "cgcloud/model.py",
        "cgcloud/plan/*.py",
    ],
    "reports": [
        "cgcloud/exporter/*.py",
        "cgcloud/reports/*.py",
    ],
}
# (file, enclosing function, "" at module level) → its Chinese literals that are data
ALLOWED: dict[tuple[str, str], set[str]] = {
    # -- cli: the punctuation tables and patterns that wrap and word Chinese help
    ("cgcloud/cli/clickwords.py", ""): {r"(?P<message>.*?)[。.]* Did you mean (?P<names>.+)\?"},
    ("cgcloud/cli/helpformat.py", ""): {"，。、；：！？）》」』”’…", "（《「『“‘"},
    ("cgcloud/cli/language.py", "short"): {"。", "，；：、（"},
    # -- validation: the address grammar's separators (the forms' own), the shipped
    # site files' display path, the language's own name on the rules doc's link
    ("cgcloud/grammar.py", ""): {r"\s*[、,，]\s*", r"^[^\s,，、/:]+-[^\s,，、/:]+$"},
    ("cgcloud/validate.py", ""): {"<默认>/"},
    ("cgcloud/report.py", ""): {"中文"},
    # -- time and access
    # the reclaim record's file name: a later pass in another language must find it
    ("cgcloud/enforce_pass.py", "write_record"): {"回收记录-"},
    # hashed into the reach cache key, never shown
    ("cgcloud/reach/cache.py", "key"): {"<默认>/"},
    # file content on the bastion: diff compares it, so it must not change with the language
    ("cgcloud/bastion/authorized_keys.py", "render"): {
        "（",
        "）依据 ",
        "：",
        "、",
        "；",
        " 第",
        "行",
    },
    # -- plan and engines
    # descriptions written to the cloud: the next plan compares them, in any language
    ("cgcloud/desired.py", "_project"): {"（依据 ", "）", "、"},
    ("cgcloud/engines/memory.py", "_flavor"): {"、"},
    ("cgcloud/engines/openstack/apply.py", "_flavor_step"): {"、"},
    ("cgcloud/engines/pulumi/program.py", "declare"): {"、"},
    # the Pulumi policy pack's scratch form (YAML the loader reads) and the zh row
    # reference the rules write into findings about it
    ("cgcloud/engines/pulumi/policy.py", ""): {
        "-目标",
        r"(?: 第\d+行|,? (?:row|line) \d+| \((?:row|line) \d+\))?",
    },
    ("cgcloud/engines/pulumi/policy.py", "row_verdicts"): {", note: 规则"},
    ("cgcloud/engines/pulumi/policy.py", "_form_head"): {
        "}}\n  reviewers:\n    cloud_resource_manager: {by: 甲, date: ",
        "}\n    business_leader: {by: 乙, date: ",
        "}\n    cloud_resource_leader: {by: 丙, date: ",
    },
    # -- reports
    # the period names users type (`--period 2027-01-上旬`) and their grammar
    ("cgcloud/reports/period.py", ""): {
        "上旬",
        "中旬",
        "下旬",
        r"^(\d{4})-(?:(0[1-9]|1[0-2])(?:-(上旬|中旬|下旬))?|H([12]))$",
    },
    # the regulation's incident levels (第二十三条) as alert labels carry them: keys
    ("cgcloud/reports/incidents.py", ""): {"一级", "二级", "三级", "(一级|二级|三级)"},
    ("cgcloud/reports/incidents.py", "level_of"): {"三级"},
    ("cgcloud/reports/incidents.py", "incidents"): {"一级", "二级"},
    ("cgcloud/reports/charts.py", ""): {"一级", "二级", "三级"},
    # a sheet name from a section title "一、…": the numbering is cut off, in any language
    ("cgcloud/reports/xlsx.py", "_sheet_name"): {"、"},
    # metric HELP text (English, quoting the forms' words): what Prometheus serves is
    # the same for every scraper, whatever the exporter's language
    ("cgcloud/exporter/metrics.py", "compute"): {
        "1 when a managed project has no approved ResourceApplication for the current year"
        " (续期或关停); never deleted for it.",
    },
    ("cgcloud/exporter/metrics.py", "_exposure_families"): {
        "Ingress rules in the live cloud (any group, managed by cgcloud or not) that open"
        " SSH (TCP22) or RDP (3389) from anything but a bastion host (第十九条).",
    },
    ("cgcloud/exporter/metrics.py", "_plan_families"): {
        "Placeholders (系统名称-用途) named by live rows that no port of the system carries"
        " yet (rules and bindings wait for them).",
    },
}


def area_files() -> list[str]:
    return sorted(f for patterns in AREAS.values() for f in files(ROOT, patterns))


def test_every_module_of_the_package_is_in_an_area() -> None:
    """A new module is scanned without anyone remembering to add it."""
    package = files(ROOT, ["cgcloud/**/*.py"])
    # the devcloud is a distribution of its own (a developer's test cloud); its command's
    # help and status are scanned, its launcher's English progress lines are not messages
    left_out = {
        f for f in package if f.startswith("cgcloud/devcloud/") and f != "cgcloud/devcloud/cli.py"
    }
    left_out |= {"cgcloud/__init__.py", "cgcloud/__main__.py"}
    assert sorted(set(package) - set(area_files()) - left_out) == []


def test_the_lists_name_no_stale_entry() -> None:
    scanned = area_files()
    assert len(scanned) == len(set(scanned)), "a file is in two areas"
    for patterns in AREAS.values():
        for pattern in patterns:
            assert list(ROOT.glob(pattern)), f"{pattern} matches no file: a stale entry"
    for name, _fn in ALLOWED:
        assert name in scanned, f"{name} is not scanned: a stale entry"


@pytest.mark.parametrize("name", area_files())
def test_every_message_is_marked(name: str) -> None:
    assert problems((ROOT / name).read_text(encoding="utf-8"), name, ALLOWED) == []


def test_the_scan_finds_what_it_must() -> None:
    """The scan itself can fail: each kind of mistake is reported, a correct module is not."""
    bad = '''
def f(n, msg):
    """文档字符串不是消息。"""
    a = "未标记的中文"
    b = f"共 {n} 行"
    c = f"| {_('警告')} | {n} |"
    d = _(f"检查了 {n} 个文件")
    e = _("第{}行").format(n)
    return a, b, c, d, e
'''
    found = problems(bad)
    assert any("unmarked '未标记的中文'" in p for p in found)
    assert any("unmarked '共 '" in p for p in found)
    assert any("'警告' marked inside an f-string" in p for p in found)
    assert any("an f-string as a msgid" in p for p in found)
    assert any("positional placeholder" in p for p in found)
    assert not any("文档字符串" in p for p in found)
    good = '''
from cgcloud.i18n import N_, _, ngettext
LABEL = N_("普通")
def f(n):
    """文档字符串。"""
    return _("检查了 {n} 个文件").format(n=n) + ngettext("{n} 天", "{n} 天", n).format(n=n)
'''
    assert problems(good) == []


def test_the_allow_list_is_per_function() -> None:
    """A data literal is allowed where it is data, not anywhere in the file."""
    src = 'def _project(ids):\n    return "（依据 " + x\n\ndef other():\n    return "（依据 "\n'
    allowed = {("cgcloud/desired.py", "_project"): {"（依据 "}}
    assert problems(src, "cgcloud/desired.py", allowed) == [
        "cgcloud/desired.py:5: unmarked '（依据 '"
    ]
    bad = 'from cgcloud.i18n import _\ndef f(n):\n    return f"共 {n} 行" + _(f"{n} 条")\n'
    found = problems(bad, "x.py")
    assert any("unmarked '共 '" in p for p in found)
    assert any("f-string as a msgid" in p for p in found)
