"""TFDS-style dataset builders (L5). The builder workflow is tracked in issue 7."""
