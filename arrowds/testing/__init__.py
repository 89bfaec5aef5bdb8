"""Conformance kits for builder authors and backends (L6)."""
