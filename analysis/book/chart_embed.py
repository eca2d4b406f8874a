"""The HTML that draws one chart: a labelled container, its style, and the script that embeds it.

``chart_html`` writes, for a Vega-Lite spec, a ``div`` of class ``book-chart`` that screen readers
announce as a figure named by the spec's ``description`` (``aria-label``), the element vega-embed
draws into, and a script that draws the chart with the vendored Vega bundle when the page carries it
(``analysis.book.figures.write_vega_bundle``) or loads the three libraries otherwise, as Altair's own
"universal" template does. The bytes depend on the spec alone: the same spec gives the same HTML.

A spec whose ``usermeta`` holds an ``explorer`` entry (``analysis.book.explorer_state``) also gets
the explorer's script, run once the chart is drawn: its controls go above the chart, with a reset
button, and their state is kept in the page's address.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from analysis.book import explorer_state

STYLE = ("#@ID@.vega-embed{width:100%;display:flex;flex-direction:column;box-sizing:border-box}"
         "#@ID@.vega-embed details,#@ID@.vega-embed details summary{position:relative}"
         "#@ID@.vega-embed details{align-self:flex-end}")
SCRIPT = """(function(spec, embedOpt, versions, after){
  let outputDiv = document.currentScript.previousElementSibling;
  if (outputDiv.id !== "@ID@") outputDiv = document.getElementById("@ID@");
  const paths = {
    "vega": "https://cdn.jsdelivr.net/npm/vega@" + versions.vega + "?noext",
    "vega-lite": "https://cdn.jsdelivr.net/npm/vega-lite@" + versions["vega-lite"] + "?noext",
    "vega-embed": "https://cdn.jsdelivr.net/npm/vega-embed@" + versions["vega-embed"] + "?noext",
  };
  const debug = window.VEGA_DEBUG = window.VEGA_DEBUG || {};
  function load(lib) {
    const key = lib.replace("-", "") + "_version";
    if (debug[key] === versions[lib]) return Promise.resolve();
    return new Promise(function(resolve, reject) {
      const s = document.createElement("script");
      s.async = true;
      s.onload = function() { debug[key] = versions[lib]; resolve(); };
      s.onerror = function() { reject("Error loading script: " + paths[lib]); };
      s.src = paths[lib];
      document.head.appendChild(s);
    });
  }
  function showError(err) {
    outputDiv.textContent = String(err);
    throw err;
  }
  function draw(vegaEmbed) {
    return vegaEmbed(outputDiv, spec, embedOpt).then(function(result) { if (after) after(result, outputDiv, spec); });
  }
  const bundled = debug.vegaembed_version === versions["vega-embed"] && window.vegaEmbed;
  if (!bundled && typeof define === "function" && define.amd) {
    requirejs.config({paths: paths});
    require(["vega-embed"], function(vegaEmbed) { draw(vegaEmbed).catch(showError); }, showError);
    return;
  }
  load("vega").then(function() { return load("vega-lite"); }).then(function() { return load("vega-embed"); })
    .then(function() { return draw(window.vegaEmbed); })
    .catch(showError);
})(@SPEC@, @OPTIONS@, @VERSIONS@, @AFTER@);"""


def _replace(template: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    return template


def chart_html(spec: Mapping[str, Any], *, div_id: str, versions: Mapping[str, str],
               embed_options: Mapping[str, Any], spec_json: str) -> str:
    """The HTML of one chart (module docstring); ``spec_json`` is ``spec`` as script-safe JSON."""
    config = explorer_state.config(spec)
    after = explorer_state.script(config) if config else "null"
    style = STYLE + (explorer_state.style(div_id, config) if config else "")
    classes = "book-chart book-explorer" if config else "book-chart"
    label = html.escape(str(spec.get("description") or "Chart"), quote=True)
    script = _replace(SCRIPT, {
        "SPEC": spec_json, "OPTIONS": json.dumps(dict(embed_options), sort_keys=True),
        "VERSIONS": json.dumps(dict(versions), sort_keys=True), "AFTER": after, "ID": div_id,
    })
    return (f'<div class="{classes}" role="figure" aria-label="{label}">'
            f'<style>{_replace(style, {"ID": div_id})}</style>'
            f'<div id="{div_id}"></div>\n<script type="text/javascript">\n{script}\n</script></div>')
