"""Analysis package of the inference-cost book: data contracts, store, models and pipeline."""

__version__ = "0.1.0"
