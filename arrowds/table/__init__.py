"""The table layer (L2): manifests, fragments, deletion vectors, refs and publishing."""

from arrowds.table.manifest import Fragment, Manifest
from arrowds.table.transaction import Changes

__all__ = ["Fragment", "Manifest", "Changes"]
