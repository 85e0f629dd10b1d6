"""The forms against a cloud's rules: pure logic over hand-built actual state (the real
cloud is tests/integration/test_reach_cloud.py)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cgcloud import clock, desired, grammar
from cgcloud import plan as p
from cgcloud.reach import compare, exposure, render
from cgcloud.reach.cache import build
from cgcloud.reach.cloud import view
from cgcloud.reach.index import Endpoint, Service

EXAMPLE = Path(__file__).resolve().parents[2] / "policies"
SYSTEM = "智慧城管综合平台"
NOW = clock.now_local("2027-01-15T10:00")
ip = grammar.ip_to_int


def cloud(*extra_rules: p.ARule, db_port: bool = False) -> p.ActualState:
    """A managed project with the web host 172.20.4.11 in cgcloud's group (TCP443 from
    anywhere, TCP22 from the bastion) and in its project's default group."""
    a = p.ActualState()
    a.projects = [p.AProject("P", SYSTEM, [desired.MANAGED_TAG, desired.SYSTEM_TAG + SYSTEM])]
    a.groups = [
        p.AGroup("G", "cg-web", "P", description=desired.GROUP_TAG + "0123456789abcdef x"),
        p.AGroup("D", "default", "P"),
        p.AGroup("F", "hand-made", "P"),
    ]
    a.rules = [
        p.ARule(
            "r1",
            "G",
            "ingress",
            "IPv4",
            "tcp",
            443,
            443,
            "0.0.0.0/0",
            description="cgcloud WL-2026-0031#1 until 2027-12-31",
        ),
        p.ARule(
            "r2",
            "G",
            "ingress",
            "IPv4",
            "tcp",
            22,
            22,
            "172.20.0.10/32",
            description="cgcloud WL-2026-0031#7 until 2027-01-31",
        ),
    ]
    a.foreign_rules = [
        p.ARule("d1", "D", "ingress", "IPv4", remote_group_id="D"),
        p.ARule("d2", "D", "egress", "IPv4"),
        *extra_rules,
    ]
    a.ports = [p.APort("port-web", "P", ["172.20.4.11"], ["G", "D", "F"], name="web")]
    if db_port:
        a.ports.append(
            p.APort(
                "port-db",
                "P",
                ["172.21.4.30"],
                ["D"],
                tags=[desired.PLACEHOLDER_TAG + "智慧城管-数据库"],
            )
        )
    return a


def test_a_cloud_that_matches_the_forms_has_no_unauthorised_rule() -> None:
    index = build([EXAMPLE])
    diff = compare.difference(index, view(cloud()), NOW, Endpoint("", ip=ip("172.20.4.11")))
    assert diff.unauthorised == []
    assert {
        (v.fact.rule_id, tuple(f"{g.form}#{g.row}" for g in v.rows)) for v in diff.verdicts
    } == {("r1", ("WL-2026-0031#1",)), ("r2", ("WL-2026-0031#7",))}
    assert diff.gaps == []  # both rows to this host are carried


def test_a_hand_made_rdp_rule_to_the_world_is_unauthorised_exposure() -> None:
    index = build([EXAMPLE])
    rdp = p.ARule("x", "F", "ingress", "IPv4", "tcp", 3389, 3389, "0.0.0.0/0")
    diff = compare.difference(index, view(cloud(rdp)), NOW, Endpoint("", ip=ip("172.20.4.11")))
    (bad,) = diff.unauthorised
    assert (bad.fact.rule_id, bad.fact.managed, bad.fact.group_name) == ("x", False, "hand-made")
    assert bad.uncovered == ["TCP3389 来自 0.0.0.0/0"]
    # asked about another port, the rule is out of scope
    narrow = compare.difference(
        index, view(cloud(rdp)), NOW, Endpoint("", ip=ip("172.20.4.11")), Service("tcp", 443)
    )
    assert narrow.unauthorised == []
    # and --exposed files it under the system
    (se,) = [
        s
        for s in exposure.exposure(index, NOW, compare.difference(index, view(cloud(rdp)), NOW))
        if s.system == SYSTEM
    ]
    assert [v.fact.rule_id for v in se.cloud if not v.authorised] == ["x"]
    # rendered, the rule says what it exposes
    data = render.answer(index, NOW, {"exposed": True}, exposed=[se])
    (rdp_rule,) = [v for v in data["exposed"][0]["cloud"] if v["rule_id"] == "x"]
    assert rdp_rule["remote_admin"] == ["RDP"] and not rdp_rule["authorised"]
    assert "RDP 暴露" in render.render(data, "text")


