"""`cgcloud diff` and `validate --base` in a real git repository (branch, edit, commit, run)."""

from __future__ import annotations

import json

from tests.gitops.conftest import NP, RA, Repo

SSH_ROW = "    - {from: 互联网区, source: 172.20.0.10, to: 互联网区, target: 172.20.4.11-12, port: TCP22, note: 堡垒机运维 Web 前端}\n"
PORTAL = "port: TCP443, note: 市民访问门户}"


def kinds(out: str) -> list[str]:
    return [c["kind"] for c in json.loads(out)["changes"]]


def test_reordered_and_recommented_rows_are_no_change(repo: Repo) -> None:
    def shuffle(text: str) -> str:
        lines = text.splitlines(keepends=True)
        rows = [i for i, line in enumerate(lines) if line.startswith("    - {from:")]
        first, last = rows[0], rows[-1]
        lines[first], lines[last] = lines[last], lines[first]
        return (
            "".join(lines)
            .replace("# 市民通过互联网访问", "# 市民经互联网访问")
            .replace("note: 市民访问门户", "note: 市民访问门户网站")
        )

    repo.edit(NP, shuffle)
    repo.commit("调整行序与注释")
    done = repo.cgcloud("diff", "main", "HEAD", "policies")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "没有语义变化" in done.stdout


def test_grant_widen_revoke_and_high_risk_window(repo: Repo) -> None:
    repo.replace(NP, PORTAL, 'port: "TCP443,8443", note: 市民访问门户}')
    repo.replace(NP, SSH_ROW, "")
    repo.replace(
        NP,
        "period: {start: 2027-01-01, end: 2027-01-31}",
        "period: {start: 2027-01-05, end: 2027-02-04}",
    )
    repo.edit(
        NP,
        lambda t: (
            t
            + "    - {from: 互联网公网, source: 58.33.33.33-40, to: 互联网区, target: 172.20.4.11, port: TCP8080}\n"
        ),
    )
    repo.commit("放宽门户端口、撤销一条 SSH、调整高危使用期、新增一行")
    done = repo.cgcloud("diff", "main", "HEAD", "policies", "--format", "json")
    assert done.returncode == 1, done.stderr  # copied signatures: CG405
    data = json.loads(done.stdout)
    ks = [c["kind"] for c in data["changes"]]
    assert "access-widened" in ks and "access-granted" in ks and "access-revoked" in ks
    assert ks.count("high-risk-moved") == 3  # the three high-risk rows left, window moved
    widened = next(c for c in data["changes"] if c["kind"] == "access-widened")
    assert widened["after"]["ports"] == "TCP443,TCP8443" and widened["before"]["ports"] == "TCP443"
    revoked = next(c for c in data["changes"] if c["kind"] == "access-revoked")
    assert revoked["before"]["ports"] == "TCP22" and revoked["high_risk"] is True
    granted = next(c for c in data["changes"] if c["kind"] == "access-granted")
    assert (
        granted["after"]["source"]
        == "58.33.33.33/32、58.33.33.34/31、58.33.33.36/30、58.33.33.40/32"
    )
    assert granted["file"] == NP and granted["line"] > 40
    assert {f["rule"] for f in data["findings"]} == {"CG405"}


def test_narrowing_and_new_high_risk_row(repo: Repo) -> None:
    repo.replace(NP, "source: 10.19.0.0/16", "source: 10.19.0.0/24")
    repo.edit(
        NP,
        lambda t: (
            t
            + "    - {from: 政务外网区, source: 172.21.3.0/24, to: 政务外网区, target: 172.21.4.21, port: TCP3306}\n"
        ),
    )
    repo.commit("收窄区县访问，新增数据库高危行")
    out = repo.cgcloud("diff", "main", "HEAD", "policies", "-f", "json").stdout
    assert "access-narrowed" in kinds(out)
    assert "high-risk-opened" in kinds(out)


def test_resources_up_and_shutdown_added(repo: Repo) -> None:
    repo.replace(RA, "count: 2}", "count: 3}")
    (repo.path / "policies/智慧城管综合平台/shutdown-notice.yaml").write_text(
        """apiVersion: cgcloud/v1
kind: ShutdownNotice
metadata: {id: GT-2027-0099, system: 智慧城管综合平台}
spec:
  hosts: [172.20.4.11]
  tech_division:     {by: 钱七, date: 2026-11-25}
  business_division: {by: 王五, date: 2026-11-26, shutdown_date: 2027-03-15, prepare_by: 2027-03-14}
""",
        encoding="utf-8",
    )
    repo.commit("扩容并新增关停")
    done = repo.cgcloud("diff", "main", "HEAD", "policies")
    assert "批准资源增加" in done.stdout
    assert "新增关停" in done.stdout and "2027-03-15" in done.stdout and "2027-03-23" in done.stdout
    data = json.loads(repo.cgcloud("diff", "main", "HEAD", "policies", "-f", "json").stdout)
    up = next(c for c in data["changes"] if c["kind"] == "resources-up")
    assert up["after"]["quantity"] == up["before"]["quantity"] + 1


def test_copied_signature_is_flagged_and_a_new_one_is_not(repo: Repo) -> None:
    repo.replace(NP, PORTAL, "port: TCP443、8443, note: 市民访问门户}")
    repo.commit("改端口，签字照抄")
    copied = repo.cgcloud("validate", "policies", "--base", "main", "--now", "2026-12-01")
    assert copied.returncode == 1
    assert "CG405" in copied.stdout and "审核人1 云资源管理人" in copied.stdout
    assert "CG405" not in repo.cgcloud("validate", "policies", "--now", "2026-12-01").stdout
    # a normal row changed: only 审核人1 approves normal rows
    assert copied.stdout.count("CG405") == 1
    repo.replace(
        NP,
        "cloud_resource_manager: {by: 钱七, date: 2026-11-20}",
        "cloud_resource_manager: {by: 钱七, date: 2026-11-27}",
    )
    repo.commit("审核人1 重新签字")
    renewed = repo.cgcloud("validate", "policies", "--base", "main", "--now", "2026-12-01")
    assert "CG405" not in renewed.stdout, renewed.stdout
    assert renewed.returncode == 0, renewed.stdout


def test_worktree_head_and_path_as_second_argument(repo: Repo) -> None:
    repo.replace(NP, PORTAL, "port: TCP8443, note: 市民访问门户}")
    done = repo.cgcloud("diff", "main", "policies")  # HEAD omitted: the files on disk
    assert done.returncode == 1  # CG405: content changed under copied signatures
    assert "访问变更" in done.stdout and "工作区" in done.stdout


def test_usage_errors(repo: Repo) -> None:
    done = repo.cgcloud("diff", "no-such-branch", "HEAD", "policies")
    assert done.returncode == 64 and "no-such-branch" in done.stderr
    assert "Traceback" not in done.stderr


def test_form_added_and_broken_head_is_not_silent(repo: Repo) -> None:
    repo.replace(NP, PORTAL, "port: TCP443,8443, note: 市民访问门户}")  # YAML-level mistake
    repo.commit("写坏")
    done = repo.cgcloud("diff", "main", "HEAD", "policies")
    assert done.returncode == 1
    assert "无法读取" in done.stdout and "CG011" in done.stdout
