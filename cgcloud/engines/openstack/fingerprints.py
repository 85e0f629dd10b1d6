"""How this engine keeps the core's rule fingerprints: one Keystone project tag each.

The old tag goes first when a new one is written: a failure in between leaves no
tag, and a project without one is read in full by the next enforce pass.

The core computes a fingerprint (``plan.fingerprints``) and reads it back as
``AProject.fingerprints``; that it is stored as the tag ``cgcloud:rules=<hash>``
is this engine's business (docs/reconcile.md, "Rule fingerprints").
"""

from __future__ import annotations

from urllib.parse import quote

from cgcloud.engines.base import Step
from cgcloud.engines.openstack.api import Api

RULES_TAG = "cgcloud:rules="


def tag(fingerprint: str) -> str:
    return RULES_TAG + fingerprint


def recorded(tags: list[str]) -> list[str]:
    """The fingerprints a project's Keystone tags record (one when apply/enforce wrote it)."""
    return [t[len(RULES_TAG) :] for t in tags if t.startswith(RULES_TAG)]


def other_tags(tags: list[str]) -> list[str]:
    """The project's tags without the fingerprint tags (what the core sees as tags)."""
    return [t for t in tags if not t.startswith(RULES_TAG)]


def write(api: Api, s: Step) -> None:
    """Remove the tags of the step's ``old`` fingerprints, then add its ``new`` one."""
    url = f"/projects/{s.change.id}/tags/"
    for old in s.change.data["old"]:
        mark = quote(tag(old), safe=":=")
        api.call("identity", "DELETE", url + mark, ok=(404,), idempotent=True)
    if s.change.data.get("new"):
        mark = quote(tag(s.change.data["new"]), safe=":=")
        api.call("identity", "PUT", url + mark, idempotent=True)
