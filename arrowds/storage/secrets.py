"""Keeping credentials out of messages: collect the secret values of ``storage_options``.

``storage_options`` live only in memory (FORMAT.md invariant 7). They are handed to fsspec and
never written; what is left to guard is text: an exception message from a backend library
could quote a token or key. Every StorageError message goes through a Redactor first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

#: Option names whose values are secrets (case-insensitive substrings of the key).
_SECRET_NAMES = re.compile(r"secret|key|token|password|passwd|credential|session|auth|sas|signature",
                           re.IGNORECASE)
_NOT_SECRET = re.compile(r"^(endpoint_url|region_name|key_prefix)$", re.IGNORECASE)
_MIN_LEN = 4  # shorter values ("x", "1") would blank out ordinary text


class Redactor:
    """Replaces every secret value of some ``storage_options`` with ``***`` in a text.

    >>> Redactor({"key": "AKIA1234", "secret": "s3cr3t!"})("bad secret s3cr3t! for AKIA1234")
    'bad secret *** for ***'
    """

    def __init__(self, storage_options: Mapping[str, Any] | None = None):
        values = set(_secret_values(storage_options or {}, secret=False))
        self._secrets = sorted((v for v in values if len(v) >= _MIN_LEN), key=len, reverse=True)

    def hides(self, text: str) -> bool:
        """Whether ``text`` holds a secret (so it must not be shown as is)."""
        return any(s in text for s in self._secrets)

    def __call__(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    def __repr__(self) -> str:  # never show the values, even in a debugger
        return f"Redactor({len(self._secrets)} secrets)"


def _secret_values(value: Any, secret: bool) -> Iterator[str]:
    """The string leaves of ``value`` that sit under a secret-looking key (or all of them
    under one: a ``token`` given as a dict of service-account fields is secret throughout)."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            name = str(k)
            is_secret = secret or (bool(_SECRET_NAMES.search(name)) and not _NOT_SECRET.match(name))
            yield from _secret_values(v, is_secret)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _secret_values(v, secret)
    elif isinstance(value, (str, bytes)) and secret:
        yield value.decode(errors="replace") if isinstance(value, bytes) else value
