"""Builders shipped with arrowds, one folder each (builder, ``checksums.tsv``, dummy data
generator in the upstream format). Imported by name on first use (``registry.CATALOG``)."""
