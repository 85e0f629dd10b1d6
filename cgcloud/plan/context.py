"""The diff's working state: what one resource kind's step found that the next needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from cgcloud import desired as d
from cgcloud.actual import ActualState, AGroup, APort, AProject
from cgcloud.plan.changes import Change, Plan


@dataclass
class Diff:
    state: d.DesiredState
    actual: ActualState
    fps: dict[str, str | None]
    plan: Plan
    # projects: system → cgcloud's project (None: to be created); systems left alone
    managed_projects: dict[str, AProject] = field(default_factory=dict)
    project_of: dict[str, AProject | None] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)
    # groups: key → the kept cgcloud group; id → group, system; the groups wanted now
    managed_groups: dict[str, AGroup] = field(default_factory=dict)
    group_by_id: dict[str, AGroup] = field(default_factory=dict)
    group_system: dict[str, str] = field(default_factory=dict)
    wanted_groups: dict[str, d.Group] = field(default_factory=dict)
    group_reasons: dict[str, list[d.Reason]] = field(default_factory=dict)
    placeholder_ports: dict[str, list[APort]] = field(default_factory=dict)

    def add(self, change: Change) -> None:
        self.plan.changes.append(change)

    @property
    def key_of_group(self) -> dict[str, str]:
        return {g.id: key for key, g in self.managed_groups.items()}

    def resolve_placeholder(self, system: str, name: str) -> list[APort]:
        """The ports in ``system``'s project that carry placeholder ``name``'s mark."""
        proj = self.project_of.get(system)
        return [
            x
            for x in self.placeholder_ports.get(name, [])
            if proj is not None and x.project_id == proj.id
        ]
