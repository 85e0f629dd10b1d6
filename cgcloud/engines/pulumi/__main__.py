"""The program `Pulumi.yaml` names: validate and compile the forms, then declare them.

Configuration (stack files in `stacks/`, keys documented in docs/pulumi.md):
``cgcloud:policies`` the policy repository (default ``policies``, relative to
Pulumi.yaml), ``cgcloud:now`` an ISO time to pretend it is (default: the real
clock, Asia/Shanghai), ``cgcloud:volumeTypes`` the Cinder volume types the cloud
has (per-tier quotas only for those; default: every tier the forms name). The
OpenStack credentials are the provider's own (``openstack:cloud`` naming a
clouds.yaml entry, or secret config) — never in this program; the same cloud is
read for the ports (placeholders, bindings) the forms select.

A repository with validation errors declares nothing: the program fails with the
findings, as `cgcloud plan` refuses.
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi

from cgcloud import clock, desired, report
from cgcloud.engines.pulumi.program import Resolution, declare
from cgcloud.engines.pulumi.resolve import resolution
from cgcloud.findings import has_errors
from cgcloud.i18n import _
from cgcloud.validate import validate


def _resolution(state: desired.DesiredState) -> Resolution | None:
    """Ports read from the cloud the provider uses (``openstack:cloud`` or $OS_CLOUD);
    without a named cloud, placeholder rules and bindings stay unresolved (warned)."""
    cloud = pulumi.Config("openstack").get("cloud") or os.environ.get("OS_CLOUD")
    if not cloud:
        return None
    from cgcloud import engines  # the registry: engines never import each other

    return resolution(state, engines.create("openstack", cloud).read(state, network_only=True))


def main() -> None:
    config = pulumi.Config("cgcloud")
    policies = Path(config.get("policies") or "policies")
    try:
        now = clock.now_local(config.get("now"))
    except clock.ClockError as exc:
        raise pulumi.RunError(f"cgcloud:now: {exc}") from None
    v = validate([policies], now)
    if has_errors(v.findings):
        raise pulumi.RunError(
            _("表单校验未通过，不声明任何资源（先运行 cgcloud validate 修正错误）:")
            + "\n"
            + report.render(v, "text")
        )
    from cgcloud import engines  # the registry: engines never import each other

    # the room Neutron keeps in a project's quotas: the stack's resources live on Neutron
    state = desired.compile(v.repo, now, engines.engine_class("openstack").quota_room)
    volume_types = config.get_object("volumeTypes")
    declared = declare(state, _resolution(state), volume_types=volume_types)
    for line in declared.unresolved:
        pulumi.log.warn(line)
    pulumi.export("now", state.now)
    pulumi.export("systems", [p.system for p in state.projects])
    pulumi.export("rules", sum(1 for n in declared.resources if n.startswith("rule-")))
    pulumi.export("unresolved", len(declared.unresolved))


main()
