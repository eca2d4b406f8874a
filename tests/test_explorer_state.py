"""The explorers' controls (issue 17, item 5): what each explorer declares (``usermeta``: defaults,
ranges, a chip's own prices, a model's window, fixed axes) and what the page script does with it.

The script (``analysis.book.explorer_state.SCRIPT``) is run in Node.js, when the machine has it, against
a stand-in for the vega-embed view and the page (signals, listeners, the address, the controls): it
reads a state from the address and refuses what is out of range, writes the state back, brings a
chip's prices when the chip changes, caps the context at the model's window, and resets. The browser
tests of ``tests/test_explorers.py`` drive the same script in Chromium.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pandas as pd
import pytest

from analysis.book import chart_embed, explorer_state, explorer_tables, explorers, figures
from analysis.models import market
from tests.conftest import ROOT
from tests.vega_expressions import Transforms

NODE = shutil.which("node") or shutil.which("nodejs")
COST = {"chip": "h100-sxm", "model": "llama-3.3-70b", "bits": 8, "context": 2048, "utilization": 0.5}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    frames = {name: pd.read_csv(ROOT / "data" / f"{name}.csv") for name in ("chips", "models", "hardware_costs", "prices")}
    return {**frames, "energy": pd.read_csv(ROOT / "data" / "energy.csv", parse_dates=["date"])}


@pytest.fixture(scope="module")
def cost_spec(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    defaults, _ = market.cost_defaults(tables["hardware_costs"], tables["energy"], chip="h100-sxm",
                                       as_of="2026-11-29")
    return explorers.cost_explorer(tables["chips"], tables["models"], tables["hardware_costs"], tables["prices"],
                                   **COST, **defaults).to_dict()


@pytest.fixture(scope="module")
def roofline_spec(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    return explorers.roofline_explorer(tables["chips"], tables["models"], model="llama-2-70b", bits=8, batch=16,
                                       context=2048).to_dict()


def test_a_control_needs_options_or_a_range_and_couplings_name_real_controls() -> None:
    with pytest.raises(ValueError, match="neither options nor a range"):
        explorer_state.usermeta(key="k", layout="sticky", params=[{"name": "a", "value": 1}])
    with pytest.raises(ValueError, match="does not have"):
        explorer_state.usermeta(key="k", layout="sticky", params=[{"name": "a", "value": 1, "options": [1]}],
                                limits={"by": "a", "param": "b", "max": {}})
    with pytest.raises(ValueError, match="layout"):
        explorer_state.usermeta(key="k", layout="floating", params=[])


def test_the_roofline_explorer_declares_its_controls_window_and_fixed_axes(
        tables: dict[str, pd.DataFrame], roofline_spec: dict[str, Any]) -> None:
    entry = explorer_state.config(roofline_spec)
    assert entry["key"] == "roofline" and entry["layout"] == "sticky"
    assert [p["name"] for p in entry["params"]] == list(explorers.ROOFLINE_PARAMS)
    assert {p["name"]: p["value"] for p in entry["params"]} == {"model": "llama-2-70b", "bits": 8, "batch": 16,
                                                                "context": 2048}
    assert entry["limits"]["max"]["llama-2-70b"] == 4096 and entry["limits"]["param"] == "context"
    rows = Transforms(roofline_spec)
    panels = roofline_spec["vconcat"]
    for case in ({"model": "llama-3.1-405b", "bits": 16, "batch": 1024, "context": 32768},
                 {"model": "llama-3.1-8b", "bits": 4, "batch": 1, "context": 128}):
        drawn = [r for r in rows.rows(case) if r["status"] == "ok"]
        assert drawn
        for panel in panels:
            x = panel["layer"][0]["encoding"]["x"]
            low, high = x["scale"]["domain"]
            values = [r[x["field"]] for r in drawn]
            assert low <= min(values) and max(values) <= high, f"{x['field']} leaves its fixed axis at {case}"
    labels = {r["chip_label"] for r in roofline_spec["datasets"][roofline_spec["data"]["name"]]}
    assert "H100 SXM5 80GB" in labels and "h100-sxm" not in labels


def test_the_cost_explorer_declares_each_chips_own_prices(tables: dict[str, pd.DataFrame],
                                                         cost_spec: dict[str, Any]) -> None:
    entry = explorer_state.config(cost_spec)
    presets = entry["presets"]["values"]
    defaults, _ = market.cost_defaults(tables["hardware_costs"], tables["energy"], chip="h100-sxm", as_of="2026-11-29")
    assert presets["h100-sxm"] == {"hourly_usd": defaults["hourly_usd"], "capex_usd": defaults["capex_usd"]}
    assert presets["b200"]["hourly_usd"] != presets["h100-sxm"]["hourly_usd"], "a B200 brings its own rental"
    ranges = {p["name"]: p for p in entry["params"]}
    for chip, prices in presets.items():
        for name, value in prices.items():
            assert ranges[name]["min"] <= value <= ranges[name]["max"], f"{chip}'s {name} is off its slider"
    chip_param = next(p for p in cost_spec["params"] if p["name"] == "chip")
    assert "H100 SXM5 80GB" in chip_param["bind"]["labels"], "the chip menu names chips"
    price_y = cost_spec["vconcat"][1]["layer"][0]["encoding"]["y"]["scale"]
    observed = explorer_tables.price_table(tables["prices"], tables["models"])["output_usd_per_mtok"]
    assert price_y["domain"][0] <= observed.min() and observed.max() <= price_y["domain"][1] and price_y["clamp"]


def test_the_explorer_html_carries_its_script_and_loads_nothing(cost_spec: dict[str, Any]) -> None:
    html = figures.chart_html(cost_spec, div_id="explorer")
    assert 'class="book-chart book-explorer"' in html and "explorer-reset" in html
    assert "history.replaceState" in html and "URLSearchParams" in html and ".chart-wrapper{display:flex" in html
    script = explorer_state.SCRIPT
    assert "fetch(" not in script and "eval(" not in script and "innerHTML" not in script and "http" not in script
    assert html.count("#explorer .vega-bindings") >= 1 and "@ID@" not in html
    assert chart_embed.chart_html({"mark": "point"}, div_id="c", versions={}, embed_options={},
                                  spec_json="{}").count("explorer") == 0


NODE_HARNESS = r"""
const spec = JSON.parse(require("fs").readFileSync(0, "utf8")); const search = process.argv[1];
const glue = (%s);
const signals = {}; spec.usermeta.explorer.params.forEach(p => { signals[p.name] = p.value; });
const seen = Object.assign({}, signals), listeners = {}, urls = [];
const view = {
  signal(n, v) { if (arguments.length === 1) return signals[n]; signals[n] = v; return view; },
  addSignalListener(n, h) { (listeners[n] = listeners[n] || []).push(h); return view; },
  runAsync() {
    Object.keys(signals).filter(k => signals[k] !== seen[k]).forEach(k => {
      seen[k] = signals[k]; (listeners[k] || []).forEach(h => h(k, signals[k])); });
    return Promise.resolve(view);
  },
};
const range = {max: "32768"}, button = {handlers: {}, addEventListener(e, h) { this.handlers[e] = h; }};
const bindings = {children: [], appendChild(c) { this.children.push(c); }};
const div = {querySelector(s) { return s === ".vega-bindings" ? bindings : (s.includes("context") ? range : null); }};
global.document = {createElement: () => button};
global.window = {location: {search: search, pathname: "/page.html", hash: "#fig"}, setTimeout: setTimeout,
  history: {state: null, replaceState(s, t, url) { urls.push(url); window.location.search = url.slice(10).split("#")[0]; }}};
