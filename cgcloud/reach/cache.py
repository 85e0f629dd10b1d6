"""The reach index, kept between runs under the user's cache dir, keyed by the files' hashes.

Why: reading and modelling 50,000 rows takes ~0.8 s, more than a whole query may take
(issue 17: under 1 s as a process). Hashing the files takes a few milliseconds, so a
query reads the files' bytes (never trusts mtimes), and only when one of them, its
name, the shipped defaults or cgcloud itself changed does it build the index again.

The cache is a pickle in the user's own cache directory (platformdirs: the platform's
convention, ``$XDG_CACHE_HOME`` on Linux; ``$CGCLOUD_CACHE_DIR`` overrides it). It is
written atomically (a temporary file, then ``os.replace``); an entry that does not
load is rebuilt, never trusted half-way.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterable
from pathlib import Path

from cgcloud import __version__, loader
from cgcloud.reach.facts import collect
from cgcloud.reach.index import Index

FORMAT = b"cgcloud-reach-index/1"
_CODE = [f"{Path(__file__).parent}/{m}.py" for m in ("facts", "index")]
KEEP = 8  # entries kept (the most recent); older ones are removed


def cache_dir() -> Path:
    if os.environ.get("CGCLOUD_CACHE_DIR"):
        return Path(os.environ["CGCLOUD_CACHE_DIR"]) / "reach"
    import platformdirs

    return Path(platformdirs.user_cache_dir("cgcloud")) / "reach"


def key(paths: Iterable[str | Path]) -> str:
    """A hash of every policy file (name and bytes), the shipped defaults, and cgcloud's
    version and index format. Raises loader.UsageError for a missing path."""
    from cgcloud.validate import default_policy_file

    h = hashlib.sha256(FORMAT + b"\0" + __version__.encode())
    for module in _CODE:  # an index pickled by other code is never read back
        h.update(Path(module).read_bytes())
    found = loader.discover(paths)
    for reported in found.reported:  # a path not read now may be readable later
        h.update(b"\0!" + reported.encode("utf-8", "surrogateescape"))
    files = [*found.files]
    files += [
        (default_policy_file(n), f"<默认>/{n}") for n in ("zones.yaml", "high-risk-ports.yaml")
    ]
    for path, display in files:
        h.update(b"\0" + display.encode("utf-8", "surrogateescape") + b"\0")
        try:
            h.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError as exc:  # unreadable: the loader reports it; never cache over it
            h.update(str(exc).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def build(paths: Iterable[str | Path]) -> Index:
    """Read the repository (loader, model, resolve; no rules) and index its rows."""
    from cgcloud.findings import Severity
    from cgcloud.validate import load_repository

    repo, findings, _files = load_repository(paths)
    errors = sum(1 for f in findings if f.severity == Severity.ERROR)
    return Index(collect(repo, errors))


def load(paths: list[str | Path], use_cache: bool = True) -> Index:
    """The index of ``paths``: from the cache when the files are the same, else built
    (and stored when ``use_cache``)."""
    if not use_cache:
        return build(paths)
    k = key(paths)
    where = cache_dir()
    entry = where / f"{k}.pickle"
    try:
        with entry.open("rb") as fh:
            index = pickle.load(fh)
        if isinstance(index, Index):
            os.utime(entry)  # most recently used
            return index
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001, S110 - a damaged or stale entry is rebuilt
        entry.unlink(missing_ok=True)
    index = build(paths)
    _store(where, entry, index)
    return index


def _store(where: Path, entry: Path, index: Index) -> None:
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry)
    except OSError:  # a read-only cache dir costs speed, not the answer
        return
    entries = sorted(where.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)
