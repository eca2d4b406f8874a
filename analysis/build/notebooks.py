"""A chapter notebook as a file, byte-stable from run to run: the hash of what a person wrote in it,
the metadata papermill changes on every run normalized away, and an atomic write.

An unchanged chapter executed again is therefore the same bytes (``normalize``), and a notebook is
never half written (``write_notebook``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import nbformat

LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
INJECTED_TAG = "injected-parameters"


def source_hash(nb: nbformat.NotebookNode) -> str:
    """Hash of what a person wrote in the notebook: cell types and sources, nothing executed."""
    cells = [
        [c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"]]
        for c in nb.cells
        if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])
    ]
    return hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()


def normalize(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what changes from run to run without changing what the chapter says."""
    nb.metadata.pop("papermill", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        cell["id"] = f"cell-{index:03d}"
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("papermill", None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write atomically: a complete file or the old one, never half of one."""
    text = nbformat.writes(nb, version=4)
    if not text.endswith("\n"):
        text += "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
