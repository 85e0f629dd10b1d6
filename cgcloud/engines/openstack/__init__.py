"""The OpenStack engine: Keystone, Neutron, Nova and Cinder through openstacksdk.

Everything that knows OpenStack lives in this package, layered (pyproject's contract,
top to bottom): ``engine`` (the facade implementing the ``Engine`` protocol) →
``apply`` (the plan's steps in order), ``decommission`` (power, marks, deletions),
``usage`` (the exporter's extra reads) → ``bulk`` (Neutron's bulk creates) →
``runner`` (steps run and audited), ``reads`` (the actual state) → ``locks``
(leases as Keystone projects), ``fingerprints`` (kept as Keystone tags), ``neutron``
(request bodies, ports of the cloud's own, quota room, limits) → ``api`` (the
connection, ``call`` with bounded retries, paging) → ``connection`` (clouds.yaml,
time-outs, the devcloud rule).
"""

from cgcloud.engines.audit import AuditLog
from cgcloud.engines.base import ApplyResult, EngineError, LockHeld, Step
from cgcloud.engines.openstack.connection import connect
from cgcloud.engines.openstack.engine import LOCK_NAME, WATCH_LOCK_NAME, OpenStackEngine

__all__ = [
    "LOCK_NAME",
    "WATCH_LOCK_NAME",
    "ApplyResult",
    "AuditLog",
    "EngineError",
    "LockHeld",
    "OpenStackEngine",
    "Step",
    "connect",
]
