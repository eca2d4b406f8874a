"""The what-if explorers compute in the browser what ``analysis.models.roofline`` and ``analysis.models.costs`` compute.

The browser tests (marked ``build``) build a store from a copy of the data folder. Each explorer is
embedded in a small page beside the vendored Vega bundle, served from 127.0.0.1 and opened in Debian's
Chromium with every off-machine request aborted. The agreement tests set the explorers' parameters
through the Vega View API, read the transformed rows and compare them with the Python functions to a
relative 1e-9 (``RTOL``; chip counts, batches and bound labels exactly); the interaction tests move
the real controls and watch the drawn text change; the export test renders the default state with
vl_convert. Each comparison is also run against a deliberately wrong formula, to show it can fail.

The unit tests at the end run the same expressions, taken from the emitted spec, without a browser
(``tests.vega_expressions``) on the committed CSV tables: the attention cache every model's row
computes must be ``analysis.models.attention``'s (windowed layers capped at their window, latent
attention's latent), the rows must agree with ``roofline_point`` as in the browser, and the heads
formula put back in the spec must fail the comparison for a windowed and a latent-attention model.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pytest

from analysis.book import explorer_formulas, explorer_tables, explorers, figures
from analysis.build import bookstore, offline
from analysis.data import reader
from analysis.models import attention, costs, roofline
from analysis.models.roofline_point import roofline_point
from tests.conftest import ROOT
from tests.vega_expressions import Transforms

BUILD = pytest.mark.build

RTOL = 1e-9
PHONE_WIDTH = 360
TIMEOUT_MS = 20000
MARK_TEXT = "#explorer svg.marks g.mark-text.role-mark text"
BATCHES = (1, 3, 64, 1024)
CONTEXTS = (128, 4096, 32768)
N_COST_CASES = 120
ROOFLINE_FIELDS = {
    "chips": "chips",
    "batch_size": "batch",
    "bytes_per_step": "bytes_per_step",
    "flops_per_step": "flops_per_step",
    "time_memory_s": "time_memory_s",
    "time_compute_s": "time_compute_s",
    "step_time_s": "step_time_s",
    "per_user_tokens_per_s": "per_user_tokens_per_s",
    "tokens_per_s_per_chip": "tokens_per_s_per_chip",
    "system_tokens_per_s": "system_tokens_per_s",
    "bound": "bound",
}
DEFAULTS = {"model": "llama-2-70b", "bits": 8, "batch": 16, "context": 2048}
COST_DEFAULTS = {
    "chip": "h100-sxm", "model": "llama-3.3-70b", "bits": 8, "utilization": 0.5, "hourly_usd": 2.99,
    "capex_usd": 31000.0, "amortization_years": 5.0, "electricity_usd_per_kwh": 0.09, "pue": 1.3,
}


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    data = tmp_path_factory.mktemp("data")
    for path in (ROOT / "data").iterdir():
        if path.suffix in (".csv", ".yml"):
            shutil.copy(path, data / path.name)
    built = bookstore.build(data, data / "store.duckdb")
    with reader.open_store(built) as db:
        return {name: db.table(name) for name in ("chips", "models", "hardware_costs", "prices")}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    root = tmp_path_factory.mktemp("site")
    (root / figures.VEGA_BUNDLE_NAME).write_text(figures.vega_bundle_js(), encoding="utf-8")

    with offline.serve(root) as base:
        yield root, base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with offline.browser() as b:
        yield b


def _page_html(spec: Mapping[str, Any], *, book_embed: bool) -> str:
    head = (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<script src="{figures.VEGA_BUNDLE_NAME}"></script></head><body style="margin:0">'
    )
    if book_embed:
        return head + figures.chart_html(spec, div_id="explorer") + "</body></html>"
    return head + (
        '<div id="explorer"></div><script>'
        f"window.explorerReady = vegaEmbed('#explorer', {figures.script_safe_json(spec)},"
        " {renderer: 'svg', actions: false}).then(r => { window.explorer = r; return true; });"
        "</script></body></html>"
    )


def _open(browser: Any, site: tuple[Path, str], name: str, spec: Mapping[str, Any], *,
          book_embed: bool = False, width: int = 1000, query: str = "") -> tuple[Any, dict[str, list[str]]]:
    root, base = site
    (root / f"{name}.html").write_text(_page_html(spec, book_embed=book_embed), encoding="utf-8")
    problems: dict[str, list[str]] = {"offsite": [], "console": [], "pageerror": []}
    context = offline.offline_context(browser, problems["offsite"], viewport={"width": width, "height": 900})
    page = context.new_page()
    page.on("console", lambda m: problems["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems["pageerror"].append(str(e)))
    page.goto(f"{base}/{name}.html{query}", wait_until="load")
    if not book_embed:
        page.wait_for_function("() => window.explorer !== undefined", timeout=TIMEOUT_MS)
    page.wait_for_function("() => document.querySelector('#explorer svg.marks')", timeout=TIMEOUT_MS)
    return page, problems


SWEEP_JS = """async ({cases, field}) => {
  const rowsOf = %s;
  const out = [];
  for (const c of cases) {
    for (const [name, value] of Object.entries(c)) window.explorer.view.signal(name, value);
    await window.explorer.view.runAsync();
    out.push(rowsOf(window.explorer, field));
  }
  return out;
}""" % explorers.EXPLORER_ROWS_JS


def _sweep(page: Any, cases: Sequence[Mapping[str, Any]], field: str) -> list[list[dict[str, Any]]]:
    return page.evaluate(SWEEP_JS, {"cases": list(cases), "field": field})


def _close(a: Any, b: Any) -> bool:
    if isinstance(b, str) or isinstance(a, str):
        return a == b
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=RTOL, abs_tol=0.0)


def _rows(frame: pd.DataFrame) -> dict[str, pd.Series]:
    return {str(r["slug"]): r for _, r in frame.iterrows()}


def roofline_mismatches(tables: Mapping[str, pd.DataFrame], cases: Sequence[Mapping[str, Any]],
                        drawn: Sequence[Sequence[Mapping[str, Any]]]) -> list[str]:
    """Every difference between the explorer's rows and ``roofline.roofline_point``, as text."""
    chips, models = _rows(tables["chips"]), _rows(tables["models"])
    problems: list[str] = []
    for case, rows in zip(cases, drawn):
        if len(rows) != len(chips):
            problems.append(f"{case}: {len(rows)} rows for {len(chips)} chips")
        for row in rows:
            where = f"{row['chip']} {case}"
            try:
                want = roofline_point(chips[row["chip"]], models[case["model"]], bits=case["bits"],
                                      batch=case["batch"], context=case["context"])
            except ValueError as err:
                if row["status"] == explorer_formulas.STATUS_OK:
                    problems.append(f"{where}: Python refuses ({err}) but the explorer draws it")
                continue
            if row["status"] != explorer_formulas.STATUS_OK:
                problems.append(f"{where}: the explorer refuses ({row['status']}) but Python computes it")
                continue
            for field, attribute in ROOFLINE_FIELDS.items():
                if not _close(row[field], getattr(want, attribute)):
                    problems.append(f"{where}: {field} {row[field]!r} != {getattr(want, attribute)!r}")
    return problems


