"""The data layer: contracts, validation, the store and its readers. Imports nothing above it.

``contracts`` reads a table's ``.meta.yml``; ``validation`` checks the CSV files against them and
reports every problem (``problems``), reading each file once into DuckDB (``tables``, with ``csvfile``
for its bytes and lines) where ``checks`` checks each column's cells and ``keys`` the keys and
references in SQL; ``store`` builds the DuckDB file from the same tables;
``reader`` opens it read-only for chapters; ``folder`` says what a data folder may hold; ``safety``
checks names, patterns and YAML from data files; ``sandbox`` runs a forecast's rule on the store with
no access to anything else; ``datapackage`` turns the contracts into a Frictionless Data Package descriptor.
"""
