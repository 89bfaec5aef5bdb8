"""The ``arrowds`` command line (L7)."""