def test_a_rule_wider_than_its_row_is_unauthorised_for_the_difference_only() -> None:
    index = build([EXAMPLE])
    ssh = p.ARule("w", "F", "ingress", "IPv4", "tcp", 20, 23, "172.20.0.0/24")
    diff = compare.difference(index, view(cloud(ssh)), NOW, Endpoint("", ip=ip("172.20.4.11")))
    (bad,) = diff.unauthorised
    assert bad.uncovered == [
        "TCP20-21 来自 172.20.0.0/24",
        "TCP22 来自 172.20.0.0/29, 172.20.0.8/31, "
        "172.20.0.11/32, 172.20.0.12/30, 172.20.0.16/28, 172.20.0.32/27, "
        "172.20.0.64/26, 172.20.0.128/25",
        "TCP23 来自 172.20.0.0/24",
    ]


def test_after_the_window_the_same_rule_is_unauthorised() -> None:
    index = build([EXAMPLE])
    later = clock.now_local("2027-02-01T00:00")
    diff = compare.difference(index, view(cloud()), later, Endpoint("", ip=ip("172.20.4.11")))
    assert [v.fact.rule_id for v in diff.unauthorised] == ["r2"]  # SSH closed on 01-31


def test_rows_without_a_host_are_pending_and_missing_rules_are_reported() -> None:
    index = build([EXAMPLE])
    diff = compare.difference(
        index, view(cloud()), NOW, Endpoint("", placeholder="智慧城管-数据库")
    )
    assert {(g.grant.row, g.state) for g in diff.gaps} == {
        (4, "pending"),
        (9, "pending"),
        (10, "pending"),
    }
    # the database has a port now, but none of cgcloud's rules is on it yet
    diff = compare.difference(
        index, view(cloud(db_port=True)), NOW, Endpoint("", placeholder="智慧城管-数据库")
    )
    assert {(g.grant.row, g.state, g.host) for g in diff.gaps} == {
        (4, "missing", "172.21.4.30"),
        (9, "missing", "172.21.4.30"),
        (10, "missing", "172.21.4.30"),
    }


def test_the_default_group_lets_the_projects_other_hosts_in() -> None:
    """Neutron's default group (remote: itself) opens every port to the project's other
    ports: reach reports it, since no row approves it."""
    index = build([EXAMPLE])
    diff = compare.difference(
        index, view(cloud(db_port=True)), NOW, Endpoint("", ip=ip("172.20.4.11"))
    )
    (bad,) = diff.unauthorised
    assert (bad.fact.rule_id, bad.fact.remote_text) == ("d1", "group default (1)")


ranges = st.lists(
    st.tuples(st.integers(0, 300), st.integers(0, 40)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=4,
).map(grammar.merge_ranges)


@given(
    need=ranges,
    offers=st.lists(st.tuples(st.integers(1, 60), st.integers(0, 20), ranges), max_size=4),
    port=st.integers(1, 90),
)
def test_coverage_is_exact_over_unions(need: compare.Ranges, offers: list, port: int) -> None:
    """A port/address pair is left uncovered exactly when no offer holds both."""
    offered = [("tcp", lo, lo + n, r) for lo, n, r in offers]
    gaps = compare.uncovered("tcp", 1, 90, need, offered)
    for addr in {lo for lo, _hi in need} | {hi for _lo, hi in need}:
        held = any(
            lo <= port <= hi and any(a <= addr <= b for a, b in r) for _p, lo, hi, r in offered
        )
        in_gap = any(lo <= port <= hi and any(a <= addr <= b for a, b in r) for lo, hi, r in gaps)
        assert held != in_gap


def test_an_approved_row_the_cloud_lacks_is_missing_on_its_systems_host_only() -> None:
    index = build([EXAMPLE])
    a = cloud()
    a.rules = [r for r in a.rules if r.id != "r1"]  # HTTPS from anywhere is gone
    a.projects.append(p.AProject("Q", "other"))
    a.ports.append(p.APort("port-other", "Q", ["172.20.4.12"], []))  # not the system's host
    diff = compare.difference(index, view(a), NOW)
    assert [(g.grant.row, g.state, g.host, g.detail) for g in diff.gaps if g.grant.row == 1] == [
        (1, "missing", "172.20.4.11", "云中未放行: TCP443 来自 0.0.0.0/0")
    ]


def test_from_the_public_zone_means_public_addresses_only() -> None:
    index = build([EXAMPLE])
    public = Endpoint("互联网公网", zone="public")
    private = p.ARule("y", "F", "ingress", "IPv4", "tcp", 3389, 3389, "10.1.0.0/16")
    diff = compare.difference(index, view(cloud(private)), NOW, source=public)
    assert diff.unauthorised == []  # 10.1.0.0/16 is not a public address
    world = p.ARule("x", "F", "ingress", "IPv4", "tcp", 3389, 3389, "0.0.0.0/0")
    diff = compare.difference(index, view(cloud(world)), NOW, source=public)
    (bad,) = diff.unauthorised
    assert bad.fact.rule_id == "x" and "10.0.0.0/8" not in bad.uncovered[0]
