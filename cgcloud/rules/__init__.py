"""The rule registry: every rule ID a user can meet, in one explicit list.

Adding a rule touches its module, this list (when it is a new module), its
tests, the ``en`` catalog (its summary and article are ``N_()`` messages, its
findings ``_()``: ``python -m cgcloud.catalogs update``, docs/language.md) and
docs/rules.md and docs/rules.en.md (generated: ``cgcloud rules --format markdown``
in each language).
"""

from __future__ import annotations

from cgcloud.findings import Finding
from cgcloud.rules import (
    addresses,
    approvals,
    bastion,
    bastion_keys,
    exposure,
    files,
    flows,
    forms,
    high_risk,
    normal,
    overlap,
    projects,
    resources,
    shutdown,
    signatures,
    site,
)
from cgcloud.rules.base import Context, Rule

MODULES = [
    files,
    forms,
    site,
    addresses,
    flows,
    high_risk,
    bastion,
    bastion_keys,
    normal,
    exposure,
    overlap,
    signatures,
    approvals,
    resources,
    shutdown,
    projects,
]

REGISTRY: dict[str, Rule] = {}
for _module in MODULES:
    for _rule in _module.RULES:
        if _rule.id in REGISTRY:
            raise RuntimeError(f"rule ID {_rule.id} registered twice")
        REGISTRY[_rule.id] = _rule


def run(ctx: Context, only: set[str] | None = None) -> list[Finding]:
    """Run every rule that has a check (or only those in ``only``)."""
    out: list[Finding] = []
    for rule in REGISTRY.values():
        if rule.check is not None and (only is None or rule.id in only):
            out.extend(rule.check(ctx))
    return out


__all__ = ["REGISTRY", "Context", "Rule", "run"]
