"""CG501–CG505: pending forms, the annual plan, expand forms and lapsed quota."""

from __future__ import annotations

from formtexts import application, approvals, plan

from cgcloud.findings import Severity

SERVER = "{type: server, vcpu: 8, memory_gb: 16, system_disk_gb: 100, count: 4}"  # 32 vCPU, 400 GB
VOLUME = "{type: volume, tier: standard, size_gb: 600}"


def triples(found):
    return [(f.rule, f.severity, f.file.rsplit("/", 1)[-1], f.line) for f in found]


# --------------------------------------------------------------------------- CG501


def test_an_approved_form_is_not_pending(policy_repo):
    policy_repo.write("app.yaml", application())
    policy_repo.write("plan.yaml", plan())
    assert policy_repo.findings("CG501") == []


def test_a_form_without_final_signature_is_pending_information(policy_repo):
    policy_repo.write("app.yaml", application(boxes=approvals(final=None)))
    policy_repo.write("plan.yaml", plan())
    assert triples(policy_repo.findings("CG501")) == [
        ("CG501", Severity.INFO, "app.yaml", policy_repo.line("app.yaml", "approvals:"))
    ]


# --------------------------------------------------------------------------- CG502 / CG503


def two_forms(repo, *, vcpu_plan, second_review=None, final2="2026-11-14"):
    repo.write("plan.yaml", plan(vcpu=vcpu_plan, memory_gb=1000, disk_gb=100000))
    repo.write("a.yaml", application("ZY-2027-0001", resources=(SERVER,)))
    repo.write(
        "b.yaml",
        application(
            "ZY-2027-0002",
            system="另一个系统",
            resources=(SERVER, VOLUME),
            boxes=approvals(final=("孙八", final2)),
            expert_review=second_review,
        ),
    )


def test_a_sum_equal_to_the_plan_fits(policy_repo):
    two_forms(policy_repo, vcpu_plan=64)
    assert policy_repo.findings("CG502") == []
    assert policy_repo.findings("CG503") == []


def test_the_form_that_passes_the_plan_without_expert_review_is_an_error(policy_repo):
    two_forms(policy_repo, vcpu_plan=63)
    found = policy_repo.findings("CG502")
    assert triples(found) == [
        ("CG502", Severity.ERROR, "b.yaml", policy_repo.line("b.yaml", "spec:"))
    ]
    assert "vCPU 累计 64 超过计划 63" in found[0].message
    assert policy_repo.findings("CG503") == []


def test_forms_are_summed_in_order_of_final_approval(policy_repo):
    # b.yaml is approved first now, so a.yaml is the form that tips the balance
    two_forms(policy_repo, vcpu_plan=63, final2="2026-11-12")
    assert triples(policy_repo.findings("CG502")) == [
        ("CG502", Severity.ERROR, "a.yaml", policy_repo.line("a.yaml", "spec:"))
    ]


def test_beyond_the_plan_with_expert_review_is_a_warning(policy_repo):
    two_forms(policy_repo, vcpu_plan=63, second_review="2026-11-12")
    assert policy_repo.findings("CG502") == []
    assert triples(policy_repo.findings("CG503")) == [
        ("CG503", Severity.WARNING, "b.yaml", policy_repo.line("b.yaml", "expert_review:"))
    ]


def test_pending_forms_do_not_count_against_the_plan(policy_repo):
    two_forms(policy_repo, vcpu_plan=63)
    policy_repo.write(
        "b.yaml", application("ZY-2027-0002", resources=(SERVER,), boxes=approvals(final=None))
    )
    assert policy_repo.findings("CG502") == []


def test_a_department_without_a_plan_for_the_year_is_outside_the_plan(policy_repo):
    policy_repo.write("plan.yaml", plan(2026))
    policy_repo.write("app.yaml", application(resources=(SERVER,)))
    found = policy_repo.findings("CG502")
    assert triples(found) == [
        ("CG502", Severity.ERROR, "app.yaml", policy_repo.line("app.yaml", "spec:"))
    ]
    assert "没有 2027 年度" in found[0].message
    policy_repo.write("app.yaml", application(resources=(SERVER,), expert_review="2026-11-12"))
    assert policy_repo.findings("CG502") == []
    assert [f.severity for f in policy_repo.findings("CG503")] == [Severity.WARNING]


# --------------------------------------------------------------------------- CG504


def test_an_expand_form_after_an_approved_new_form_passes(policy_repo):
    policy_repo.write("plan.yaml", plan())
    policy_repo.write("a.yaml", application("ZY-2027-0001"))
    policy_repo.write(
        "b.yaml",
        application("ZY-2027-0002", type="expand", boxes=approvals(final=("孙八", "2026-11-20"))),
    )
    assert policy_repo.findings("CG504") == []


def test_an_expand_form_without_an_earlier_new_form_is_a_warning(policy_repo):
    policy_repo.write("plan.yaml", plan())
    policy_repo.write("b.yaml", application("ZY-2027-0002", type="expand"))
    assert triples(policy_repo.findings("CG504")) == [
        ("CG504", Severity.WARNING, "b.yaml", policy_repo.line("b.yaml", "type: expand"))
    ]
    # a new form of another year, or approved later than the expand form, does not count
    policy_repo.write(
        "a.yaml", application("ZY-2027-0001", boxes=approvals(final=("孙八", "2026-11-20")))
    )
    policy_repo.write("c.yaml", application("ZY-2026-0001", year=2026))
    policy_repo.write("plan-2026.yaml", plan(2026))
    assert [f.line for f in policy_repo.findings("CG504")] == [
        policy_repo.line("b.yaml", "type: expand")
    ]


# --------------------------------------------------------------------------- CG505


def test_resources_of_the_current_year_have_not_lapsed(policy_repo):
    policy_repo.write("plan.yaml", plan(2025))
    policy_repo.write("plan-2026.yaml", plan(2026))
    policy_repo.write(
        "a.yaml",
        application("ZY-2025-0001", year=2025, boxes=approvals(final=("孙八", "2025-01-10"))),
    )
    policy_repo.write("b.yaml", application("ZY-2026-0001", year=2026))
    assert policy_repo.findings("CG505") == []


def test_resources_of_an_earlier_year_not_renewed_have_lapsed(policy_repo):
    policy_repo.write("plan.yaml", plan(2025))
    policy_repo.write("a.yaml", application("ZY-2025-0001", year=2025))
    found = policy_repo.findings("CG505")
    assert triples(found) == [
        ("CG505", Severity.WARNING, "a.yaml", policy_repo.line("a.yaml", "year:"))
    ]
    # a wholly decommissioned system is not reported
    policy_repo.write(
        "shutdown.yaml",
        """\
        apiVersion: cgcloud/v1
        kind: ShutdownNotice
        metadata: {id: GT-2026-0001, system: 智慧城管综合平台}
        spec:
          all: true
          tech_division: {by: 钱七, date: 2026-01-02}
        """,
    )
    assert policy_repo.findings("CG505") == []
