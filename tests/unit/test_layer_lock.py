"""What Lambda runs is pinned whole: every package of the layer's and the JWKS custom resource's trees, with hashes.

``make lock-layer`` writes the locks; this checks them against the packages' own metadata
(``Requires-Dist`` of the installed distributions, the same versions: the test group installs
the layer's lock), so a dependency that a new version adds and the lock lacks fails here.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LOCKS = {
    "layer": REPO / "layers" / "shared" / "requirements.txt",
    "jwks_resource": REPO / "functions" / "jwks_resource" / "requirements.txt",
}
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)")
# The runtime: CPython 3.13 on Amazon Linux (template.yaml Runtime: python3.13).
LAMBDA: dict[str, str] = {
    **{key: str(value) for key, value in default_environment().items()},
    "python_version": "3.13",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def entries(lock: Path) -> dict[str, tuple[str, int]]:
    """``{package: (version, number of hashes)}`` of a pip-compile style lock."""
    found: dict[str, tuple[str, int]] = {}
    current = ""
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            current = str(canonicalize_name(match.group(1)))
            found[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
    return found


def requires(name: str, extras: frozenset[str]) -> set[str]:
    """What the installed ``name`` needs on the runtime, with ``extras``."""
    needed: set[str] = set()
    for raw in metadata.requires(name) or []:
        requirement = Requirement(raw)
        markers = requirement.marker
        if markers is None or any(markers.evaluate({**LAMBDA, "extra": extra}) for extra in (extras or {""})):
            needed.add(str(canonicalize_name(requirement.name)))
    return needed


@pytest.mark.parametrize("which", sorted(LOCKS))
def test_every_locked_package_is_pinned_with_hashes(which: str) -> None:
    locked = entries(LOCKS[which])
    assert locked, f"{LOCKS[which]} pins nothing"
    unhashed = sorted(name for name, (_, hashes) in locked.items() if hashes == 0)
    assert not unhashed, f"pinned without a hash: {unhashed}"


def test_the_layer_lock_holds_the_whole_tree() -> None:
    locked = entries(LOCKS["layer"])
    roots: dict[str, frozenset[str]] = {
        str(canonicalize_name(Requirement(line).name)): frozenset(Requirement(line).extras)
        for line in (REPO / "layers" / "shared" / "requirements.in").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert set(roots) <= set(locked)
    missing: dict[str, set[str]] = {}
    for name in locked:
        assert metadata.version(name) == locked[name][0], f"{name}: installed {metadata.version(name)}"
        absent = requires(name, roots.get(name, frozenset())) - set(locked)
        if absent:
            missing[name] = absent
    assert not missing, f"needed on python3.13/Linux but not locked: {missing}"
