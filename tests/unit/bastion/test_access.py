"""Bastion access from the forms (pure): who, which target, until when, and why not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cgcloud import clock
from cgcloud.bastion import access, authorized_keys
from cgcloud.validate import validate

POLICIES = Path(__file__).resolve().parents[3] / "policies"


def state_at(when: str, root: Path = POLICIES) -> access.AccessState:
    now = clock.now_local(when)
    v = validate([root], now)
    assert not [f for f in v.findings if f.severity.value == "error"]
    return access.compute(v.repo, now)


def test_example_grants_ssh_rows_from_each_bastion_in_the_high_risk_window() -> None:
    s = state_at("2027-01-05T10:00")
    gov = s.bastions["172.21.0.10"].accounts
    web = s.bastions["172.20.0.10"].accounts
    assert sorted(gov) == sorted(web) == ["lisi", "zhoujiu"]
    assert gov["lisi"].targets == [("172.21.4.21", 22), ("172.21.4.22", 22)]
    assert web["lisi"].targets == [("172.20.4.11", 22), ("172.20.4.12", 22)]
    assert gov["lisi"].name == "李四" and gov["lisi"].projects == ["KT-2027-0003"]
    # the window 2027-01-01..01-31 ends at 02-01 00:00 Shanghai = 01-31 16:00 UTC
    assert gov["lisi"].expiry == datetime(2027, 1, 31, 16, 0, tzinfo=UTC)
    assert [(g.form, g.row) for g in gov["lisi"].grants] == [("WL-2026-0031", 8)] * 2
    # the placeholder target is named, not silently dropped
    assert any("智慧城管-数据库" in n for n in s.notes)


@pytest.mark.parametrize(
    ("when", "words"),
    [("2026-12-20", "尚未开始"), ("2027-02-01T00:00", "已结束")],
)
def test_outside_the_window_nothing_is_granted_and_check_says_why(when: str, words: str) -> None:
    s = state_at(when)
    assert all(not b.accounts for b in s.bastions.values())
    why = access.check(s, "lisi", "172.21.4.21", 22)
    assert isinstance(why, str) and words in why and "第8行" in why


def test_last_second_of_the_window_is_inside() -> None:
    s = state_at("2027-01-31T23:59:59")
    assert "lisi" in s.bastions["172.21.0.10"].accounts


def test_check_by_login_or_name_and_refusals() -> None:
    s = state_at("2027-01-05")
    ok = access.check(s, "李四", "172.21.4.22", 22)
    assert not isinstance(ok, str) and ok[0] == "172.21.0.10" and ok[1].row == 8
    no_row = access.check(s, "lisi", "172.21.4.23", 22)
    assert isinstance(no_row, str) and "没有从堡垒机到 172.21.4.23" in no_row
    rdp = access.check(s, "lisi", "172.21.4.21", 3389)
    assert isinstance(rdp, str) and "TCP3389" in rdp
    stranger = access.check(s, "wangwu", "172.21.4.21", 22)
    assert isinstance(stranger, str) and "没有可用的堡垒机账号" in stranger


def _copy(tmp_path: Path) -> Path:
    import shutil

    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    return root


def test_unsigned_project_grants_nothing(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pa = root / "智慧城管综合平台" / "project-application.yaml"
    text = pa.read_text("utf-8")
    pa.write_text(
        text.replace("cloud_provider:  {by: 武汉云, date: 2026-11-24}", "cloud_provider: null"),
        "utf-8",
    )
    now = clock.now_local("2027-01-05")
    s = access.compute(validate([root], now).repo, now)
    assert all(not b.accounts for b in s.bastions.values())
    why = access.check(s, "lisi", "172.21.4.21", 22)
    assert isinstance(why, str) and "尚未四方签字" in why


def test_render_is_what_the_bastion_needs() -> None:
    s = state_at("2027-01-05")
    account = s.bastions["172.21.0.10"].accounts["lisi"]
    text = authorized_keys.render(account)
    assert authorized_keys.is_managed(text)
    (line,) = [ln for ln in text.splitlines() if not ln.startswith("#")]
    opts, key_type, blob, comment = line.split(" ")
    assert opts == (
        'restrict,port-forwarding,command="/bin/false",permitopen="172.21.4.21:22",'
        'permitopen="172.21.4.22:22",expiry-time="20270131160000Z"'
    )
    assert (key_type, comment) == ("ssh-ed25519", "cgcloud:lisi")
    assert f"{key_type} {blob}" == account.keys[0].openssh  # the form's comment is not copied


def test_expiry_time_is_utc_with_z() -> None:
    shanghai = datetime(2027, 2, 1, 0, 0, tzinfo=clock.TZ)
    assert authorized_keys.expiry_time(shanghai) == "20270131160000Z"
    with pytest.raises(ValueError):
        authorized_keys.expiry_time(datetime(2027, 2, 1))


def test_diff_create_update_delete_drift_and_foreign() -> None:
    s = state_at("2027-01-05")
    want = s.bastions["172.21.0.10"]
    lisi = authorized_keys.render(want.accounts["lisi"])
    have = authorized_keys.ActualBastion(
        "172.21.0.10",
        managed={
            "lisi": lisi + "ssh-ed25519 AAAAhand added\n",
            "gone": authorized_keys.HEADER + "\nrestrict ssh-ed25519 AAAAold cgcloud:gone\n",
        },
        foreign={"zhoujiu"},
    )
    changes = {c.login: c for c in authorized_keys.diff(want, have)}
    assert changes["lisi"].action == "update"
    assert changes["lisi"].drift == ("ssh-ed25519 AAAAhand added",) and changes["lisi"].text == lisi
    assert changes["gone"].action == "delete"
    assert changes["zhoujiu"].action == "conflict"
    # equal files: nothing to do
    same = authorized_keys.ActualBastion(
        "172.21.0.10",
        managed={login: authorized_keys.render(a) for login, a in want.accounts.items()},
    )
    assert authorized_keys.diff(want, same) == []
