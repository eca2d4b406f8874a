"""The build: one sequence (``workflow``) for ``make book``, ``make store`` and ``make rerun``.

``workflow`` runs lock, checks, validation, the store (``bookstore``, with the parametrized
``analyses``), the stale chapters (``pipeline``, whose notebook files ``notebooks`` keeps byte-stable
and whose texts ``texts`` keeps in step), the HTML (``html_build``) and the commit (``journal``, which
also completes an interrupted one); ``failures`` turns what went wrong into one message, and
``faults`` kills a run at a named point for the tests; ``rerun`` merges a folder of new data;
``parameters`` and ``limits`` check what a run may be given; ``lock`` is the build lock; ``offline``
is the local server and browser; ``publish`` prints the PDF; ``reproduce`` re-executes everything at
numpy's baseline instruction set; ``data_release`` copies the tables, their contracts, the Data Package
descriptor and the store into the built site with an index (not yet a step of ``workflow``).
"""
