"""`cgcloud pr-comment` in a real git repository, and the length limit on a large diff."""

from __future__ import annotations

from cgcloud.findings import Finding, Severity
from cgcloud.gitops import comment
from cgcloud.gitops.semdiff import GRANT, Change, SemanticDiff
from tests.gitops.conftest import NP, Repo


def test_comment_summary_first_and_deterministic(repo: Repo) -> None:
    repo.replace(NP, "port: TCP443, note: 市民访问门户}", "port: TCP443、8443, note: 市民访问门户}")
    repo.commit("放宽门户端口")
    first = repo.cgcloud("pr-comment", "main", "policies", "--now", "2026-12-01")
    second = repo.cgcloud("pr-comment", "main", "policies", "--now", "2026-12-01")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    body = first.stdout
    assert body.startswith(comment.MARKER)
    assert "| 错误 | 1 |" in body  # CG405: the changed row's approval was copied
    assert "| 授权/增加 | 1 |" in body
    assert body.index("| 错误 |") < body.index("<details>")
    assert "访问放宽" in body and "CG405" in body


def test_comment_includes_the_plan(repo: Repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = tmp_path / "plan.json"
    plan.write_text(
        '{"format": "cgcloud-plan/v1", "summary": {"create": 2, "update": 0, "delete": 1, "pending": 0},'
        ' "systems": [{"system": "s", "changes": [{"action": "create", "kind": "rule", "name": "r1",'
        ' "detail": "TCP443"}]}]}',
        encoding="utf-8",
    )
    done = repo.cgcloud(
        "pr-comment", "main", "policies", "--now", "2026-12-01", "--plan-json", str(plan)
    )
    assert "新建 2，修改 0，删除 1" in done.stdout and "`r1`" in done.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    refused = repo.cgcloud("pr-comment", "main", "policies", "--plan-json", str(bad))
    assert refused.returncode == 64 and "Traceback" not in refused.stderr


def test_long_comment_is_cut_with_a_note() -> None:
    changes = [
        Change(
            "access-granted",
            GRANT,
            f"系统{i // 100}",
            f"WL-{i}",
            "新授权访问: " + "x" * 200,
            "f.yaml",
            i,
        )
        for i in range(2000)
    ]
    findings = [
        Finding("CG107", Severity.ERROR, "地址写法错误 " * 10, "f.yaml", i) for i in range(300)
    ]
    body = comment.compose(findings, SemanticDiff("main", "HEAD", changes))
    assert len(body) <= comment.GITHUB_LIMIT
    assert "评论长度上限 65536 字符" in body and "省略了" in body
    assert "| 授权/增加 | 2000 |" in body  # the summary is never cut
    small = comment.compose(findings[:1], SemanticDiff("main", "HEAD", changes[:3]))
    assert "省略了" not in small
