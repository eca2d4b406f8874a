"""What a chapter cell calls: ``chapter`` (the ``Chapter`` helper: store, glue, tables, sources),
``figures`` (numbered, citable figures and their files), ``charts`` (the longer chart
specifications), ``explorers`` (the interactive charts),
``bibliography`` (the BibTeX file) and ``markers`` (the scan for missing-value markers on pages)."""
