"""The command line in both languages: `--help` of every command, errors, `--lang`.

Through the real CLI (typer's runner on the app, and once the installed entry point
in a subprocess), never by setting the language global: the language must follow
argv and the environment the way a user gives them. The command list is read from
the click tree, so a command added later is covered without anyone listing it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cgcloud import i18n
from cgcloud.cli import app, helpformat, language
from cgcloud.exitcodes import ExitCode
from cgcloud.schemas import data_dir

POLICIES = data_dir("policies")
REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()
# the environment a test starts from: no language chosen anywhere
CLEAN = {"CGCLOUD_LANG": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": None}


@pytest.fixture(autouse=True)
def restore_language() -> Iterator[None]:
    yield
    i18n.setup(i18n.DEFAULT)


def invoke(*args: str, **env: str) -> typer.testing.Result:
    return runner.invoke(app, list(args), env={**CLEAN, "COLUMNS": "80", **env})


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the app, the root included, e.g. ("bastion", "plan")."""
    out: list[tuple[str, ...]] = []

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        out.append(path)
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return out


PATHS = command_paths()
IDS = [" ".join(p) or "cgcloud" for p in PATHS]

# An English sentence: four or more plain words in a row ("Show this message and exit.").
# Option names, metavars, paths and commands in examples are not plain words.
WORD = re.compile(r"^[A-Za-z]+[,.;:]?$")
HAN = re.compile(r"[\u3400-\u9fff]")
# Chinese that English help keeps on purpose: the regulation, its articles, the form
# and zone names a user types or finds in the forms, period names of the reports.
NAMES = [
    "云资源管理办法",
    "第十四条",
    "第十九条",
    "第二十条",
    "第二十三条",
    "回收记录",
    "互联网公网",
    "政务外网骨干网",
    "专线网络",
    "智慧城管-数据库",
    "上旬",
    "中旬",
    "下旬",
    "旬报",
    "半年报",
    "月报",
]


# English's glue words never appear in Chinese help, whatever punctuation surrounds them
GLUE = {"the", "and", "of", "to", "a", "an", "or", "is", "for", "with", "when", "this"}
GLUE |= {"not", "be", "in", "on", "by", "from", "as", "at", "it", "its", "see", "are"}


def english_sentences(text: str) -> list[str]:
    """Runs of four or more plain words, and lines with an English glue word."""
    found, run = [], []
    for token in [*text.split(), ""]:
        if token and WORD.match(token):
            run.append(token)
            continue
        if len(run) >= 4:
            found.append(" ".join(run))
        run = []
    for line in text.splitlines():
        words = {w.strip("()[],.;:'\"").lower() for w in line.split() if not w.startswith("-")}
        if words & GLUE:
            found.append(line.strip())
    return found


def han_outside_names(text: str) -> list[str]:
    for name in sorted(NAMES, key=len, reverse=True):
        text = text.replace(name, "")
    return [line.strip() for line in text.splitlines() if HAN.search(line)]


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_help_of_every_command_is_chinese_by_default(path: tuple[str, ...]) -> None:
    r = invoke(*path, "--help")
    assert r.exit_code == ExitCode.OK, r.output
    assert "用法：" in r.output and "显示本帮助并退出" in r.output
    assert english_sentences(r.output) == [], r.output
    wide = [line for line in r.output.splitlines() if helpformat.columns(line) > 80]
    assert wide == [], "lines wider than the 80-column terminal"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_help_of_every_command_in_english(path: tuple[str, ...]) -> None:
    r = invoke(*path, "--help", "--lang", "en")
    assert r.exit_code == ExitCode.OK, r.output
    assert "Usage:" in r.output and "Show this message and exit." in r.output
    assert han_outside_names(r.output) == [], r.output
    assert r.output == invoke(*path, "-h", CGCLOUD_LANG="en").output


def test_the_heuristics_can_fail() -> None:
    """The two checks above see what they are for."""
    assert english_sentences("  -h, --help  Show this message and exit.") == [
        "Show this message and exit.",
        "-h, --help  Show this message and exit.",
    ]
    assert english_sentences("  --now <str>  假定当前为此时刻（ISO 8601）。 [默认：text]") == []
    line = "  --textfile <path>  Also write this run's result (time, success,"
    assert english_sentences(line) == [line.strip()]
    assert han_outside_names("  --period  2027-01-上旬 (旬报) 策略目录") == [
        "--period  2027-01- () 策略目录"
    ]


