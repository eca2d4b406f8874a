"""Charts of the book: one theme, deterministic offline HTML, and citable figures.

``enable()`` registers an Altair renderer whose HTML is the same bytes on every run (the chart's
``div`` id is derived from its content, not drawn at random), escapes ``<``, ``>`` and ``&`` inside
the embedded JSON so no text from the data can close the script tag, and loads nothing from the
network when the page already carries the vendored Vega bundle (``write_vega_bundle``). The HTML is
``analysis.book.chart_embed``'s; every chart is drawn as wide as its column where Vega-Lite allows it
(``analysis.book.chart_layout.responsive``), with the book's theme (``_theme``: ten distinct colours,
no font under 11 px, axis titles ending at the axis's end, legends stacked under the chart, and on a
phone one legend column and shorter axis labels, so nothing is cut).

``Figure`` wraps a chart with its label (``fig-...``), a one-line title for citations and the
publishers of the sources its data comes from. While the book is built it displays the chart followed by links
to the exported SVG, PNG and CSV and a "Cite this figure" block (``analysis.book.citation``); the chart's Vega-Lite spec travels in the
output's metadata so the book build can export the files from the recorded notebook
(``export_figures``) without executing anything again. The spec carries a ``description``
(``chart_layout.describe``: the title and what is drawn), which Vega gives the SVG as its accessible
name, and the output's metadata the figure's credit (``analysis.book.figure_files``), which the
exported SVG and PNG carry above the chart and in the file.
Run anywhere else (JupyterLab), a figure and any chart the renderer shows are emitted as the
Vega-Lite mimetype that JupyterLab draws itself (``analysis.book.notebook_view``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from analysis import edition
from analysis.book import chart_embed, chart_layout, figure_files, notebook_view
from analysis.book.citation import BOOK_AUTHOR, BOOK_TITLE, Citation  # noqa: F401 - figures.Citation, figures.BOOK_TITLE
from analysis.escape import csv_frame
from analysis.precision import round_value

RENDERER = "inference-book"
OUTPUT_METADATA_KEY = "inference-book/figure"
FIGURES_DIR = "figures"
LABEL_RE = re.compile(r"^fig-[a-z0-9][a-z0-9-]*$")
EMBED_OPTIONS: dict[str, Any] = {
    "renderer": "svg",
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
}
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
PALETTE = ["#1f5a94", "#d1495b", "#edc948", "#1b9e77", "#9467bd", "#8c564b", "#7fb2e5", "#66a61e", "#a6761d",
           "#bab0ac"]
"""Ten categorical colours, any two at least 30 apart in CIELAB (a difference the eye sees at a glance);
a chart shows at most ten categories by colour."""
MIN_FONT_SIZE = 11

VEGA_BUNDLE_NAME = "vega-bundle.js"


class _ScriptSafeEncoder(json.JSONEncoder):
    """JSON that can sit inside a ``<script>`` element whatever the strings hold."""

    def encode(self, o: Any) -> str:
        return "".join(self.iterencode(o))

    def iterencode(self, o: Any, _one_shot: bool = False) -> Any:
        for chunk in super().iterencode(o, _one_shot):
            yield chunk.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def script_safe_json(obj: Any) -> str:
    """``obj`` as sorted JSON with ``<``, ``>`` and ``&`` escaped."""
    return json.dumps(obj, cls=_ScriptSafeEncoder, sort_keys=True)


def _content_id(spec: Mapping[str, Any]) -> str:
    return "chart-" + hashlib.sha256(script_safe_json(spec).encode()).hexdigest()[:16]


def chart_html(spec: Mapping[str, Any], *, div_id: str | None = None) -> str:
    """The HTML that draws ``spec``; identical bytes for an identical spec."""
    versions = {"vega": alt.VEGA_VERSION, "vega-lite": alt.VEGALITE_VERSION, "vega-embed": alt.VEGAEMBED_VERSION}
    return chart_embed.chart_html(spec, div_id=div_id or _content_id(spec), versions=versions,
                                  embed_options={**EMBED_OPTIONS, "mode": "vega-lite"},
                                  spec_json=script_safe_json(dict(spec)))


def _render(spec: dict[str, Any], **_: Any) -> dict[str, Any] | tuple[dict[str, Any], dict[str, Any]]:
    """A chart shown by Altair: the book's HTML while the book is built, the Vega-Lite mimetype that
    JupyterLab draws anywhere else (``analysis.book.notebook_view``)."""
    spec = chart_layout.responsive(round_value(spec))
    if notebook_view.building():
        return {"text/html": chart_html(spec)}
    return notebook_view.chart_bundle(spec, "<Vega-Lite chart>", EMBED_OPTIONS)


def _rounded_data(data: Any, max_rows: int = 5000) -> Any:
    """Altair's default data transformer with every float rounded (``analysis.precision``) before
    Altair hashes the rows into the dataset's name."""
    from altair.utils.data import limit_rows, to_values

    return round_value(to_values(limit_rows(data, max_rows=max_rows)))


