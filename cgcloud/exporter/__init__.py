"""`cgcloud exporter`: Prometheus metrics of compliance and usage, from a cached snapshot.

``metrics``: what the metrics are, computed from plain data (pure); ``server``: the
refresh thread and the HTTP server. Names and labels: docs/metrics.md.
"""

from cgcloud.actual import Server
from cgcloud.exporter.metrics import (
    DECOMMISSION_STAGES,
    CloudView,
    Decommission,
    GaugeMetricFamily,
    Inputs,
    Rendered,
    compute,
    decommissions,
    managed_groups,
    read_cloud,
    render,
)
from cgcloud.exporter.server import Exporter, make_clock, make_server, parse_listen

__all__ = [
    "DECOMMISSION_STAGES",
    "CloudView",
    "Decommission",
    "Exporter",
    "GaugeMetricFamily",
    "Inputs",
    "Rendered",
    "Server",
    "compute",
    "decommissions",
    "make_clock",
    "make_server",
    "managed_groups",
    "parse_listen",
    "read_cloud",
    "render",
]
