"""What one serving scenario costs per million output tokens, from measurements.

A scenario is a chip, a model whose list prices the cost is compared with, the model of the same shape
whose MLPerf results give the throughput, and a weight precision. Its throughput is the chip's best
closed-division MLPerf result per accelerator (``evidence.best_measured_throughput``); where the chip
has none at that precision, the ceiling at an Offline benchmark's conditions stands in, labelled as a
floor on the cost. The hourly cost is that of owning the chip (``costs.cost_point`` with the purchase
price, the assumptions' base case and colocation) or of renting it (the median on-demand price).
``analyses/cost-scenario.ipynb`` runs ``scenario_costs`` over every scenario of ``analyses/runs.yml``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.models import ceilings, costs, evidence

COLUMNS = ("scenario", "chip", "model", "measured_model", "bits", "basis", "throughput_basis",
           "measured_benchmark_id", "tokens_per_s", "ceiling_tokens_per_s", "utilization", "hourly_usd",
           "usd_per_million_tokens", "capex_usd", "amortization_years", "cost_of_capital", "power_w", "pue",
           "electricity_usd_per_kwh", "hosting_usd_per_hour")
NUMBERS = ("tokens_per_s", "ceiling_tokens_per_s", "utilization", "hourly_usd", "usd_per_million_tokens", "capex_usd",
           "amortization_years", "cost_of_capital", "power_w", "pue", "electricity_usd_per_kwh", "hosting_usd_per_hour")
RENTED = "rented (median on-demand price)"
TABLES = ("chips", "models", "benchmarks", "mlperf_benchmarks", "hardware_costs")  # what scenario_costs reads


@dataclass(frozen=True)
class Scenario:
    """One chip serving one model at one precision."""

    scenario: str
    chip: str
    model: str
    bits: int
    measured_model: str

    @classmethod
    def of(cls, spec: Mapping[str, Any], measured_model: str) -> Scenario:
        """A scenario from a ``runs.yml`` entry; ``measured_model`` unless the entry names its own."""
        return cls(scenario=str(spec["scenario"]), chip=str(spec["chip"]), model=str(spec["model"]),
                   bits=int(spec["bits"]), measured_model=str(spec.get("measured_model", measured_model)))


def _throughput(s: Scenario, tables: Mapping[str, pd.DataFrame]) -> tuple[float, dict[str, Any]]:
    """Tokens per second the scenario is costed at, and the columns saying where it came from."""
    chips, models = tables["chips"], tables["models"]
    measured = evidence.best_measured_throughput(tables["benchmarks"], s.chip, s.measured_model, s.bits)
    conditions = (measured.to_frame().T if measured is not None
                  else ceilings.offline_row(s.chip, s.measured_model, s.bits, chips, models))
    ceiling = ceilings.ceilings(conditions, chips, models, tables["mlperf_benchmarks"]).iloc[0]
    if measured is not None:
        tokens_per_s = float(measured["per_accelerator_tokens_per_s"])
        basis = {"throughput_basis": f"measured: MLPerf {measured['round']} {measured['kind'].removeprefix('mlperf-')}",
                 "measured_benchmark_id": measured["benchmark_id"]}
    else:
        tokens_per_s = float(ceiling["ceiling_tokens_per_s"])
        basis = {"throughput_basis": "ceiling: no MLPerf result at this precision (a floor on the cost)",
                 "measured_benchmark_id": None}
    return tokens_per_s, {**basis, "ceiling_tokens_per_s": ceiling["ceiling_tokens_per_s"]}


def _prices(hardware_costs: pd.DataFrame, chip: str, kind: str, unit: str) -> pd.Series:
    rows = hardware_costs[hardware_costs["chip_slug"].eq(chip) & hardware_costs["kind"].eq(kind)
                          & hardware_costs["unit"].eq(unit)]
    return rows["usd"]


def scenario_costs(s: Scenario, tables: Mapping[str, pd.DataFrame], case: Mapping[str, float],
                   utilization: float) -> pd.DataFrame:
    """The owned and rented cost rows of one scenario (none where the chip has no price or no
    throughput), in ``COLUMNS`` order. ``case`` holds the owner's assumptions (amortization_years, pue,
    electricity_usd_per_kwh, cost_of_capital, hosting_usd_per_kw_month)."""
    tokens_per_s, common = _throughput(s, tables)
    purchases = _prices(tables["hardware_costs"], s.chip, "purchase", "usd-per-chip")
    rentals = _prices(tables["hardware_costs"], s.chip, "rental-on-demand", "usd-per-chip-hour")
    chip_row = tables["chips"].set_index("slug").loc[s.chip]
    rows = []
    if pd.notna(tokens_per_s) and tokens_per_s > 0:
        if len(purchases) and pd.notna(chip_row["tdp_w"]):
            power = float(chip_row["tdp_w"])
            owned = costs.cost_point(
                tokens_per_s=tokens_per_s, utilization=utilization, capex_usd=float(purchases.median()),
                amortization_years=case["amortization_years"], power_w=power, pue=case["pue"],
                electricity_usd_per_kwh=case["electricity_usd_per_kwh"], cost_of_capital=case["cost_of_capital"],
                hosting_usd_per_hour=float(costs.hosting_per_hour(power, case["hosting_usd_per_kw_month"])))
            rows.append({"basis": "owned", **owned.to_dict(), **common})
        if len(rentals):
            rented = costs.cost_point(tokens_per_s=tokens_per_s, utilization=utilization,
                                      hourly_usd=float(rentals.median()))
            rows.append({"basis": RENTED, **rented.to_dict(), **common})
    result = pd.DataFrame(rows).assign(scenario=s.scenario, chip=s.chip, model=s.model,
                                       measured_model=s.measured_model, bits=s.bits)
    result = result.reindex(columns=list(COLUMNS))
    # floats even where a scenario has none (a chip only rented has no capex), so every row is rounded alike
    return result.astype({column: "float64" for column in NUMBERS})


def all_scenario_costs(scenarios: Sequence[Scenario], tables: Mapping[str, pd.DataFrame],
                       case: Mapping[str, float], utilization: float) -> pd.DataFrame:
    """Every scenario's rows, one after another, in the order given."""
    frames = [frame for s in scenarios if len(frame := scenario_costs(s, tables, case, utilization))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