def _theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": FONT,
            "view": {"continuousWidth": 560, "continuousHeight": 320, "stroke": None},
            "axis": {"labelFontSize": 12, "titleFontSize": 12, "grid": True, "gridColor": "#e6e6e6"},
            "axisX": {"titleAnchor": "end", "labelLimit": chart_layout.narrow(120, 200)},
            "axisY": {"labelLimit": chart_layout.narrow(120, 260)},
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom", "columns": chart_layout.narrow(1, 3),
                       "labelLimit": chart_layout.narrow(140, 220), "titleLimit": 300,
                       "layout": {"bottom": {"anchor": "start", "direction": "vertical"}}},
            "header": {"labelFontSize": 12, "titleFontSize": 12},
            "text": {"fontSize": 12},
            "range": {"category": PALETTE},
            "title": {"fontSize": 14, "subtitleFontSize": 12, "anchor": "start"},
        }
    }


def enable() -> None:
    """Use the book's theme and deterministic renderer for every chart in this kernel."""
    alt.theme.register("inference-book", enable=True)(_theme)
    alt.renderers.register(RENDERER, _render)
    alt.renderers.enable(RENDERER)
    alt.data_transformers.register(RENDERER, _rounded_data)
    alt.data_transformers.enable(RENDERER)


def vega_bundle_js() -> str:
    """Vega, Vega-Lite and vega-embed in one script, announcing the versions Altair expects."""
    import vl_convert

    versions = {
        "vega_version": alt.VEGA_VERSION,
        "vegalite_version": alt.VEGALITE_VERSION,
        "vegaembed_version": alt.VEGAEMBED_VERSION,
    }
    major_minor = ".".join(alt.VEGALITE_VERSION.split(".")[:2])
    snippet = (
        "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;\n"
        f"window.VEGA_DEBUG = Object.assign(window.VEGA_DEBUG || {{}}, {json.dumps(versions)});\n"
    )
    bundle = vl_convert.javascript_bundle(snippet, vl_version=major_minor)
    return "(function(){\n" + bundle + "\n})();\n"


def _bundle_stamp() -> str:
    import vl_convert

    return (f"/* vega bundle: vl-convert {vl_convert.__version__}, vega {alt.VEGA_VERSION}, "
            f"vega-lite {alt.VEGALITE_VERSION}, vega-embed {alt.VEGAEMBED_VERSION} */\n")


def write_vega_bundle(static_dir: Path) -> Path:
    """Write the bundle into the book's ``_static`` folder, unless the one there was made by the same
    versions (its first line records them)."""
    static_dir.mkdir(parents=True, exist_ok=True)
    path = static_dir / VEGA_BUNDLE_NAME
    stamp = _bundle_stamp()
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            if fh.readline() == stamp:
                return path
    path.write_text(stamp + vega_bundle_js(), encoding="utf-8")
    return path


