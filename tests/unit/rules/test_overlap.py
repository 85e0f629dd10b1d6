"""CG331 (same row twice) and CG330 (row fully covered by another) — rule 7."""

from __future__ import annotations

from formtexts import HIGH_RISK_PORTS, application, plan, policy, row

from cgcloud import clock
from cgcloud.findings import Severity
from cgcloud.rules import overlap
from cgcloud.rules.base import Context
from cgcloud.validate import load_repository

GOV, NET = "政务外网区", "互联网区"


def setup(repo, rows, **kw):
    repo.write("app.yaml", application())
    repo.write("plan.yaml", plan())
    repo.write("high-risk-ports.yaml", HIGH_RISK_PORTS)
    repo.write("network.yaml", policy(rows, **kw))


# --------------------------------------------------------------------------- CG331


def test_the_same_row_written_differently_is_a_duplicate(policy_repo):
    setup(
        policy_repo,
        [
            row(GOV, "172.21.4.21-22", NET, "172.20.4.11", "TCP 8080"),
            row(GOV, "172.21.4.21、172.21.4.22", NET, "172.20.4.11", "tcp8080"),
        ],
    )
    found = policy_repo.findings("CG331")
    assert [(f.rule, f.severity, f.line) for f in found] == [
        ("CG331", Severity.ERROR, policy_repo.line("network.yaml", "tcp8080"))
    ]
    assert policy_repo.findings("CG330") == []  # a duplicate is not also "shadowed"


def test_rows_that_differ_in_one_cell_are_not_duplicates(policy_repo):
    setup(
        policy_repo,
        [
            row(GOV, "172.21.4.21-22", NET, "172.20.4.11", "TCP8080"),
            row(GOV, "172.21.4.21-22", NET, "172.20.4.11", "UDP8080"),
            row(GOV, "172.21.4.21-22", NET, "172.20.4.12", "TCP8080"),
        ],
    )
    assert policy_repo.findings("CG331") == []
    assert policy_repo.findings("CG330") == []


def test_a_duplicate_across_two_forms_of_one_system(policy_repo):
    r = row(GOV, "172.21.4.21", NET, "172.20.4.11", "TCP8080")
    setup(policy_repo, [r])
    policy_repo.write("network-2.yaml", policy([r], form_id="WL-2026-0032"))
    found = policy_repo.findings("CG331")
    # files are read in sorted order: network-2.yaml first, so network.yaml holds the second
    assert [(f.file.rsplit("/", 1)[-1], f.severity, f.line) for f in found] == [
        ("network.yaml", Severity.ERROR, policy_repo.line("network.yaml", "172.20.4.11"))
    ]
    assert "WL-2026-0032" in found[0].message


def test_other_systems_and_renewals_in_other_periods_are_not_duplicates(policy_repo):
    r = row(GOV, "172.21.4.21", NET, "172.20.4.11", "TCP8080")
    setup(policy_repo, [r])
    policy_repo.write("other.yaml", policy([r], form_id="WL-2026-0040", system="别的系统"))
    policy_repo.write(
        "renewal.yaml", policy([r], form_id="WL-2027-0001", normal=("2027-12-01", "2028-11-30"))
    )
    assert policy_repo.findings("CG331") == []
    assert policy_repo.findings("CG330") == []


# --------------------------------------------------------------------------- CG330


def test_a_row_covered_by_a_wider_one_is_shadowed(policy_repo):
    setup(
        policy_repo,
        [
            row(GOV, "172.21.4.0/24", NET, "172.20.4.0/24", "TCP8000-8100"),
            row(GOV, "172.21.4.21", NET, "172.20.4.11", "TCP8080"),
        ],
    )
    found = policy_repo.findings("CG330")
    assert [(f.rule, f.severity, f.line) for f in found] == [
        ("CG330", Severity.WARNING, policy_repo.line("network.yaml", "172.21.4.21"))
    ]
    assert "第1行" in found[0].message


def test_the_covering_row_may_come_later(policy_repo):
    setup(
        policy_repo,
        [
            row(GOV, "172.21.4.21", NET, "172.20.4.11", "TCP8080"),
            row(GOV, "172.21.4.21", NET, "172.20.4.11", "ICMP"),
            row(GOV, "172.21.4.0/24", NET, "172.20.4.11-12", "TCP8000-9000,ICMP"),
        ],
    )
    found = policy_repo.findings("CG330")
    assert sorted(f.line for f in found) == [
        policy_repo.line("network.yaml", "TCP8080"),
        policy_repo.line("network.yaml", "ICMP"),
    ]


def test_partial_overlap_is_not_shadowing(policy_repo):
    setup(
        policy_repo,
        [
            row(GOV, "172.21.4.0/25", NET, "172.20.4.0/24", "TCP8000-8100"),
            row(GOV, "172.21.4.100-200", NET, "172.20.4.11", "TCP8080"),  # source half outside
            row(GOV, "172.21.4.21", NET, "172.20.4.11", "TCP8000-9000"),  # ports wider
            row(GOV, "172.21.4.21", NET, "172.20.3.255-172.20.4.1", "TCP8080"),  # target wider
            row(NET, "172.20.4.0/24", GOV, "172.21.4.21", "TCP8080"),  # other direction
        ],
    )
    assert policy_repo.findings("CG330") == []


def test_a_shorter_window_does_not_cover_a_longer_one(policy_repo):
    r = row(GOV, "172.21.4.21", NET, "172.20.4.11", "TCP8080")
    setup(policy_repo, [r], normal=("2026-12-01", "2026-12-31"))
    policy_repo.write(
        "longer.yaml", policy([r], form_id="WL-2026-0050", normal=("2026-12-01", "2027-11-30"))
    )
    found = policy_repo.findings("CG330")
    # the December-only row (network.yaml) is covered by the year-long one, not the reverse
    assert [(f.file.rsplit("/", 1)[-1], f.severity, f.line) for f in found] == [
        ("network.yaml", Severity.WARNING, policy_repo.line("network.yaml", "172.20.4.11"))
    ]


def test_shadowing_is_not_pairwise_for_many_rows(policy_repo, monkeypatch):
    """5,000 rows to distinct hosts: the number of cover checks stays linear."""
    rows = [
        row(GOV, "172.21.4.21", NET, f"172.20.{i // 250}.{i % 250 + 1}", f"TCP{8000 + i % 7}")
        for i in range(5000)
    ]
    setup(policy_repo, rows)
    repo, _, _ = load_repository([policy_repo.root])
    calls = 0
    real = overlap._covers

    def counting(a, b):
        nonlocal calls
        calls += 1
        return real(a, b)

    monkeypatch.setattr(overlap, "_covers", counting)
    ctx = Context(repo=repo, now=clock.now_local("2026-11-25T10:00"))
    assert list(overlap.check_shadowed(ctx)) == []
    assert calls < 5 * len(rows)


def test_shadowing_found_in_a_large_bucket_of_rows_to_one_host(policy_repo):
    """More than BIG_BUCKET rows to one host take the split (source slot, protocol) path."""
    rows = [row(GOV, f"172.21.{i}.5", NET, "172.20.4.11", "TCP8080") for i in range(1, 40)]
    rows.insert(0, row(GOV, "172.21.7.0/24", NET, "172.20.4.11", "TCP8000-8090"))
    setup(policy_repo, rows)
    assert len(rows) > overlap.BIG_BUCKET
    found = policy_repo.findings("CG330")
    assert [f.line for f in found] == [policy_repo.line("network.yaml", "172.21.7.5")]
    assert all(f.severity is Severity.WARNING for f in found)