def test_command_lists_show_a_short_line_in_both_languages() -> None:
    zh, en = invoke("--help").output, invoke("--lang", "en", "--help").output
    assert re.search(r"^  validate\s+按表单格式和办法的规则检查策略仓库$", zh, re.M), zh
    assert re.search(r"^  validate\s+Check a policy repository against", en, re.M), en


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("按表单格式检查。\n\n更多。", "按表单格式检查"),
        ("显示 apply 将写入或删除哪些堡垒机账号和 authorized_keys 条目。", None),
        ("一" * 40, "一" * 30 + "…"),
        ("甲" * 20 + "，" + "乙" * 20, "甲" * 20 + "…"),  # a pause late enough
        ("甲" * 5 + "，" + "乙" * 40, "甲" * 5 + "，" + "乙" * 24 + "…"),  # too early: cut
        ("甲乙丙丁戊己庚辛壬癸甲乙丙丁戊己庚辛壬癸甲乙丙丁戊己庚辛 authorized_keys", None),
    ],
)
def test_short_help_cuts_chinese_at_a_sentence_or_a_pause(text: str, want: str | None) -> None:
    got = language.short(text)
    if want is not None:
        assert got == want
    else:  # never inside an ASCII word, never wider than 60 columns
        assert got.endswith("…") or got == text.rstrip("。")
        assert not re.search(r"[A-Za-z_]…$", got) or got.rstrip("…").endswith("keys")


@pytest.mark.parametrize(
    ("text", "width", "want"),
    [
        ("甲乙丙丁戊己", 6, ["甲乙丙", "丁戊己"]),  # two columns a character
        ("甲乙丙，丁戊", 6, ["甲乙", "丙，丁", "戊"]),  # a comma never starts a line
        ("甲乙（丙丁）戊", 6, ["甲乙", "（丙", "丁）戊"]),  # nor does a bracket end one
        ("见 authorized_keys 条目", 12, ["见", "authorized_keys", "条目"]),  # words stay whole
        ("abc def 甲乙", 9, ["abc def", "甲乙"]),
    ],
)
def test_chinese_wraps_by_columns_between_characters(
    text: str, width: int, want: list[str]
) -> None:
    assert helpformat.fill(text, width) == want


def test_wrap_keeps_paragraphs_and_their_indentation() -> None:
    text = "甲" * 20 + "\n\n    cgcloud validate policies/"
    want = "  " + "甲" * 15 + "\n  " + "甲" * 5 + "\n\n      cgcloud validate policies/"
    assert helpformat.wrap(text, 32, "  ") == want


# --------------------------------------------------------------------- which language


@pytest.mark.parametrize(
    ("args", "env", "want"),
    [
        ((), {}, "zh"),
        ((), {"LANG": "C.UTF-8"}, "zh"),
        ((), {"LANG": "en_US.UTF-8"}, "en"),
        ((), {"LANG": "zh_CN.UTF-8"}, "zh"),
        ((), {"LANG": "zh_CN.UTF-8", "CGCLOUD_LANG": "en"}, "en"),
        ((), {"LANG": "en_US.UTF-8", "CGCLOUD_LANG": "zh"}, "zh"),
        (("--lang", "en"), {"CGCLOUD_LANG": "zh", "LANG": "zh_CN.UTF-8"}, "en"),
        (("--lang", "zh"), {"CGCLOUD_LANG": "en", "LANG": "en_US.UTF-8"}, "zh"),
        (("--lang=en",), {}, "en"),
        (("--lang", "en", "--lang", "zh"), {}, "zh"),  # the last one wins, as click parses
    ],
)
def test_lang_then_cgcloud_lang_then_the_locale(
    args: tuple[str, ...], env: dict[str, str], want: str
) -> None:
    """Before the subcommand and after it alike; the answer is the error's language."""
    zh, en = "请用 --cloud NAME", "name the cloud with --cloud NAME"
    for argv in (("plan", str(POLICIES), *args), (*args, "plan", str(POLICIES))):
        r = invoke(*argv, "--now", "2027-01-15", **env)
        assert r.exit_code == ExitCode.USAGE, r.output
        assert (zh in r.output, en in r.output) == (want == "zh", want == "en"), r.output


@pytest.mark.parametrize(
    ("env", "said"), [({}, "的值无效"), ({"CGCLOUD_LANG": "en"}, "invalid value")]
)
def test_an_unknown_lang_is_a_usage_error_in_the_language_without_it(
    env: dict[str, str], said: str
) -> None:
    r = invoke("--lang", "fr", "validate", str(POLICIES), **env)
    assert r.exit_code == ExitCode.USAGE
    assert "'--lang'" in r.output and "'fr'" in r.output and said in r.output
    r = invoke("validate", "--lang", **env)  # no value at all
    assert r.exit_code == ExitCode.USAGE and "--lang" in r.output


def test_an_unknown_cgcloud_lang_is_a_usage_error_unless_lang_decides() -> None:
    r = invoke("validate", str(POLICIES), CGCLOUD_LANG="klingon")
    assert r.exit_code == ExitCode.USAGE
    assert "CGCLOUD_LANG" in r.output and "'klingon'" in r.output and "用法错误" in r.output
    r = invoke("--lang", "en", "validate", str(POLICIES), "--now", "2027-01-15", CGCLOUD_LANG="x")
    assert r.exit_code == ExitCode.OK, r.output


def test_lang_after_a_double_dash_is_not_ours() -> None:
    assert language.from_argv(["ssh", "10.0.0.1", "--", "grep", "--lang", "en"]) is None
    assert language.from_argv(["--lang", "en", "ssh", "--", "x", "--lang", "zh"]) == "en"
    assert language.from_argv(["validate", "--lang"]) is None


