"""How a chart is laid out in the page and in its exported files, and how it is described in words.

``responsive`` makes a chart as wide as the column it sits in (issue 17, item 3): a single or layered
view whose width is a number gets Vega-Lite's ``width: "container"`` with ``autosize`` ``fit-x``, so
on a 375 px phone it is drawn at about 340 px with its labels at their full size, never scaled down as
a picture. A vertical stack whose panels are already ``"container"`` wide (the chart builders draw
their panel charts so, since a facet cannot follow its container) gets the same ``autosize``. Charts
of fixed size (the explorers, drawn to fit a phone) keep it.

``for_export`` undoes that for the SVG and PNG files (which have no container: every ``"container"``
width becomes ``EXPORT_WIDTH``) and writes above the chart what a copy of it must carry: the figure's
title, its data sources, the licence and the figure's address.

``describe`` writes the sentence a screen reader announces for a chart (Vega-Lite's ``description``,
which Vega puts on the SVG as its ``aria-label``): the figure's title, then what is drawn along which
axis, and by what colour. ``leaves`` walks a spec's views, ``colour_counts`` counts the categories each
colour encoding shows, and ``font_sizes`` lists every font size a spec sets, for the tests.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from analysis.book import labels

CONTAINER = "container"
NARROW = 480
"""A chart's column narrower than this (in px) is a phone's: legends in one column, shorter labels."""
FIT = {"type": "fit-x", "contains": "padding"}
EXPORT_WIDTH = 620
COMPOSITIONS = ("layer", "vconcat", "hconcat", "concat")
MARK_WORDS = {"point": "points", "circle": "points", "square": "squares", "line": "lines", "area": "a band",
              "bar": "bars", "rect": "shaded boxes", "rule": "rules", "text": "text", "tick": "ticks"}


def narrow(phone: float, wide: float, *, below: int = NARROW) -> dict[str, str]:
    """``phone`` when the chart's column is narrower than ``below`` px, else ``wide``: a Vega
    expression, evaluated when the chart is drawn (an exported file, which has no column, gets
    ``wide``)."""
    return {"expr": f"containerSize()[0] < {below} ? {phone} : {wide}"}


def leaves(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every view of ``spec`` that has a mark, through layers, concatenations, facets and repeats."""
    if "mark" in spec:
        yield spec
    for key in COMPOSITIONS:
        for child in spec.get(key) or []:
            yield from leaves(child)
    if isinstance(spec.get("spec"), Mapping):
        yield from leaves(spec["spec"])


def _is_view(spec: Mapping[str, Any]) -> bool:
    """A single view or a layer of views (what Vega-Lite can fit to its container)."""
    return ("mark" in spec or "layer" in spec) and not any(k in spec for k in ("facet", "repeat", *COMPOSITIONS[1:]))


