"""YAML texts of the forms, for the rule tests (exposure, overlap, signatures,
resources, shutdown, projects). Each builder returns a complete document whose
every part can be changed by a keyword; lines start at column 0."""

from __future__ import annotations

SYSTEM = "智慧城管综合平台"
DEPARTMENT = "市政设施处"

APPROVED = {
    "department": ("赵六", "2026-11-10", "opinion: 同意"),
    "initial": ("王五", "2026-11-11", "opinion: 同意"),
    "recheck": ("钱七", "2026-11-12", "recommend: formal"),
    "final": ("孙八", "2026-11-13", "decision: formal"),
}
SERVER = "{type: server, vcpu: 8, memory_gb: 16, system_disk_gb: 100, count: 2}"


def approvals(**changes: tuple[str, str] | None) -> dict[str, tuple[str, str, str] | None]:
    """The four approval boxes, signed; ``role=None`` leaves a box out,
    ``role=(by, date)`` changes who signed and when."""
    out: dict[str, tuple[str, str, str] | None] = dict(APPROVED)
    for role, value in changes.items():
        out[role] = None if value is None else (value[0], value[1], APPROVED[role][2])
    return out


def application(
    form_id: str = "ZY-2027-0001",
    *,
    system: str = SYSTEM,
    department: str = DEPARTMENT,
    type: str = "new",
    year: int = 2027,
    resources: tuple[str, ...] = (SERVER, "{type: public_ip, count: 2}"),
    boxes: dict[str, tuple[str, str, str] | None] | None = None,
    expert_review: str | None = None,
) -> str:
    boxes = dict(APPROVED) if boxes is None else boxes
    lines = [
        "apiVersion: cgcloud/v1",
        "kind: ResourceApplication",
        f"metadata: {{id: {form_id}, system: {system}, department: {department}}}",
        "spec:",
        f"  type: {type}",
        f"  year: {year}",
        '  contact: {name: 张三, phone: "027-85551234"}',
        "  reason: 测试用申请单",
        "  resources:",
        *(f"    - {r}" for r in resources),
        "  approvals:",
    ]
    for role in ("department", "initial", "recheck", "final"):
        box = boxes.get(role)
        if box is not None:
            lines.append(f"    {role}: {{by: {box[0]}, date: {box[1]}, {box[2]}}}")
    if expert_review is not None:
        lines.append(f"  expert_review: {{by: 专家组, date: {expert_review}, conclusion: 同意}}")
    return "\n".join(lines) + "\n"


def policy(
    rows: list[str],
    form_id: str = "WL-2026-0031",
    *,
    system: str = SYSTEM,
    normal: tuple[str, str] | None = ("2026-12-01", "2027-11-30"),
    high_risk: tuple[str, str] | None = None,
    reviewers: dict[str, tuple[str, str]] | None = None,
) -> str:
    """A NetworkPolicy; ``rows`` are flow mappings (``{from: …, port: …}``), one per line."""
    if reviewers is None:
        reviewers = {
            "cloud_resource_manager": ("钱七", "2026-11-20"),
            "business_leader": ("王五", "2026-11-21"),
            "cloud_resource_leader": ("吴十", "2026-11-22"),
        }
    lines = [
        "apiVersion: cgcloud/v1",
        "kind: NetworkPolicy",
        f"metadata: {{id: {form_id}, system: {system}}}",
        "spec:",
        '  applicant: {org: 某某科技有限公司, name: 周九, phone: "13900000000"}',
    ]
    if normal is not None:
        lines += [
            "  normal:",
            "    reason: 平台对外提供服务",
            f"    period: {{start: {normal[0]}, end: {normal[1]}}}",
        ]
    if high_risk is not None:
        lines += [
            "  high_risk:",
            "    reason: 上线调试",
            f"    period: {{start: {high_risk[0]}, end: {high_risk[1]}}}",
        ]
    lines.append("  reviewers:")
    for role, (by, date) in reviewers.items():
        lines.append(f"    {role}: {{by: {by}, date: {date}}}")
    lines.append("  rules:")
    lines += [f"    - {r}" for r in rows]
    return "\n".join(lines) + "\n"


def row(frm: str, source: str, to: str, target: str, port: str) -> str:
    """A flow-mapping row; a port list with "," is quoted (a bare "," ends a flow value)."""
    if "," in port:
        port = f'"{port}"'
    return f"{{from: {frm}, source: {source}, to: {to}, target: {target}, port: {port}}}"


def plan(
    year: int = 2027,
    *,
    department: str = DEPARTMENT,
    vcpu: int = 128,
    memory_gb: int = 256,
    disk_gb: int = 20000,
    public_ip: int = 4,
    form_id: str | None = None,
) -> str:
    form_id = form_id or f"JH-{year}-{department}"
    return (
        "apiVersion: cgcloud/v1\n"
        "kind: AnnualPlan\n"
        f"metadata: {{id: {form_id}, department: {department}}}\n"
        f"spec: {{year: {year}, vcpu: {vcpu}, memory_gb: {memory_gb}, disk_gb: {disk_gb}, "
        f"public_ip: {public_ip}}}\n"
    )


HIGH_RISK_PORTS = """\
apiVersion: cgcloud/v1
kind: HighRiskPorts
max_source_prefix: 24
ports:
  - {port: TCP22, name: SSH}
  - {port: TCP3389, name: RDP}
  - {port: TCP3306, name: MySQL}
"""
"""A small, fixed high-risk list, so that these tests do not depend on the shipped one."""
