"""The one decommission lifecycle of a ShutdownNotice (附件3, 第十五条).

Why one module: the stage and the dates of a decommission were computed in three
places that disagreed (``explain`` said the earliest deletion of the shipped notice
was 2026-12-22, ``upcoming`` and docs/enforce.md 2026-12-23 00:00). ``enforce`` (what
it does), ``upcoming`` (what it will do), ``explain`` (what the forms grant) and the
exporter (the stage metric) now all ask this module.

The rule, from the regulation's "自系统关闭之日起保留云主机七天，到期后…删除" and
docs/enforce.md: a host powered off on day D is kept the seven full local days
D+1 … D+7 and may be deleted from D+8 00:00 (the day of the power-off is not a full
day). So for the shipped notice (shutdown_date 2026-12-15) the hosts are kept through
2026-12-22 and deletion starts 2026-12-23 00:00. What a day is, is ``clock``'s.

Stages: scheduled (before ``shutdown_date``, or not signed by the business division)
→ awaiting_confirmation (the operator has not confirmed ``data_copied``: nothing is
touched) → power_off_due (a listed host has no recorded power-off) → powered_off
(kept seven full days) → deletion_due (a host's seven days are over and it still
exists) → reclaimed (no listed host left, or the project is tagged decommissioned).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cgcloud import clock, model
from cgcloud.actual import AProject, Server
from cgcloud.desired import DECOMMISSIONED_TAG

KEEP_DAYS = 7  # 附件3: powered off, kept seven full days, then deleted
STAGES = (
    "scheduled",
    "awaiting_confirmation",
    "power_off_due",
    "powered_off",
    "deletion_due",
    "reclaimed",
)
# marks on the cloud's resources (Nova/Cinder metadata keys; tags are "<key>=<value>")
SHUTDOWN_KEY = "cgcloud:shutdown"
POWEROFF_KEY = "cgcloud:poweroff"
POWERON_SEEN_KEY = "cgcloud:poweron-seen"


def deletion_due(poweroff: datetime) -> datetime:
    """When a host powered off at ``poweroff`` may be deleted: after seven full local days."""
    return clock.full_days_after(poweroff, KEEP_DAYS)


def kept_until(poweroff: datetime) -> date:
    """The last day a host powered off at ``poweroff`` is kept (the day before deletion)."""
    return clock.add_days(clock.today(deletion_due(poweroff)), -1)


def earliest_deletion(notice: model.ShutdownNotice) -> datetime | None:
    """The earliest a host of ``notice`` can be deleted: powered off on ``shutdown_date``."""
    if notice.shutdown_date is None:
        return None
    return deletion_due(clock.start_of(notice.shutdown_date))


def started(notice: model.ShutdownNotice, today: date) -> bool:
    """The business division signed and ``shutdown_date`` has come."""
    biz = notice.business_division
    return (
        biz is not None
        and biz.signed
        and notice.shutdown_date is not None
        and today >= notice.shutdown_date
    )


def confirmed(notice: model.ShutdownNotice) -> bool:
    """The operator confirmed the preparations (``data_copied``) and signed."""
    op = notice.operator
    return bool(notice.data_copied and op is not None and op.signed)


def poweroff_of(metadata: dict[str, str]) -> datetime | None:
    """The power-off time recorded on a resource (``cgcloud:poweroff``), if readable."""
    raw = metadata.get(POWEROFF_KEY)
    if not raw:
        return None
    try:
        return clock.now_local(raw)
    except clock.ClockError:
        return None


def listed_hosts(notice: model.ShutdownNotice, servers: list[Server]) -> list[Server]:
    """The servers of the system's project that the notice names (all with ``all: true``)."""
    if notice.all_hosts:
        return list(servers)
    hosts = {h.strip() for h, _ in notice.hosts}
    return [s for s in servers if hosts & set(s.ips)]


@dataclass(slots=True)
class Status:
    """Where one notice stands at ``now``."""

    notice: str
    system: str
    stage: str
    earliest_deletion: datetime | None  # from the forms: powered off on shutdown_date
    deletion_due: datetime | None  # from the cloud: the first recorded power-off + 7 days
    hosts_remaining: int = 0
    hosts_running: int = 0


def status(
    notice: model.ShutdownNotice,
    now: datetime,
    project: AProject | None = None,
    servers: list[Server] | None = None,
) -> Status:
    """The notice's stage at ``now``. ``servers``: the servers of the system's project
    as a cloud holds them; None when no cloud was read (then the stage comes from the
    forms alone and stops at power_off_due)."""
    today = clock.today(now)
    hosts = listed_hosts(notice, servers or []) if project is not None else []
    offs = [poweroff_of(s.metadata) for s in hosts]
    dues = [deletion_due(o) for o in offs if o is not None]
    due = min(dues) if dues else None
    out = Status(
        notice.id,
        notice.system,
        "scheduled",
        earliest_deletion(notice),
        due,
        len(hosts),
        sum(1 for s in hosts if s.status.upper() == "ACTIVE"),
    )
    done = project is not None and any(t.startswith(DECOMMISSIONED_TAG) for t in project.tags)
    if not started(notice, today):
        out.stage = "scheduled"
    elif not confirmed(notice):
        out.stage = "awaiting_confirmation"
    elif servers is None:
        out.stage = "power_off_due"
    elif project is None or not hosts or done:
        out.stage = "reclaimed"
    elif not all(offs):
        out.stage = "power_off_due"
    elif due is not None and now < due:
        out.stage = "powered_off"
    else:
        out.stage = "deletion_due"
    return out