def _roofline_cases(models: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"model": m, "bits": b, "batch": n, "context": x}
        for m in models["slug"] for b in roofline.SUPPORTED_BITS for n in BATCHES for x in CONTEXTS
    ]


def _roofline_chart(tables: Mapping[str, pd.DataFrame]) -> alt.TopLevelMixin:
    return explorers.roofline_explorer(tables["chips"], tables["models"], **DEFAULTS)


def _cost_chart(tables: Mapping[str, pd.DataFrame]) -> alt.TopLevelMixin:
    return explorers.cost_explorer(tables["chips"], tables["models"], tables["hardware_costs"],
                                   tables["prices"], **COST_DEFAULTS)


@BUILD
def test_roofline_explorer_agrees_with_python(browser: Any, site: tuple[Path, str],
                                              tables: dict[str, pd.DataFrame]) -> None:
    cases = _roofline_cases(explorer_tables.with_shapes(tables["models"]))
    assert len(cases) >= 50
    page, problems = _open(browser, site, "roofline-agreement", _roofline_chart(tables).to_dict())
    drawn = _sweep(page, cases, "per_user_tokens_per_s")
    page.context.close()
    assert problems == {"offsite": [], "console": [], "pageerror": []}
    assert roofline_mismatches(tables, cases, drawn) == []
    statuses = {row["status"] for rows in drawn for row in rows}
    assert {explorer_formulas.STATUS_OK, explorer_formulas.STATUS_UNSUPPORTED,
            explorer_formulas.STATUS_NO_PEAK, explorer_formulas.STATUS_WINDOW} <= statuses
    bounds = {row["bound"] for rows in drawn for row in rows}
    assert {roofline.BOUND_MEMORY, roofline.BOUND_COMPUTE} <= bounds


