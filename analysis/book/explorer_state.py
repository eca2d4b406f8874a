"""An explorer's controls in the page: above the chart, resettable, kept in the address, and coupled.

An explorer (``analysis.book.explorers``) carries, in its spec's ``usermeta``, an ``explorer`` entry
(``usermeta``) naming its controls with their defaults and ranges. ``analysis.book.chart_embed``
then adds ``script()``, which runs once vega-embed has drawn the chart, and ``style()``:

* the controls sit above the chart (``layout`` ``"sticky"``: and stay in view while a tall chart is
  scrolled; ``"beside"``: beside a short chart where there is room, above it on a phone);
* a "Reset" button puts every control back to its default;
* every control's value that differs from its default is written into the page's query string
  (``?roofline.batch=64``, under the explorer's ``key``) with ``history.replaceState`` (on a book
  page, an address ending in ``.html``; a notebook's address is left alone), and read from it when the
  page opens, so a link reproduces the state; a value from the address is used only when it is one of
  the control's options or a number inside its range (a number beyond the range is brought to its end);
* ``presets``: choosing a value of one control (the chip) sets others to that value's own figures
  (its observed rental and purchase prices), where the store has them;
* ``limits``: choosing a value of one control (the model) caps another (the context slider) at that
  value's figure (the model's window), so the slider cannot reach a state in which every chip is
  refused.

Nothing is loaded: the script is inline and uses only the vega-embed result and the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

KEY = "explorer"
LAYOUTS = ("sticky", "beside")
SCRIPT = r"""function (result, div, spec) {
  "use strict";
  const cfg = spec.usermeta.explorer, view = result.view, prefix = cfg.key + ".";
  const byName = {}, seen = {};
  cfg.params.forEach(function (p) { byName[p.name] = p; });
  const presets = cfg.presets || null, limits = cfg.limits || null;
  function top(p) {
    if (!limits || p.name !== limits.param) return p.max;
    const cap = limits.max[view.signal(limits.by)];
    if (typeof cap !== "number" || cap >= p.max) return p.max;
    return Math.max(p.min, p.min + Math.floor((cap - p.min) / p.step) * p.step);
  }
  function valid(p, raw) {
    if (!p || raw === null || raw === undefined || raw === "") return undefined;
    if (p.options) return p.options.find(function (o) { return String(o) === String(raw); });
    const x = Number(raw);
    return isFinite(x) ? Math.min(top(p), Math.max(p.min, x)) : undefined;
  }
  function clamp() {
    if (!limits) return;
    const p = byName[limits.param], cap = top(p);
    const input = div.querySelector("input[type=range][name='" + p.name + "']");
    if (input) input.max = String(cap);
    if (view.signal(p.name) > cap) view.signal(p.name, cap);
  }
  function bring(state) {
    if (!presets) return;
    const own = presets.values[view.signal(presets.by)] || {};
    Object.keys(own).forEach(function (k) {
      const v = valid(byName[k], own[k]);
      if (valid(byName[k], state[k]) === undefined && v !== undefined) view.signal(k, v);
    });
  }
  function write() {
    if (!/\.html$/.test(window.location.pathname)) return;  /* a book page, not a notebook's address */
    try {
      const q = new URLSearchParams(window.location.search);
      cfg.params.forEach(function (p) {
        const v = view.signal(p.name);
        if (v === p.value) q.delete(prefix + p.name); else q.set(prefix + p.name, String(v));
      });
      const s = q.toString();
      window.history.replaceState(window.history.state, "",
        window.location.pathname + (s ? "?" + s : "") + window.location.hash);
    } catch (e) { /* an address that cannot be rewritten (a sandboxed frame) keeps no state */ }
  }
  function apply(state) {
    [presets && presets.by, limits && limits.by].forEach(function (k) {
      const v = k ? valid(byName[k], state[k]) : undefined;
      if (v !== undefined) view.signal(k, v);
    });
    if (presets && valid(byName[presets.by], state[presets.by]) !== undefined) bring(state);
    Object.keys(state).forEach(function (k) {
      const v = valid(byName[k], state[k]);
      if (v !== undefined) view.signal(k, v);
    });
    clamp();
    cfg.params.forEach(function (p) { seen[p.name] = view.signal(p.name); });
    return view.runAsync().then(write);
  }
  function follow(name, value) {
    if (seen[name] === value) return;
    seen[name] = value;
    window.setTimeout(function () {
      if (presets && name === presets.by) bring({});
      if (limits && name === limits.by) clamp();
      cfg.params.forEach(function (p) { seen[p.name] = view.signal(p.name); });
      view.runAsync().then(write);
    }, 0);
  }
  const bindings = div.querySelector(".vega-bindings");
  if (bindings) {
    const reset = document.createElement("button");
    reset.type = "button";
    reset.className = "explorer-reset";
    reset.textContent = cfg.reset;
    reset.addEventListener("click", function () {
      const defaults = {};
      cfg.params.forEach(function (p) { defaults[p.name] = p.value; });
      apply(defaults);
    });
    bindings.appendChild(reset);
  }
  cfg.params.forEach(function (p) { view.addSignalListener(p.name, follow); });
  const q = new URLSearchParams(window.location.search), state = {};
  cfg.params.forEach(function (p) { if (q.has(prefix + p.name)) state[p.name] = q.get(prefix + p.name); });
  return apply(state);
}"""
STYLE = {
    "sticky": ("#@ID@ .vega-bindings{position:sticky;top:var(--book-sticky-top,0px);z-index:3;"
               "background:var(--pst-color-background,#fff);border-bottom:1px solid #ddd}"),
    "beside": ("@media (min-width:640px){#@ID@ .chart-wrapper{flex-direction:row;flex-wrap:wrap;"
               "align-items:flex-start;column-gap:1.5em}#@ID@ .vega-bindings{flex:1 1 16em;max-width:24em}}"),
}
COMMON_STYLE = ("#@ID@.vega-embed{overflow:visible}#@ID@ .chart-wrapper{display:flex;flex-direction:column}"
                "#@ID@ .vega-bindings{order:-1;display:grid;grid-template-columns:repeat(auto-fill,minmax(19em,1fr));"
                "gap:.25em 1.5em;padding:.4em 0;font-size:.85em}"
                "#@ID@ .vega-bind,#@ID@ .vega-bind label{display:flex;flex-wrap:wrap;align-items:center;"
                "gap:0 .4em;margin:0}"
                "#@ID@ .vega-bind-name{flex:0 0 8.5em}#@ID@ .vega-bind select{max-width:12em;min-width:0}"
                "#@ID@ .vega-bind input[type=range]{flex:1 1 6em;max-width:12em}"
                "#@ID@ .explorer-reset{justify-self:start;font-size:1em;padding:.1em .7em;cursor:pointer}")


def usermeta(*, key: str, layout: str, params: Sequence[Mapping[str, Any]], reset: str = "Reset",
             presets: Mapping[str, Any] | None = None, limits: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``usermeta`` of an explorer's spec (module docstring): each of ``params`` has a ``name``
    and a default ``value``, and either ``options`` or ``min``, ``max`` and ``step``."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")
    names = [p["name"] for p in params]
    for p in params:
        if "options" not in p and not all(k in p for k in ("min", "max", "step")):
            raise ValueError(f"control {p['name']!r} has neither options nor a range")
    for coupling, targets in ((presets, lambda c: {k for v in c["values"].values() for k in v}),
                              (limits, lambda c: {c["param"]})):
        if coupling and not ({coupling["by"]} | targets(coupling)) <= set(names):
            raise ValueError(f"a coupling names a control the explorer does not have: {coupling}")
    entry: dict[str, Any] = {"key": key, "layout": layout, "params": [dict(p) for p in params], "reset": reset}
    if presets:
        entry["presets"] = dict(presets)
    if limits:
        entry["limits"] = dict(limits)
    return {KEY: entry}


def config(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """The explorer entry of ``spec``'s ``usermeta``, if it has one."""
    meta = spec.get("usermeta")
    entry = meta.get(KEY) if isinstance(meta, Mapping) else None
    return dict(entry) if isinstance(entry, Mapping) else None


def script(entry: Mapping[str, Any]) -> str:
    """The script run once the explorer is drawn (it reads ``entry`` from the spec itself)."""
    return SCRIPT


def style(div_id: str, entry: Mapping[str, Any]) -> str:
    """The explorer's own style rules, for the chart drawn in ``div_id`` (``@ID@`` is replaced later)."""
    return COMMON_STYLE + STYLE[str(entry.get("layout", "sticky"))]
