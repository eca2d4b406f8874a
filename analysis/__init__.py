"""Analysis package of the inference-cost book: data contracts, store, models and pipeline.

``analysis.__version__`` is the book's edition, read from ``CITATION.cff`` (``analysis.edition``), the
one place that holds it.
"""

from __future__ import annotations


def __getattr__(name: str) -> str:
    if name == "__version__":
        from analysis import edition

        return edition.edition().version
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