# --------------------------------------------------------------------- same codes, two languages


CASES = [
    (("validate", "/no/such/path"), "路径不存在", "does not exist"),
    (("schema", "Bogus"), "未知的表单类型 'Bogus'", "unknown form kind 'Bogus'"),
    (
        ("plan", str(POLICIES), "--cloud", "x", "--engine", "steam"),
        "未知的引擎 steam",
        "unknown engine steam",
    ),
    (
        ("upcoming", str(POLICIES), "--days", "many"),
        "'--days' 的值无效",
        "invalid value for '--days'",
    ),
    (("report",), "缺少选项 '--period'", "missing option '--period'"),
    (("diff",), "缺少参数 'base'", "missing argument 'base'"),
    (("rules", "extra"), "多余的参数: extra", "unexpected extra arguments: extra"),
    (("reach", "--at"), "选项 --at 需要一个值", "option --at requires a value"),
    (("valdate",), "没有命令 'valdate'（是否想用: 'validate'？）", "did you mean: 'validate'?"),
    (("validate", "-f", "bogus"), "'bogus' 不是可选值之一", "'bogus' is not one of"),
    (("validate", "--bogus"), "没有选项 --bogus", "--bogus"),
    (
        ("exporter", str(POLICIES), "--cloud", "c", "--now", "x", "--now-file", "f"),
        "只能用一个",
        "not both",
    ),
]


@pytest.mark.parametrize(("args", "zh", "en"), CASES, ids=[c[0][0] for c in CASES])
def test_errors_in_both_languages_with_the_same_exit_code(
    args: tuple[str, ...], zh: str, en: str
) -> None:
    a, b = invoke(*args), invoke(*args, CGCLOUD_LANG="en")
    assert a.exit_code == b.exit_code == ExitCode.USAGE, (a.output, b.output)
    assert zh in a.output and "错误" in a.output, a.output
    assert en in b.output and not HAN.search(b.output.replace("用法", "")), b.output
    assert "Traceback" not in a.output + b.output


def test_a_sentence_typer_says_that_we_do_not_know_is_kept_whole() -> None:
    from cgcloud.cli import clickwords

    assert clickwords.reword("Something new from typer.") == "Something new from typer."
    assert clickwords.reword("Input should be a valid integer, unable to parse") == "应为整数"


def test_findings_keep_rule_ids_and_exit_codes_in_english(tmp_path: Path) -> None:
    """validate's JSON in both languages: same keys, rule IDs, positions and exit code."""
    import json

    broken = tmp_path / "p"
    broken.mkdir()
    (broken / "bad.yaml").write_text("kind: NetworkPolicy\nnot: [valid\n", encoding="utf-8")
    a = invoke("validate", str(broken), "--format", "json")
    b = invoke("--lang", "en", "validate", str(broken), "--format", "json")
    assert a.exit_code == b.exit_code == ExitCode.FAILURE
    ja, jb = json.loads(a.stdout), json.loads(b.stdout)

    def shape(doc: dict) -> list[tuple]:
        return [(f["rule"], f["line"], f["column"], sorted(f)) for f in doc["findings"]]

    assert sorted(ja) == sorted(jb) and shape(ja) == shape(jb) and ja["findings"]


def test_version_and_completion_are_untouched() -> None:
    from cgcloud import __version__

    for env in ({}, {"CGCLOUD_LANG": "en"}):
        r = invoke("--version", **env)
        assert r.exit_code == 0 and r.output.strip() == f"cgcloud {__version__}"
    r = invoke("--show-completion", "bash", CGCLOUD_LANG="en")
    assert r.exit_code == 0 and "_CGCLOUD_COMPLETE" in r.output.upper().replace("-", "_")
    for env in ({}, {"CGCLOUD_LANG": "en"}):  # completing a command name still works
        words = {
            "_CGCLOUD_COMPLETE": "complete_bash",
            "COMP_WORDS": "cgcloud val",
            "COMP_CWORD": "1",
        }
        r = runner.invoke(app, [], env={**CLEAN, **words, **env}, prog_name="cgcloud")
        assert r.exit_code == 0 and r.output.split() == ["validate"], r.output


def test_the_installed_entry_point_reads_lang_from_its_own_argv(tmp_path: Path) -> None:
    """A real process: the language is chosen from sys.argv before click parses."""
    env = {k: v for k, v in os.environ.items() if k not in CLEAN and k != "LANGUAGE"}
    env["PYTHONPATH"] = str(REPO)
    missing = str(tmp_path / "nope")
    out = {}
    for lang in ("zh", "en"):
        p = subprocess.run(
            [sys.executable, "-m", "cgcloud", "validate", missing, "--lang", lang],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert p.returncode == ExitCode.USAGE, p.stderr
        out[lang] = p.stderr
    assert "路径不存在" in out["zh"] and missing in out["zh"]
    assert "does not exist" in out["en"] and missing in out["en"]
    assert not HAN.search(out["en"])
