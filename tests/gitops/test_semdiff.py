"""The semantic diff and CG405 on loaded repositories (pure logic, no git)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from cgcloud import validate as pipeline
from cgcloud.gitops import semdiff
from tests.gitops.conftest import NP, RA, ROOT

SD = "policies/旧版数字城管系统/shutdown-notice.yaml"


def load(root: Path) -> semdiff.model.Repository:
    repo, _findings, _files = pipeline.load_repository([root / "policies"])
    return repo


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a", tmp_path / "b"
    for t in (a, b):
        shutil.copytree(ROOT / "policies", t / "policies")
    return a, b


def edit(root: Path, rel: str, old: str, new: str) -> None:
    p = root / rel
    text = p.read_text(encoding="utf-8")
    assert old in text, old
    p.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_row_order_is_no_change(trees: tuple[Path, Path], seed: int) -> None:
    a, b = trees
    p = b / NP
    lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
    idx = [i for i, ln in enumerate(lines) if ln.startswith("    - {from:")]
    rows = [lines[i] for i in idx]
    random.Random(seed).shuffle(rows)
    for i, row in zip(idx, rows, strict=True):
        lines[i] = row
    p.write_text("".join(lines), encoding="utf-8")
    d = semdiff.diff(load(a), load(b))
    assert d.changes == [] and d.findings == []


def test_same_addresses_written_differently_is_no_change(trees: tuple[Path, Path]) -> None:
    a, b = trees
    edit(
        b,
        NP,
        "target: 172.20.4.11、172.20.4.12, port: TCP443",
        "target: 172.20.4.11-12, port: tcp 443",
    )
    assert semdiff.diff(load(a), load(b)).changes == []


def test_resource_change_under_copied_approvals(trees: tuple[Path, Path]) -> None:
    a, b = trees
    edit(b, RA, "count: 2}", "count: 4}")
    d = semdiff.diff(load(a), load(b))
    assert [c.kind for c in d.changes if c.kind.startswith("resources")] == ["resources-up"]
    boxes = sorted(f.message.split("但 ")[1].split(" 的签字")[0] for f in d.findings)
    assert boxes == ["申请处室审核", "科技处初审", "科技处复核", "科技处终审"]
    assert all(f.file.endswith(RA) for f in d.findings)


def test_shutdown_date_moved_under_copied_signatures(trees: tuple[Path, Path]) -> None:
    a, b = trees
    edit(b, SD, "shutdown_date: 2026-12-15", "shutdown_date: 2026-12-20")
    d = semdiff.diff(load(a), load(b))
    assert "shutdown-changed" in [c.kind for c in d.changes]
    assert (
        len(d.findings) == 2
    )  # 科技处 and 业务处室; the operator's box confirms, it does not approve


def test_backdated_signature_is_still_copied(trees: tuple[Path, Path]) -> None:
    a, b = trees
    edit(b, NP, "port: TCP443, note: 市民访问门户}", "port: TCP8443, note: 市民访问门户}")
    edit(
        b,
        NP,
        "cloud_resource_manager: {by: 钱七, date: 2026-11-20}",
        "cloud_resource_manager: {by: 钱七, date: 2026-11-19}",
    )
    assert [f.rule for f in semdiff.diff(load(a), load(b)).findings] == ["CG405"]


def test_contact_details_are_not_approved_content(trees: tuple[Path, Path]) -> None:
    a, b = trees
    edit(b, NP, 'phone: "13900000000"', 'phone: "13900000001"')
    d = semdiff.diff(load(a), load(b))
    assert [c.kind for c in d.changes] == ["form-changed"] and d.findings == []


def test_unchanged_forms_are_skipped_but_still_count_for_renewals(trees: tuple[Path, Path]) -> None:
    a, b = trees
    extra = b / "policies/智慧城管综合平台/network-policy-2.yaml"
    extra.write_text(
        """apiVersion: cgcloud/v1
kind: NetworkPolicy
metadata: {id: WL-2027-0100, system: 智慧城管综合平台}
spec:
  applicant: {org: 某某科技有限公司, name: 周九, phone: "13900000000"}
  normal: {reason: 续期, period: {start: 2028-01-01, end: 2028-12-31}}
  reviewers: {cloud_resource_manager: {by: 钱七, date: 2026-11-27}}
  rules:
    - {from: 互联网公网, source: 0.0.0.0, to: 互联网区, target: 172.20.4.11-12, port: TCP443}
    - {from: 互联网公网, source: 0.0.0.0, to: 互联网区, target: 172.20.4.13, port: TCP443}
""",
        encoding="utf-8",
    )
    d = semdiff.diff(load(a), load(b))
    kinds = sorted(c.kind for c in d.changes)
    # WL-2026-0031 is unchanged (skipped row by row), yet its row is found for the renewal
    assert kinds == ["access-granted", "form-added", "window-extended"], kinds
