"""`cgcloud diff` and `cgcloud pr-comment` in Chinese and in English (issue 13): the same
change, the same exit codes, rule IDs and JSON keys; the text in the chosen language."""

from __future__ import annotations

import json
import subprocess
import sys

from cgcloud.gitops import comment
from tests.gitops.conftest import NP, Repo, _env
from tests.unit.language import bilingual


def run(repo: Repo, lang: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cgcloud", *args],
        cwd=repo.path,
        env={**_env(), "CGCLOUD_LANG": lang},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def foreign_chinese(repo: Repo, text: str) -> list[str]:
    """The Chinese in ``text`` that is not in the forms (keys, values): cgcloud's own."""
    return bilingual.foreign_chinese(text, bilingual.form_words(repo.path / "policies"))


def widened(repo: Repo) -> None:
    repo.replace(NP, "port: TCP443, note: 市民访问门户}", "port: TCP443、8443, note: 市民访问门户}")
    repo.commit("放宽门户端口")


def test_diff_in_both_languages(repo: Repo) -> None:
    widened(repo)
    args = ("diff", "main", "HEAD", "policies", "--format", "markdown")
    zh, en = run(repo, "zh", *args), run(repo, "en", *args)
    assert zh.returncode == en.returncode == 1, zh.stderr  # CG405: the approval was copied
    assert "访问放宽" in zh.stdout and "#### 审批未更新（CG405）" in zh.stdout
    assert "| | 表单 | 变化 | 位置 |" in zh.stdout
    assert "access widened" in en.stdout and "#### Approval not updated (CG405)" in en.stdout
    assert "| | Form | Change | Location |" in en.stdout
    assert "the signature in reviewer 1, cloud resource manager" in en.stdout
    assert foreign_chinese(repo, en.stdout) == []
    zh, en = (
        run(repo, lang, "diff", "main", "HEAD", "policies", "-f", "json") for lang in ["zh", "en"]
    )
    zh_doc, en_doc = json.loads(zh.stdout), json.loads(en.stdout)
    assert sorted(zh_doc) == sorted(en_doc)
    assert [c["kind"] for c in zh_doc["changes"]] == [c["kind"] for c in en_doc["changes"]]
    assert [f["rule"] for f in zh_doc["findings"]] == [f["rule"] for f in en_doc["findings"]]
    assert zh_doc["changes"][0]["message"] != en_doc["changes"][0]["message"]


def test_pr_comment_in_both_languages(repo: Repo) -> None:
    widened(repo)
    args = ("pr-comment", "main", "policies", "--now", "2026-12-01")
    zh, en = run(repo, "zh", *args), run(repo, "en", *args)
    assert zh.returncode == en.returncode == 0, zh.stderr + en.stderr
    # the marker a bot finds the comment by does not change with the language
    assert zh.stdout.splitlines()[0] == en.stdout.splitlines()[0] == comment.MARKER
    for row in ("| 错误 | 1 |", "| 警告 | 0 |", "| 授权/增加 | 1 |", "| 云上变更 |"):
        assert row in zh.stdout, row
    assert "### cgcloud：校验未通过，不能合并" in zh.stdout
    for row in (
        "| Error | 1 |",
        "| Warning | 0 |",
        "| granted/increased | 1 |",
        "| Cloud changes |",
    ):
        assert row in en.stdout, row
    assert "### cgcloud: validation failed, cannot merge" in en.stdout
    assert "CG405" in zh.stdout and "CG405" in en.stdout
    assert "access widened" in en.stdout