@dataclass
class Figure:
    """A chart with what it takes to cite it: label, title, chapter, the publishers of its data's
    sources, the edition's version and date, and its page (``chapters/<slug>.html``)."""

    chart: alt.TopLevelMixin
    label: str
    title: str
    chapter: str
    sources: Sequence[str]
    version: str
    date: str
    page: str
    data: pd.DataFrame | None = None
    _spec: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not LABEL_RE.match(self.label):
            raise ValueError(f"figure label {self.label!r} must look like fig-some-name")
        spec = chart_layout.responsive(round_value(self.chart.to_dict()))
        spec.setdefault("description", chart_layout.describe(spec, self.title))
        self._spec = spec

    @property
    def spec(self) -> dict[str, Any]:
        return self._spec

    def citation(self) -> Citation:
        """How to cite the figure, at its absolute address (the book's ``url`` in ``CITATION.cff``)."""
        return Citation(
            label=self.label, title=self.title, chapter=self.chapter, version=self.version,
            date=self.date, sources=tuple(self.sources), url=edition.page_url(self.page, self.label),
        )

    def _repr_mimebundle_(self, include: Any = None,
                          exclude: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """While the book is built: its HTML, with the spec in the metadata for ``export_figures``.
        Anywhere else: the chart as JupyterLab draws it, its title and citation as text."""
        if not notebook_view.building():
            text = f"Figure {self.label}: {self.title}\nCite as: {self.citation().text()}"
            return notebook_view.chart_bundle(self._spec, text, EMBED_OPTIONS)
        meta = {OUTPUT_METADATA_KEY: {"label": self.label, "title": self.title, "spec": self._spec,
                                      "credit": self.credit().to_dict()}}
        return {"text/html": self.book_html()}, meta

    def book_html(self) -> str:
        """The chart as the book's pages draw it, its download links and its "Cite this figure" block."""
        cite = self.citation()
        base = f"../{FIGURES_DIR}/{self.label}"
        links = " \u00b7 ".join(
            f'<a href="{base}.{ext}" download>{ext.upper()}</a>' for ext in ("svg", "png", "csv")
        )
        block = (
            f'<div class="figure-extras" data-figure="{self.label}">'
            f'<p class="figure-downloads">Download: {links}</p>{cite.html()}</div>'
        )
        return chart_html(self._spec, div_id=f"{self.label}-chart") + block

    def credit(self) -> figure_files.Credit:
        """What the figure's exported files say about it: title, data sources, edition, licence, URL."""
        cite = self.citation()
        return figure_files.Credit(
            title=self.title, data=cite.data_note(), url=cite.url,
            edition=f"{BOOK_TITLE}, {self.chapter}, version {self.version} ({self.date})")


def spec_data(spec: Mapping[str, Any]) -> pd.DataFrame:
    """The inline rows of a Vega-Lite spec (its datasets, concatenated if several)."""
    datasets = spec.get("datasets") or {}
    frames = [pd.DataFrame(rows) for rows in datasets.values()]
    if not frames:
        values = (spec.get("data") or {}).get("values")
        frames = [pd.DataFrame(values or [])]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def iter_notebook_figures(notebook: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """Every figure recorded in a notebook's outputs (glued or displayed)."""
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) or []:
            meta = (output.get("metadata") or {}).get(OUTPUT_METADATA_KEY)
            if meta:
                yield meta


def export_figures(notebooks: Iterable[Path], out_dir: Path) -> list[Path]:
    """Write ``<label>.svg``, ``.png`` and ``.csv`` for every figure recorded in ``notebooks``; the
    pictures at a fixed width, with the figure's credit above the chart and in the file."""
    import vl_convert

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    seen: dict[str, Path] = {}
    for nb_path in notebooks:
        notebook = json.loads(nb_path.read_text(encoding="utf-8"))
        for fig in iter_notebook_figures(notebook):
            label = fig["label"]
            if label in seen and seen[label] != nb_path:
                raise ValueError(f"figure label {label} is used in both {seen[label]} and {nb_path}")
            seen[label] = nb_path
            spec = fig["spec"]
            credit = figure_files.credit_of(fig, f"chapters/{nb_path.stem}.html")
            drawn = chart_layout.for_export(spec, title=credit.title, lines=credit.lines())
            vl_version = "v" + "_".join(alt.VEGALITE_VERSION.split(".")[:2])
            svg = vl_convert.vegalite_to_svg(drawn, vl_version=vl_version)
            png = vl_convert.vegalite_to_png(drawn, vl_version=vl_version, scale=2)
            targets = {
                out_dir / f"{label}.svg": figure_files.credited_svg(svg, credit).encode("utf-8"),
                out_dir / f"{label}.png": figure_files.credited_png(png, credit),
                out_dir / f"{label}.csv": csv_frame(spec_data(spec)).to_csv(index=False).encode("utf-8"),
            }
            for path, payload in targets.items():
                if not path.exists() or path.read_bytes() != payload:
                    path.write_bytes(payload)
                written.append(path)
    return written
