"""What a chapter cell calls: ``chapter`` (the ``Chapter`` helper: store, glue, tables, sources, with
``notebook_view``, what a chapter shows when it is run as a notebook rather than built),
``figures`` (numbered, citable figures and their files, with ``citation``, how to cite each),
``charts`` and ``charts_market`` (the chart specifications, with ``chart_words``, what they name in
words), ``chart_layout`` (width, description and export layout), ``chart_embed`` (a chart's HTML),
``figure_files`` (the credited SVG and PNG), ``explorers`` (the interactive charts, with
``explorer_formulas``, their arithmetic as Vega expressions, ``explorer_tables``, their inline data,
``explorer_panels``, their panels, and ``explorer_state``, their controls in the page), ``bibtex`` (the one BibTeX writer), ``bibliography`` (the BibTeX file of the sources),
``citestyle`` (the in-text citation style), ``cite_page`` (the "How to cite" page) and ``markers``
(the scan for missing-value markers on pages)."""
