"""`cgcloud recertify` in a real git repository: the list, and --write's branch of drafts."""

from __future__ import annotations

import json
from datetime import date

from cgcloud import clock
from cgcloud.gitops.recertify import next_end
from tests.gitops.conftest import Repo

NPR = "policies/智慧城管综合平台/network-policy.R20270201.yaml"


def test_lists_what_expires_within_the_horizon(repo: Repo) -> None:
    out = json.loads(
        repo.cgcloud("recertify", "--now", "2027-01-10", "--days", "30", "-f", "json").stdout
    )
    assert [(e["form"], e["kind"], e["ends"], e["days_left"]) for e in out["expiring"]] == [
        ("WL-2026-0031", "high_risk", "2027-01-31", 21)
    ]
    assert out["expiring"][0]["next"] == {
        "start": "2027-02-01",
        "end": "2027-02-28",
    }  # one calendar month
    short = json.loads(
        repo.cgcloud("recertify", "--now", "2027-01-10", "--days", "20", "-f", "json").stdout
    )
    assert short["expiring"] == []
    year_end = json.loads(repo.cgcloud("recertify", "--now", "2027-12-10", "-f", "json").stdout)
    kinds = {(e["form"], e["kind"]): e["next"] for e in year_end["expiring"]}
    assert kinds[("WL-2026-0031", "normal")] == {
        "start": "2028-01-01",
        "end": "2028-12-31",
    }  # leap year: a year
    assert kinds[("ZY-2027-0001", "annual")] == {"start": "2028-01-01", "end": "2028-12-31"}


def test_next_period_keeps_whole_months_or_days() -> None:
    assert next_end(clock.Window(date(2027, 1, 1), date(2027, 12, 31)), date(2028, 1, 1)) == date(
        2028, 12, 31
    )
    assert next_end(clock.Window(date(2027, 1, 5), date(2027, 1, 14)), date(2027, 1, 15)) == date(
        2027, 1, 24
    )


def test_write_creates_a_branch_of_unsigned_drafts_without_touching_the_work_tree(
    repo: Repo,
) -> None:
    (repo.path / "untracked.txt").write_text("本地未提交的内容\n", encoding="utf-8")
    before_head = repo.git("rev-parse", "HEAD")
    done = repo.cgcloud(
        "recertify", "--now", "2027-01-10", "--write", "--branch", "recertify/2027-02"
    )
    assert done.returncode == 0, done.stderr
    assert repo.git("rev-parse", "HEAD") == before_head
    assert repo.git("status", "--porcelain").strip() == "?? untracked.txt"
    assert repo.git("rev-list", "--count", "change..recertify/2027-02").strip() == "1"
    assert (
        repo.git("-c", "core.quotepath=off", "diff", "--name-only", "change", "recertify/2027-02")
        .strip()
        .endswith("network-policy.R20270201.yaml")
    )
    again = repo.cgcloud(
        "recertify", "--now", "2027-01-10", "--write", "--branch", "recertify/2027-02"
    )
    assert again.returncode == 64 and "已存在" in again.stderr

    # the reviewers' side: check the branch out, see the drafts need signatures, sign, validate
    repo.git("checkout", "-q", "recertify/2027-02")
    draft = (repo.path / NPR).read_text(encoding="utf-8")
    assert "WL-2026-0031-R20270201" in draft and '"2027-02-28"' in draft and "TCP3306" in draft
    assert "TCP443" not in draft  # only the expiring (high-risk) rows are renewed
    unsigned = repo.cgcloud("validate", "policies", "--now", "2027-01-20")
    assert unsigned.returncode == 1 and "CG304" in unsigned.stdout
    repo.replace(
        NPR,
        "reviewers: {cloud_resource_manager: null, business_leader: null, cloud_resource_leader: null}",
        "reviewers: {cloud_resource_manager: {by: 钱七, date: 2027-01-20}, business_leader: {by: 王五, date: 2027-01-20},"
        " cloud_resource_leader: {by: 吴十, date: 2027-01-21}}",
    )
    signed = repo.cgcloud("validate", "policies", "--now", "2027-01-25")
    assert signed.returncode == 0, signed.stdout
    diff = repo.cgcloud("diff", "change", "policies", "-f", "json")
    assert diff.returncode == 2  # a change, no stale approvals
    assert {c["kind"] for c in json.loads(diff.stdout)["changes"]} >= {
        "form-added",
        "high-risk-extended",
    }


def test_nothing_to_write(repo: Repo) -> None:
    done = repo.cgcloud("recertify", "--now", "2027-03-10", "--days", "5", "--write")
    assert done.returncode == 0 and "没有到期" in done.stdout
    assert "recertify" not in repo.git("branch")


def test_the_end_of_the_calendar_and_a_huge_horizon(repo: Repo) -> None:
    """docs/reliability.md §2: `--days 1000000000` and a period ending 9999-12-31 give an
    answer (nothing to renew after the calendar ends), not an OverflowError."""
    done = repo.cgcloud("recertify", "--now", "2027-01-10", "--days", "1000000000", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["expiring"]
    assert next_end(clock.Window(date(9999, 1, 1), date(9999, 12, 31)), date.max) == date.max
