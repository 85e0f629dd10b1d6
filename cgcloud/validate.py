"""The validation pipeline: load → build the model → resolve rows → run the rules."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cgcloud import builder, capping, loader, model
from cgcloud.findings import Finding
from cgcloud.schemas import data_dir


@dataclass(slots=True)
class Validation:
    """The result: the model, the findings (capped per rule and file, see capping.py),
    every policy path found (``files``: read or reported) and how many were read."""

    repo: model.Repository
    findings: list[Finding]
    files: list[str]
    read: int = -1  # -1: not counted (a Validation built by hand)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Run the pipeline without Python's cyclic garbage collector.

    Validation allocates millions of small objects and frees almost none of them
    before it ends, so every collection would walk the whole model again for
    nothing: ~0.25 s at 50,000 rows. Reference counting still frees everything
    that is not a cycle. Afterwards the survivors are moved to the oldest
    generation (``freeze`` + ``unfreeze``) so that the next young collection does
    not walk them all once more."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


# the file name findings in the shipped site files carry (a path, not a message)
DEFAULTS_SHOWN_AS = "<默认>/"


def default_policy_file(name: str) -> Path:
    return data_dir("policies") / name


def load_repository(
    paths: Iterable[str | Path], *, with_defaults: bool = True
) -> tuple[model.Repository, list[Finding], list[str]]:
    """Read and model a policy repository (no rules run). When the repository has no
    ``Zones`` or ``HighRiskPorts`` of its own, the shipped defaults are used."""
    with cyclic_gc_paused():
        repo, findings, result = _load_repository(paths, with_defaults=with_defaults)
        return repo, findings, result.files


def _load_repository(
    paths: Iterable[str | Path], *, with_defaults: bool
) -> tuple[model.Repository, list[Finding], loader.LoadResult]:
    result = loader.load(paths)
    repo, findings = builder.build(result.documents, result.failed)
    # A repository whose own Zones/HighRiskPorts failed to load does not get the shipped
    # ones instead: the rules would judge every row against the wrong site model.
    want_zones = repo.zones is None and not repo.might_hold("Zones")
    want_ports = repo.high_risk_ports is None and not repo.might_hold("HighRiskPorts")
    if with_defaults and (want_zones or want_ports):
        defaults = loader.LoadResult()
        for name in ("zones.yaml", "high-risk-ports.yaml"):
            path = default_policy_file(name)
            loader.load_file(path, DEFAULTS_SHOWN_AS + name, defaults)
        default_repo, default_findings = builder.build(defaults.documents)
        findings.extend(defaults.findings + default_findings)
        if want_zones:
            repo.zones, repo.zones_is_default = default_repo.zones, True
        if want_ports:
            repo.high_risk_ports, repo.high_risk_is_default = default_repo.high_risk_ports, True
    model.resolve(repo)
    return repo, result.findings + findings, result


def validate(paths: Iterable[str | Path], now: datetime) -> Validation:
    from cgcloud import rules

    with cyclic_gc_paused():
        repo, findings, result = _load_repository(paths, with_defaults=True)
        findings.extend(rules.run(rules.Context(repo=repo, now=now)))
        findings.sort(key=lambda f: f.sort_key)
        findings = capping.cap(findings)
    return Validation(repo, findings, result.files, result.read)