def responsive(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` drawn as wide as its container where Vega-Lite allows it (module docstring)."""
    out = dict(spec)
    if _is_view(out) and isinstance(out.get("width"), (int, float)):
        out["width"] = CONTAINER
    panels = out.get("vconcat") or []
    stacked = bool(panels) and all(p.get("width") == CONTAINER for p in panels)
    if out.get("width") == CONTAINER or stacked:
        out["autosize"] = dict(FIT)
    return out


def is_fluid(spec: Mapping[str, Any]) -> bool:
    """Whether ``spec`` follows its container's width."""
    return spec.get("autosize") == FIT


NARROW_EXPR = re.compile(r"^containerSize\(\)\[0\] < \d+ \? (?P<phone>[-\d.e]+) : (?P<wide>[-\d.e]+)$")


def _wide(value: Any) -> Any:
    """A ``narrow`` expression as its wide value (an exported file has no column to measure)."""
    if isinstance(value, dict) and set(value) == {"expr"} and (m := NARROW_EXPR.match(str(value["expr"]))):
        number = float(m["wide"])
        return int(number) if number.is_integer() else number
    return value


def _fixed(node: Any, width: int) -> Any:
    node = _wide(node)
    if isinstance(node, dict):
        return {k: (width if k == "width" and v == CONTAINER else _fixed(v, width)) for k, v in node.items()}
    if isinstance(node, list):
        return [_fixed(v, width) for v in node]
    return node


def _title_lines(title: Any) -> tuple[list[str], list[str]]:
    if isinstance(title, Mapping):
        text, sub = title.get("text", ""), title.get("subtitle", [])
    else:
        text, sub = title or "", []
    as_list = (lambda v: [str(x) for x in v] if isinstance(v, list) else ([str(v)] if v else []))
    return as_list(text), as_list(sub)


def for_export(spec: Mapping[str, Any], *, title: str, lines: Sequence[str], width: int = EXPORT_WIDTH) -> dict[str, Any]:
    """``spec`` at a fixed width with ``title`` and ``lines`` (sources, licence, address) above it; a
    title the chart had is kept as the first lines under the figure's."""
    out = _fixed(copy.deepcopy(dict(spec)), width)
    if out.get("autosize") == FIT:
        out["autosize"] = {"type": "pad"}
    old_text, old_sub = _title_lines(out.get("title"))
    subtitle = [*old_text, *old_sub, *lines]
    out["title"] = {"text": title, "subtitle": subtitle, "anchor": "start", "fontSize": 15,
                    "subtitleFontSize": 11, "subtitleColor": "#444", "subtitlePadding": 4, "offset": 10}
    return out


def _channel_title(encoding: Mapping[str, Any], channel: str, *, explicit: bool) -> str | None:
    enc = encoding.get(channel)
    if not isinstance(enc, Mapping) or "field" not in enc:
        return None
    title = enc.get("title") or (None if explicit else labels.heading(enc["field"]))
    if not title:
        return None
    return " ".join(title) if isinstance(title, list) else str(title)


def _first(spec: Mapping[str, Any], channel: str) -> str | None:
    """The title of ``channel`` in the first view that gives one, else the words of its first field."""
    for explicit in (True, False):
        for leaf in leaves(spec):
            if title := _channel_title(leaf.get("encoding") or {}, channel, explicit=explicit):
                return title
    return None


def _marks(spec: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for leaf in leaves(spec):
        mark = leaf["mark"]["type"] if isinstance(leaf["mark"], Mapping) else str(leaf["mark"])
        word = MARK_WORDS.get(mark, mark)
        if word not in found and word != "text":
            found.append(word)
    return found


def _controls(spec: Mapping[str, Any]) -> list[str]:
    names = []
    for param in spec.get("params") or []:
        bind = param.get("bind")
        if isinstance(bind, Mapping) and bind.get("name"):
            names.append(str(bind["name"]).strip())
    return names


def describe(spec: Mapping[str, Any], title: str) -> str:
    """What a screen reader announces for the chart (module docstring)."""
    parts = [title.rstrip(".") + "."]
    controls = _controls(spec)
    kind = "Interactive chart" if controls else "Chart"
    marks = _marks(spec)
    parts.append(f"{kind} of {_joined(marks)}." if marks else f"{kind}.")
    axes = [f"{label}: {t}" for label, ch in (("horizontal axis", "x"), ("vertical axis", "y"), ("colour", "color"),
                                              ("shape", "shape")) if (t := _first(spec, ch))]
    if axes:
        text = "; ".join(axes)
        parts.append(text[:1].upper() + text[1:] + ".")
    if controls:
        parts.append("Controls: " + ", ".join(controls) + ".")
    parts.append("The figure's data can be downloaded as CSV below it.")
    return " ".join(parts)


def _joined(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def colour_counts(spec: Mapping[str, Any], data: pd.DataFrame) -> dict[str, int]:
    """How many categories each categorical colour encoding of ``spec`` shows: its scale's domain
    when the spec gives one, else the distinct values of its field in ``data``."""
    counts: dict[str, int] = {}
    for leaf in leaves(spec):
        enc = (leaf.get("encoding") or {}).get("color")
        if not isinstance(enc, Mapping) or enc.get("type") not in ("nominal", "ordinal") or "field" not in enc:
            continue
        domain = (enc.get("scale") or {}).get("domain")
        field = str(enc["field"])
        n = len(domain) if isinstance(domain, list) else (int(data[field].nunique()) if field in data else 0)
        counts[field] = max(counts.get(field, 0), n)
    return counts


def font_sizes(node: Any) -> list[float]:
    """Every font size ``node`` (a spec or a part of one) sets."""
    found: list[float] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            if (key == "fontSize" or key.endswith("FontSize")) and isinstance(value, (int, float)):
                found.append(float(value))
            else:
                found.extend(font_sizes(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(font_sizes(value))
    return found