def _cost_cases(tables: Mapping[str, pd.DataFrame]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(9)
    chips = tables["chips"]["slug"].tolist()
    models = explorer_tables.with_shapes(tables["models"])["slug"].tolist()
    cases = []
    for i in range(N_COST_CASES):
        cases.append({
            "chip": chips[i % len(chips)],
            "model": models[int(rng.integers(len(models)))],
            "bits": int(rng.choice(roofline.SUPPORTED_BITS)),
            "context": int(rng.choice([128, 1024, 2048, 8192, 32768])),
            "ownership": explorer_formulas.OWN if i % 2 else explorer_formulas.RENT,
            "hourly_usd": round(float(rng.uniform(0.1, 15.0)), 2),
            "capex_usd": round(float(rng.uniform(500, 60000)), -2),
            "amortization_years": float(rng.choice([1.0, 3.0, 4.5, 6.0, 10.0])),
            "electricity_usd_per_kwh": round(float(rng.uniform(0.01, 0.5)), 3),
            "pue": round(float(rng.uniform(1.0, 2.5)), 2),
            "utilization": round(float(rng.uniform(0.05, 1.0)), 2),
        })
    return cases


def cost_mismatches(tables: Mapping[str, pd.DataFrame], cases: Sequence[Mapping[str, Any]],
                    drawn: Sequence[Sequence[Mapping[str, Any]]]) -> list[str]:
    """Every difference between the cost explorer's row and ``roofline_point(batch="max")`` followed
    by ``costs.cost_point``, as text."""
    chips, models = _rows(tables["chips"]), _rows(tables["models"])
    problems: list[str] = []
    for case, rows in zip(cases, drawn):
        if len(rows) != 1:
            problems.append(f"{case}: {len(rows)} rows, expected 1")
            continue
        row, chip = rows[0], chips[case["chip"]]
        owning = case["ownership"] == explorer_formulas.OWN
        try:
            point = roofline_point(chip, models[case["model"]], bits=case["bits"], batch="max",
                                   context=case["context"])
            if owning and not (pd.notna(chip["tdp_w"]) and chip["tdp_w"] >= 0):
                raise ValueError("no power figure")
        except ValueError as err:
            if row["status"] == explorer_formulas.STATUS_OK:
                problems.append(f"{case}: Python refuses ({err}) but the explorer draws it")
            continue
        if row["status"] != explorer_formulas.STATUS_OK:
            problems.append(f"{case}: the explorer refuses ({row['status']}) but Python computes it")
            continue
        if owning:
            want = costs.cost_point(
                tokens_per_s=point.tokens_per_s_per_chip, utilization=case["utilization"],
                capex_usd=case["capex_usd"], amortization_years=case["amortization_years"],
                power_w=float(chip["tdp_w"]), pue=case["pue"],
                electricity_usd_per_kwh=case["electricity_usd_per_kwh"])
        else:
            want = costs.cost_point(tokens_per_s=point.tokens_per_s_per_chip, utilization=case["utilization"],
                                    hourly_usd=case["hourly_usd"])
        expected = {
            "chips": point.chips, "batch_size": point.batch,
            "tokens_per_s_per_chip": point.tokens_per_s_per_chip,
            "hourly_usd_per_chip": want.hourly_usd, "usd_per_million_tokens": want.usd_per_million_tokens,
            "bound": point.bound,
        }
        for field, value in expected.items():
            if not _close(row[field], value):
                problems.append(f"{case}: {field} {row[field]!r} != {value!r}")
    return problems


@BUILD
def test_cost_explorer_agrees_with_python(browser: Any, site: tuple[Path, str],
                                          tables: dict[str, pd.DataFrame]) -> None:
    cases = _cost_cases(tables)
    page, problems = _open(browser, site, "cost-agreement", _cost_chart(tables).to_dict())
    drawn = _sweep(page, cases, "usd_per_million_tokens")
    page.context.close()
    assert problems == {"offsite": [], "console": [], "pageerror": []}
    assert cost_mismatches(tables, cases, drawn) == []
    ok = [case for case, rows in zip(cases, drawn)
          if rows and rows[0]["status"] == explorer_formulas.STATUS_OK]
    assert len(ok) >= 50
    assert {c["ownership"] for c in ok} == {explorer_formulas.RENT, explorer_formulas.OWN}
    assert {row[0]["status"] for row in drawn} >= {explorer_formulas.STATUS_OK,
                                                   explorer_formulas.STATUS_NO_POWER}


def _mutate(spec: dict[str, Any], field: str, old: str, new: str) -> dict[str, Any]:
    changed = copy.deepcopy(spec)
    hits = 0
    for transform in changed.get("transform", []):
        if transform.get("as") == field and old in transform.get("calculate", ""):
            transform["calculate"] = transform["calculate"].replace(old, new)
            hits += 1
    assert hits == 1, f"no calculate for {field} containing {old!r}"
    return changed


@BUILD
def test_the_comparisons_catch_a_wrong_formula(browser: Any, site: tuple[Path, str],
                                               tables: dict[str, pd.DataFrame]) -> None:
    """KV cache at 8 instead of 16 bits, and a year of 8000 hours: both comparisons must object."""
    kv = f"* {roofline.DEFAULT_KV_BITS} / {roofline.BITS_PER_BYTE}"
    wrong = _mutate(_roofline_chart(tables).to_dict(), "sequence_bytes", kv,
                    f"* 8 / {roofline.BITS_PER_BYTE}")
    cases = _roofline_cases(explorer_tables.with_shapes(tables["models"]))[::9]
    page, _ = _open(browser, site, "roofline-wrong", wrong)
    drawn = _sweep(page, cases, "per_user_tokens_per_s")
    page.context.close()
    assert any("bytes_per_step" in p for p in roofline_mismatches(tables, cases, drawn))

    year = f"* {costs.HOURS_PER_YEAR})"
    wrong_cost = _mutate(_cost_chart(tables).to_dict(), "hourly_usd_per_chip", year, "* 8000)")
    cost_cases = [c for c in _cost_cases(tables) if c["ownership"] == explorer_formulas.OWN]
    page, _ = _open(browser, site, "cost-wrong", wrong_cost)
    drawn = _sweep(page, cost_cases, "usd_per_million_tokens")
    page.context.close()
    assert any("hourly_usd_per_chip" in p for p in cost_mismatches(tables, cost_cases, drawn))


def _mark_texts(page: Any) -> list[str]:
    return page.eval_on_selector_all(MARK_TEXT, "els => els.map(e => e.textContent)")


def _set_range(page: Any, name: str, value: float) -> None:
    page.eval_on_selector(
        f"#explorer input[type=range][name='{name}']",
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', {bubbles: true})); }",
        value,
    )


def _wait_for_change(page: Any, before: list[str]) -> list[str]:
    page.wait_for_function(
        "([selector, before]) => JSON.stringify([...document.querySelectorAll(selector)]"
        ".map(e => e.textContent)) !== before",
        arg=[MARK_TEXT, json.dumps(before)], timeout=TIMEOUT_MS,
    )
    return _mark_texts(page)


@BUILD
def test_moving_roofline_controls_redraws_the_numbers(browser: Any, site: tuple[Path, str],
                                                      tables: dict[str, pd.DataFrame]) -> None:
    page, problems = _open(browser, site, "roofline-dom", _roofline_chart(tables).to_dict(), book_embed=True)
    for name in explorers.ROOFLINE_PARAMS:
        assert page.locator(f"#explorer [name='{name}']").count() >= 1, name
    start = _mark_texts(page)
    assert "h100-sxm" not in start and explorer_formulas.STATUS_UNSUPPORTED in start

    page.select_option("#explorer select[name='model']", "llama-3.1-405b")
    after_model = _wait_for_change(page, start)
    page.select_option("#explorer select[name='bits']", "16")
    after_bits = _wait_for_change(page, after_model)
    _set_range(page, "batch", 256)
    after_batch = _wait_for_change(page, after_bits)
    assert page.input_value("#explorer input[type=range][name='batch']") == "256"
    _set_range(page, "context", 8192)
    after_context = _wait_for_change(page, after_batch)

    chips = _rows(tables["chips"])
    model = _rows(tables["models"])["llama-3.1-405b"]
    want = roofline_point(chips["h100-sxm"], model, bits=16, batch=256, context=8192)
    assert f"{want.chips:,d}" in after_context
    page.context.close()
    assert problems == {"offsite": [], "console": [], "pageerror": []}


@BUILD
def test_moving_cost_controls_redraws_the_cost(browser: Any, site: tuple[Path, str],
                                               tables: dict[str, pd.DataFrame]) -> None:
    page, problems = _open(browser, site, "cost-dom", _cost_chart(tables).to_dict(), book_embed=True)
    for name in explorers.COST_PARAMS:
        assert page.locator(f"#explorer [name='{name}']").count() >= 1, name

    def cost_line() -> str:
        return next(t for t in _mark_texts(page) if t.endswith("per 1M output tokens"))

    start = _mark_texts(page)
    first = cost_line()
    _set_range(page, "utilization", 0.25)
    halved = _wait_for_change(page, start)
    assert cost_line() != first
    page.check("#explorer input[type=radio][name='ownership'][value='own']")
    owned = _wait_for_change(page, halved)
    page.select_option("#explorer select[name='chip']", "mi300x")
    _wait_for_change(page, owned)

    chip = _rows(tables["chips"])["mi300x"]
    model = _rows(tables["models"])["llama-3.3-70b"]
    point = roofline_point(chip, model, bits=8, batch="max", context=2048)
    capex = explorer_tables.chip_prices(tables["hardware_costs"]).get("mi300x", {}).get(
        "capex_usd", COST_DEFAULTS["capex_usd"])  # the chip brings its own purchase price
    want = costs.cost_point(
        tokens_per_s=point.tokens_per_s_per_chip, utilization=0.25, capex_usd=capex,
        amortization_years=COST_DEFAULTS["amortization_years"], power_w=float(chip["tdp_w"]),
        pue=COST_DEFAULTS["pue"], electricity_usd_per_kwh=COST_DEFAULTS["electricity_usd_per_kwh"])
    shown = float(cost_line().split(" ")[0].lstrip("$").replace(",", ""))
    assert math.isclose(shown, want.usd_per_million_tokens, rel_tol=1e-3)
    page.context.close()
    assert problems == {"offsite": [], "console": [], "pageerror": []}


@BUILD
@pytest.mark.parametrize("which", ["roofline", "cost"])
def test_explorers_fit_a_phone_screen(browser: Any, site: tuple[Path, str], tables: dict[str, pd.DataFrame],
                                      which: str) -> None:
    chart = _roofline_chart(tables) if which == "roofline" else _cost_chart(tables)
    page, problems = _open(browser, site, f"{which}-phone", chart.to_dict(), book_embed=True,
                           width=PHONE_WIDTH)
    svg_width = page.eval_on_selector("#explorer svg.marks", "el => el.getBoundingClientRect().width")
    page_width = page.evaluate("() => document.documentElement.scrollWidth")
    page.context.close()
    assert svg_width <= PHONE_WIDTH
    assert page_width <= PHONE_WIDTH
    assert problems == {"offsite": [], "console": [], "pageerror": []}


@BUILD
def test_the_controls_sit_above_keep_their_state_in_the_address_and_reset(
        browser: Any, site: tuple[Path, str], tables: dict[str, pd.DataFrame]) -> None:
    """Issue 17, item 5, in Chromium: a state read from the address (a chip brings its prices), the
    address following a change, the controls above the chart, the reset button."""
    presets = explorer_tables.chip_prices(tables["hardware_costs"])
    page, problems = _open(browser, site, "cost-state", _cost_chart(tables).to_dict(), book_embed=True,
                           width=PHONE_WIDTH, query="?cost.chip=b200&cost.utilization=0.25")
    rental = "#explorer input[type=range][name='hourly_usd']"
    assert page.eval_on_selector("#explorer select[name='chip']", "e => e.value") == "b200"
    assert math.isclose(float(page.eval_on_selector(rental, "e => e.value")), presets["b200"]["hourly_usd"],
                        abs_tol=0.01)
    controls = page.eval_on_selector("#explorer .vega-bindings", "e => e.getBoundingClientRect().bottom")
    assert controls <= page.eval_on_selector("#explorer svg.marks", "e => e.getBoundingClientRect().top") + 1
    page.select_option("#explorer select[name='chip']", "mi300x")
    page.wait_for_function("() => location.search.includes('cost.chip=mi300x')", timeout=TIMEOUT_MS)
    assert "cost.utilization=0.25" in page.evaluate("() => location.search")
    page.click("#explorer button.explorer-reset")
    page.wait_for_function("() => !location.search.includes('cost.')", timeout=TIMEOUT_MS)
    assert page.eval_on_selector("#explorer select[name='chip']", "e => e.value") == COST_DEFAULTS["chip"]
    page.context.close()
    assert problems == {"offsite": [], "console": [], "pageerror": []}


@BUILD
def test_the_context_slider_stops_at_the_models_window(browser: Any, site: tuple[Path, str],
                                                       tables: dict[str, pd.DataFrame]) -> None:
    page, problems = _open(browser, site, "roofline-window", _roofline_chart(tables).to_dict(), book_embed=True)
    context = "#explorer input[type=range][name='context']"
    assert page.eval_on_selector(context, "e => e.max") == "4096", "Llama 2 70B reads 4,096 tokens"
    page.select_option("#explorer select[name='model']", "llama-3.1-405b")
    page.wait_for_function(f"() => document.querySelector(\"{context}\").max === '32768'", timeout=TIMEOUT_MS)
    _set_range(page, "context", 32768)
    page.select_option("#explorer select[name='model']", "llama-2-70b")
    page.wait_for_function(f"() => document.querySelector(\"{context}\").value === '4096'", timeout=TIMEOUT_MS)
    assert explorer_formulas.STATUS_WINDOW not in _mark_texts(page)
    page.context.close()
    assert problems == {"offsite": [], "console": [], "pageerror": []}


def _urls(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "url"] + [u for v in node.values() for u in _urls(v)]
    if isinstance(node, list):
        return [u for v in node for u in _urls(v)]
    return []


@BUILD
@pytest.mark.parametrize("which", ["roofline", "cost"])
def test_static_export_draws_the_default_state(tables: dict[str, pd.DataFrame], which: str) -> None:
    import vl_convert

    spec = (_roofline_chart(tables) if which == "roofline" else _cost_chart(tables)).to_dict()
    assert _urls(spec) == []
    svg = vl_convert.vegalite_to_svg(spec, vl_version="v6_4")
    assert "NaN" not in svg and "undefined" not in svg
    if which == "roofline":
        chip, model = _rows(tables["chips"])["h100-sxm"], _rows(tables["models"])["llama-2-70b"]
        want = roofline_point(chip, model, bits=8, batch=16, context=2048)
        assert ">H100 SXM5 80GB<" in svg and f">{want.per_user_tokens_per_s:.3g}<" in svg
    else:
        assert "per 1M output tokens</text>" in svg and "roofline floor $" in svg


@BUILD
def test_bad_defaults_are_refused(tables: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ValueError, match="model must be one of"):
        explorers.roofline_explorer(tables["chips"], tables["models"], **{**DEFAULTS, "model": "gpt-9"})
    with pytest.raises(ValueError, match="bits must be one of"):
        explorers.roofline_explorer(tables["chips"], tables["models"], **{**DEFAULTS, "bits": 2})
    with pytest.raises(ValueError, match="utilization"):
        explorers.cost_explorer(tables["chips"], tables["models"], tables["hardware_costs"], tables["prices"],
                                **{**COST_DEFAULTS, "utilization": 0.0})


# Without a browser: the explorers' expressions evaluated in Python on the committed tables.

UNIT_BATCHES = (1, 64)
UNIT_CONTEXTS = (128, 8192, 32768)
CACHE_CONTEXTS = (128, 4096, 8192, 32768)
WINDOWED = ("gpt-oss-120b", "llama-4-maverick")
LATENT = "deepseek-r1"
UNIT_MODELS = (*WINDOWED, LATENT, "mistral-7b", "llama-2-70b", "mixtral-8x7b")
HEADS_CACHE = "(context) * 2 * datum.layers * datum.kv_heads * datum.head_dim * 16 / 8"


@pytest.fixture(scope="module")
def csv_tables() -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(ROOT / "data" / f"{name}.csv")
            for name in ("chips", "models", "hardware_costs", "prices")}