const tick = () => new Promise(r => setTimeout(r, 5));
const snap = (what) => ({what, signals: Object.assign({}, signals), url: urls[urls.length - 1], max: range.max});
(async () => {
  const out = [];
  await glue({view}, div, spec); await tick(); out.push(snap("load"));
  view.signal("chip", "mi300x"); await view.runAsync(); await tick(); await tick(); out.push(snap("chip"));
  view.signal("context", 30000); await view.runAsync(); await tick();
  view.signal("model", "llama-2-70b"); await view.runAsync(); await tick(); await tick(); out.push(snap("model"));
  button.handlers.click(); await tick(); await tick(); out.push(snap("reset"));
  process.stdout.write(JSON.stringify({out, label: button.textContent, buttons: bindings.children.length}));
})();
"""


@pytest.mark.skipif(NODE is None, reason="no Node.js to run the page script with")
def test_the_page_script_keeps_state_brings_prices_caps_context_and_resets(cost_spec: dict[str, Any]) -> None:
    search = "?other=1&cost.chip=b200&cost.utilization=7&cost.hourly_usd=abc&cost.bits=3"
    done = subprocess.run([NODE, "-e", NODE_HARNESS % explorer_state.SCRIPT, search], input=json.dumps(cost_spec),
                          capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(done.stdout)
    load, chip, model, reset = result["out"]
    presets = explorer_state.config(cost_spec)["presets"]["values"]
    defaults = {p["name"]: p["value"] for p in explorer_state.config(cost_spec)["params"]}
    assert load["signals"]["chip"] == "b200" and load["signals"]["hourly_usd"] == presets["b200"]["hourly_usd"]
    assert load["signals"]["utilization"] == 1.0, "a value beyond its slider is brought back to its end"
    assert load["signals"]["bits"] == defaults["bits"], "a value that is not an option is ignored"
    assert "other=1" in load["url"] and "cost.chip=b200" in load["url"] and load["url"].endswith("#fig")
    assert chip["signals"]["hourly_usd"] == presets["mi300x"]["hourly_usd"] and "cost.chip=mi300x" in chip["url"]
    assert model["signals"]["context"] == 4096 and model["max"] == "4096", "Llama 2 70B reads 4,096 tokens"
    assert reset["signals"] == defaults and reset["url"] == "/page.html?other=1#fig"
    assert result["label"] == explorers.RESET_LABEL and result["buttons"] == 1
