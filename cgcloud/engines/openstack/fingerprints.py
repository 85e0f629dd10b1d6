"""How this engine keeps the core's rule fingerprints: one Keystone project tag each.

The core computes a fingerprint (``plan.fingerprints``) and reads it back as
``AProject.fingerprints``; that it is stored as the tag ``cgcloud:rules=<hash>``
is this engine's business (docs/reconcile.md, "Rule fingerprints").
"""

from __future__ import annotations

RULES_TAG = "cgcloud:rules="


def tag(fingerprint: str) -> str:
    return RULES_TAG + fingerprint


def recorded(tags: list[str]) -> list[str]:
    """The fingerprints a project's Keystone tags record (one when apply/enforce wrote it)."""
    return [t[len(RULES_TAG) :] for t in tags if t.startswith(RULES_TAG)]


def other_tags(tags: list[str]) -> list[str]:
    """The project's tags without the fingerprint tags (what the core sees as tags)."""
    return [t for t in tags if not t.startswith(RULES_TAG)]
