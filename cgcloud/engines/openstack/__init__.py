"""The OpenStack engine: Keystone, Neutron, Nova and Cinder through openstacksdk.

Everything that knows OpenStack lives in this package: the REST calls and their
retries (``engine``), how a cloud name becomes a bounded connection (``connection``:
clouds.yaml, time-outs, the devcloud rule), the decommission's
power, marks and deletions (``decommission``) and the exporter's extra reads
(``usage``).
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
