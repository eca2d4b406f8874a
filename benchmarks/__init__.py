"""The benchmarks of the book's build, outside the package: ``make bench`` runs them."""
