"""What a chapter cell calls: ``chapter`` (the ``Chapter`` helper: store, glue, tables, sources),
``figures`` (numbered, citable figures and their files), ``charts`` (the longer chart
specifications), ``explorers`` (the interactive charts, with ``explorer_formulas``, their arithmetic as
Vega expressions, and ``explorer_tables``, their inline data), ``bibliography`` (the BibTeX file) and
``markers`` (the scan for missing-value markers on pages)."""
