"""Diff the desired state against the actual state → a Plan of changes with reasons.

Pure: ``ActualState`` is plain data an engine read from a cloud, so the diff is
testable with hand-built state. Safety lives here: only resources that carry
cgcloud's tags are ever changed; unmanaged ones are only reported. A rule
inside a cgcloud-owned group that cgcloud did not ask for is drift → delete.
Neutron rules cannot be updated, so a changed rule is a delete plus a create
(apply deletes first: Neutron's duplicate check ignores the description).

The JSON rendering (``format: cgcloud-plan/v1``) is documented in docs/reconcile.md.

Modules: ``changes`` (Change, Plan, Fingerprint), ``fingerprints`` (rule fingerprints
of settled systems), ``diff`` with one module per resource family (``diff_projects``:
projects, quotas, flavors; ``diff_network``: groups, rules, bindings), ``render``.
The actual state is ``cgcloud.actual``'s. Everything is re-exported here.
"""

from cgcloud.actual import (
    ActualState,
    AFlavor,
    AGroup,
    APort,
    AProject,
    ARule,
    _tag_value,
    group_identity,
    is_managed,
    managed_projects_by_id,
)
from cgcloud.plan.changes import (
    ACTIONS,
    ANY,
    CHANGE_ACTIONS,
    COMPUTE_KEYS,
    GLOBAL,
    NETWORK_KEYS,
    Change,
    Fingerprint,
    Plan,
    RuleSpec,
    _rule_key,
    _v4,
)
from cgcloud.plan.diff import diff
from cgcloud.plan.diff_network import _ports_text
from cgcloud.plan.fingerprints import (
    EMPTY_FINGERPRINT,
    fingerprints,
    placeholder_addresses,
    placeholders,
    settled,
)
from cgcloud.plan.render import render, render_json, render_markdown, render_text, summary_line

__all__ = [
    "ACTIONS",
    "ANY",
    "CHANGE_ACTIONS",
    "COMPUTE_KEYS",
    "EMPTY_FINGERPRINT",
    "GLOBAL",
    "NETWORK_KEYS",
    "AFlavor",
    "AGroup",
    "APort",
    "AProject",
    "ARule",
    "ActualState",
    "Change",
    "Fingerprint",
    "Plan",
    "RuleSpec",
    "_ports_text",
    "_rule_key",
    "_tag_value",
    "_v4",
    "diff",
    "fingerprints",
    "group_identity",
    "is_managed",
    "managed_projects_by_id",
    "placeholder_addresses",
    "placeholders",
    "render",
    "render_json",
    "render_markdown",
    "render_text",
    "settled",
    "summary_line",
]