def _evaluate(spec: Mapping[str, Any], cases: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
    transforms = Transforms(spec)
    return [transforms.rows(case) for case in cases]


def _cache_calculation(spec: Mapping[str, Any]) -> str:
    return next(t["calculate"] for t in spec["transform"] if t.get("as") == "sequence_bytes")


def cache_mismatches(models: pd.DataFrame, spec: Mapping[str, Any], slugs: Sequence[str]) -> list[str]:
    """Every model and context whose explorer cache or FLOPs per token differ from
    ``attention.kv_cache_bytes`` and ``attention.attention_flops_per_token`` (16-bit cache), as text."""
    cases = [{"model": m, "bits": 16, "batch": 1, "context": c} for m in slugs for c in CACHE_CONTEXTS]
    problems = []
    for case, rows in zip(cases, _evaluate(spec, cases)):
        model = models[models["slug"].eq(case["model"])]
        cache = float(attention.kv_cache_bytes(model, case["context"], kv_bits=16)[0])
        flops = float(roofline.matmul_flops_per_token(model["active_params_b"])[0]
                      + attention.attention_flops_per_token(model, case["context"])[0])
        for field, want in (("sequence_bytes", cache), ("flops_per_token", flops)):
            if {_close(row[field], want) for row in rows} != {True}:
                problems.append(f"{case['model']} at {case['context']}: {field} {rows[0][field]!r} != {want!r}")
    return problems


def test_explorer_cache_is_the_architectures_for_every_model(csv_tables: dict[str, pd.DataFrame]) -> None:
    models = explorer_tables.with_shapes(csv_tables["models"])
    spec = _roofline_chart(csv_tables).to_dict()
    slugs = models["slug"].tolist()
    assert {*WINDOWED, LATENT} <= set(slugs)
    assert set(attention.kinds(models)) == {"mha", "gqa", "mla"}
    assert cache_mismatches(models, spec, slugs) == []
    (row,) = _evaluate(spec, [{"model": "gpt-oss-120b", "bits": 16, "batch": 1, "context": 32768}])
    oss = models[models["slug"].eq("gpt-oss-120b")].iloc[0]
    heads = 32768 * 2 * oss["layers"] * oss["kv_heads"] * oss["head_dim"] * 16 / 8
    assert row[0]["sequence_bytes"] < 0.6 * heads, "half its layers hold 128 tokens, not 32768"


@pytest.mark.parametrize("slug", [*WINDOWED, LATENT])
def test_the_heads_formula_fails_the_cache_comparison(csv_tables: dict[str, pd.DataFrame], slug: str) -> None:
    """The explorer's former cache, every layer holding ``2 x kv_heads x head_dim`` values for every
    token, disagrees with the architecture for a windowed or latent model, and only for such a one."""
    models = explorer_tables.with_shapes(csv_tables["models"])
    spec = _roofline_chart(csv_tables).to_dict()
    heads = _mutate(spec, "sequence_bytes", _cache_calculation(spec), HEADS_CACHE)
    assert cache_mismatches(models, heads, [slug])
    assert cache_mismatches(models, heads, ["llama-2-70b", "mixtral-8x7b"]) == []
    cases = [{"model": slug, "bits": 8, "batch": 64, "context": 32768}]
    problems = roofline_mismatches(csv_tables, cases, _evaluate(heads, cases))
    assert any("bytes_per_step" in p or "chips" in p for p in problems)


def test_roofline_explorer_agrees_with_python_without_a_browser(csv_tables: dict[str, pd.DataFrame]) -> None:
    """Every chip's row for the windowed, latent and two plain models against ``roofline_point``."""
    cases = [{"model": m, "bits": b, "batch": n, "context": x} for m in UNIT_MODELS
             for b in roofline.SUPPORTED_BITS for n in UNIT_BATCHES for x in UNIT_CONTEXTS]
    drawn = _evaluate(_roofline_chart(csv_tables).to_dict(), cases)
    assert roofline_mismatches(csv_tables, cases, drawn) == []
    ok = {(c["model"], c["context"]) for c, rows in zip(cases, drawn)
          if any(r["status"] == explorer_formulas.STATUS_OK for r in rows)}
    assert {("gpt-oss-120b", 32768), ("llama-4-maverick", 32768), ("deepseek-r1", 32768)} <= ok
    statuses = {row["status"] for rows in drawn for row in rows}
    assert {explorer_formulas.STATUS_OK, explorer_formulas.STATUS_UNSUPPORTED,
            explorer_formulas.STATUS_NO_PEAK, explorer_formulas.STATUS_WINDOW} <= statuses


def test_cost_explorer_agrees_with_python_without_a_browser(csv_tables: dict[str, pd.DataFrame]) -> None:
    cases = _cost_cases(csv_tables)
    cases += [dict(cases[0], chip="h200", model=m, context=32768) for m in (*WINDOWED, LATENT)]
    drawn = _evaluate(_cost_chart(csv_tables).to_dict(), cases)
    assert cost_mismatches(csv_tables, cases, drawn) == []
    assert all(rows[0]["status"] == explorer_formulas.STATUS_OK for rows in drawn[-3:])
