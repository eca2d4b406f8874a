"""What a chapter cell calls: ``chapter`` (the ``Chapter`` helper: store, glue, tables, sources, with
``notebook_view``, what a chapter shows when it is run as a notebook rather than built),
``figures`` (numbered, citable figures and their files, with ``citation``, how to cite each),
``charts`` (the longer chart specifications), ``explorers`` (the interactive charts, with
``explorer_formulas``, their arithmetic as Vega expressions, and ``explorer_tables``, their inline
data), ``bibtex`` (the one BibTeX writer), ``bibliography`` (the BibTeX file of the sources),
``citestyle`` (the in-text citation style), ``cite_page`` (the "How to cite" page) and ``markers``
(the scan for missing-value markers on pages)."""
