"""Cache key layout: ``<prefix>:v<schema>:<kind>:{<hash tag>}:...``.

Every key that one Lua script touches carries the same ``{hash tag}``, so the script runs
on one Redis Cluster slot (ElastiCache Serverless is cluster-mode only). Bumping the
schema version in settings moves every key to a new namespace, so a deploy that changes a
model never reads entries written by the old code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from courses_api.cache.api import ListNamespace


def _tag(text: str) -> str:
    """Make ``text`` safe inside ``{...}``: a ``}`` would end the hash tag early."""
    return text.replace("%", "%25").replace("}", "%7D").replace("{", "%7B")


@dataclass(frozen=True, slots=True)
class ItemKeys:
    """The value key of one item, its lease, its version fence and its unsure mark (same slot)."""

    value: str
    lease: str
    fence: str
    unsure: str


@dataclass(frozen=True, slots=True)
class PageKeys:
    """Generation counter, page value, page lease and namespace fence of one list page (same slot)."""

    generation: str
    value: str
    lease: str
    fence: str  # present while the namespace's last invalidation is younger than replica lag
    group: str  # near-cache group of the namespace


@dataclass(frozen=True, slots=True)
class KeySpace:
    """Builds the namespaced, versioned keys of one application."""

    prefix: str = "courses"
    schema_version: int = 1

    @property
    def root(self) -> str:
        return f"{self.prefix}:v{self.schema_version}"

    def item(self, item_id: str) -> ItemKeys:
        base = f"{self.root}:item:{{{_tag(item_id)}}}"
        return ItemKeys(value=base, lease=f"{base}:lease", fence=f"{base}:fence", unsure=f"{base}:unsure")

    def namespace_tag(self, namespace: ListNamespace) -> str:
        return _tag(f"{namespace.kind}:{namespace.partition}")

    def generation(self, namespace: ListNamespace) -> str:
        return f"{self.root}:gen:{{{self.namespace_tag(namespace)}}}"

    def namespace_fence(self, namespace: ListNamespace) -> str:
        return f"{self.generation(namespace)}:fence"

    def write_marker(self, namespace: ListNamespace, write_id: str) -> str:
        """Present once ``write_id`` bumped the namespace (same slot as its generation)."""
        digest = hashlib.blake2b(write_id.encode(), digest_size=12).hexdigest()
        return f"{self.generation(namespace)}:w:{digest}"

    def page(self, namespace: ListNamespace, page_key: str) -> PageKeys:
        """Page keys; ``page_key`` (filters, limit, position) is hashed to bound key length."""
        group = f"{self.root}:list:{{{self.namespace_tag(namespace)}}}"
        base = f"{group}:{hashlib.blake2b(page_key.encode(), digest_size=12).hexdigest()}"
        generation = self.generation(namespace)
        return PageKeys(generation, base, f"{base}:lease", f"{generation}:fence", group)
