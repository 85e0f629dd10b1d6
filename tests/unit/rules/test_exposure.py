"""CG320: hosts exposed to 互联网公网 vs. the approved public_ip count (附件2 注4)."""

from __future__ import annotations

from formtexts import HIGH_RISK_PORTS, application, approvals, plan, policy, row

from cgcloud.findings import Severity

PUB = "互联网公网"
NET = "互联网区"


def web(target: str, port: str = "TCP443") -> str:
    return row(PUB, "0.0.0.0", NET, target, port)


def setup(repo, rows, *, public_ip=2, normal=("2026-12-01", "2027-11-30"), **app):
    resources = (
        "{type: server, vcpu: 8, memory_gb: 16, system_disk_gb: 100, count: 2}",
        f"{{type: public_ip, count: {public_ip}}}",
    )
    repo.write("app.yaml", application(resources=resources, **app))
    repo.write("plan.yaml", plan())
    repo.write("high-risk-ports.yaml", HIGH_RISK_PORTS)
    repo.write("network.yaml", policy(rows, normal=normal))


def test_hosts_within_the_approved_count_pass(policy_repo):
    setup(
        policy_repo,
        [
            web("172.20.4.11、172.20.4.12"),
            web("172.20.4.11", "TCP80"),  # same host again: counted once
            row(NET, "172.20.4.11-12", PUB, "0.0.0.0", "/"),  # default egress (outbound)
            row(
                "政务外网骨干网", "10.19.0.0/16", "政务外网区", "172.21.4.21", "TCP443"
            ),  # not counted
        ],
    )
    assert policy_repo.findings("CG320") == []


def test_one_host_too_many_points_at_the_row_that_goes_over(policy_repo):
    setup(policy_repo, [web("172.20.4.11"), web("172.20.4.12"), web("172.20.4.13")])
    found = policy_repo.findings("CG320")
    assert [(f.rule, f.severity, f.line) for f in found] == [
        ("CG320", Severity.ERROR, policy_repo.line("network.yaml", "172.20.4.13"))
    ]
    assert "2027" in found[0].message and "2 个" in found[0].message


def test_a_cidr_target_counts_every_address(policy_repo):
    setup(policy_repo, [web("172.20.4.12"), web("172.20.4.0/30")], public_ip=4)
    found = policy_repo.findings("CG320")
    assert [(f.severity, f.line) for f in found] == [
        (Severity.ERROR, policy_repo.line("network.yaml", "172.20.4.0/30"))
    ]


def test_a_placeholder_counts_as_one_host(policy_repo):
    setup(policy_repo, [web("智慧城管-门户"), web("智慧城管-门户", "TCP80"), web("172.20.4.11")])
    assert policy_repo.findings("CG320") == []
    setup(policy_repo, [web("智慧城管-门户"), web("172.20.4.11")], public_ip=1)
    assert [f.line for f in policy_repo.findings("CG320")] == [
        policy_repo.line("network.yaml", "172.20.4.11")
    ]


def test_a_huge_target_is_counted_quickly(policy_repo):
    setup(policy_repo, [web("172.20.0.0/16")])
    found = policy_repo.findings("CG320")
    assert [f.line for f in found] == [policy_repo.line("network.yaml", "172.20.0.0/16")]


def test_a_pending_application_grants_no_public_ip(policy_repo):
    setup(policy_repo, [web("172.20.4.11")], boxes=approvals(final=None))
    found = policy_repo.findings("CG320")
    assert [(f.severity, f.line) for f in found] == [
        (Severity.ERROR, policy_repo.line("network.yaml", "172.20.4.11"))
    ]


def test_rows_of_a_past_period_do_not_count(policy_repo):
    setup(
        policy_repo,
        [web("172.20.4.11"), web("172.20.4.12"), web("172.20.4.13")],
        normal=("2026-01-01", "2026-06-30"),
    )
    assert policy_repo.findings("CG320") == []


def test_each_year_in_force_is_checked_against_its_own_forms(policy_repo):
    small = (
        "{type: server, vcpu: 8, memory_gb: 16, system_disk_gb: 100, count: 2}",
        "{type: public_ip, count: 1}",
    )
    policy_repo.write("app-2026.yaml", application("ZY-2026-0001", year=2026, resources=small))
    policy_repo.write("plan-2026.yaml", plan(2026))
    three = [web("172.20.4.11"), web("172.20.4.12"), web("172.20.4.13")]
    # 2027 rows: the 2027 form (3 public IPs) governs them, the 2026 form does not
    setup(policy_repo, three, public_ip=3, normal=("2027-01-01", "2027-12-31"))
    assert policy_repo.findings("CG320") == []
    # rows that start in December 2026 must also fit the 2026 form's single IP
    setup(policy_repo, three, public_ip=3, normal=("2026-12-01", "2027-11-30"))
    found = policy_repo.findings("CG320")
    assert [(f.line, "2026" in f.message) for f in found] == [
        (policy_repo.line("network.yaml", "172.20.4.12"), True)
    ]
