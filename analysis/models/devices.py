"""What a token costs on a desk: a consumer machine that holds a 70B-class model itself.

The article puts the 2026 cost of a high-end consumer device at about zero, "the marginal energy
cost". Such a machine is bought, not rented, so what a token really costs its owner is a share of the
purchase price plus the electricity it burns. ``desk_cost`` prices one machine (its chip's row in
``chips``, its list price in ``hardware_costs``) serving one conversation at a time, as a desk machine
is used, with every input at its kindest so that each figure is the least the token can cost:

* **throughput**: the single-stream ceiling of ``ceilings`` (batch 1, an empty cache, the weights at
  the given precision read once per token at the chip's full memory bandwidth); no measurement is
  faster, so the costs below are floors;
* **the device**: its list price repaid straight-line (no cost of capital: a household pays cash) over
  the longest useful life the store records for servers, busy every hour of it;
* **electricity**: the machine's maximum power at the wall (the chip's ``tdp_w``; Apple measures it at
  the socket, power supply included, so no PUE applies) at the lowest and highest price the store
  records. A decoding machine draws less than its maximum, so the energy is an upper estimate, and
  the only figure here that is not a floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.models import ceilings, costs, energy as energy_model

DESK_CHIP = "m3-ultra"
"""The desk machine the book prices: Apple's Mac Studio with the M3 Ultra, the consumer computer with the
most memory bandwidth in the store, which holds a 70B-class model at 4 bits in its smallest
configuration."""
DESK_MODEL = "llama-3.3-70b"
DESK_BITS = 4
LIFETIME = "amortization_years"
SINGLE_STREAM_KIND = ceilings.PER_USER_KINDS[0]  # any per-user kind: bounded per user, at batch 1
TABLES = ("chips", "models", "mlperf_benchmarks", "hardware_costs", "energy")  # what desk_cost reads


@dataclass(frozen=True)
class DeskCost:
    """The least a token can cost on one desk machine, and the electricity's share of it."""

    chip: str
    chip_name: str
    model: str
    bits: int
    price_usd: float
    years: float
    power_w: float
    tokens_per_s: float
    device_usd_per_mtok: float
    energy_usd_per_mtok_low: float
    energy_usd_per_mtok_high: float
    source_ids: str

    @property
    def total_usd_per_mtok_low(self) -> float:
        """The device's share plus the electricity at the lowest recorded price."""
        return self.device_usd_per_mtok + self.energy_usd_per_mtok_low

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python fields."""
        return asdict(self)

    def table(self) -> pd.DataFrame:
        """The cost as a reader's table: one row per component, USD per million output tokens."""
        return pd.DataFrame([
            {"component": "the machine, repaid over its life", "USD per 1M tokens, from": self.device_usd_per_mtok,
             "USD per 1M tokens, to": self.device_usd_per_mtok, "kind of figure": "floor"},
            {"component": "electricity at maximum power", "USD per 1M tokens, from": self.energy_usd_per_mtok_low,
             "USD per 1M tokens, to": self.energy_usd_per_mtok_high, "kind of figure": "upper estimate"},
        ])


def _price(hardware_costs: pd.DataFrame, chip: str) -> pd.Series:
    rows = hardware_costs[hardware_costs["chip_slug"].eq(chip) & hardware_costs["kind"].eq("purchase")
                          & hardware_costs["unit"].eq("usd-per-chip")].sort_values(["usd", "cost_id"])
    if rows.empty:
        raise ValueError(f"hardware_costs has no purchase price of {chip}: a desk machine cannot be costed without one")
    return rows.iloc[0]


def single_stream_ceiling(chip: str, model: str, bits: int, tables: Mapping[str, pd.DataFrame]) -> float:
    """Tokens per second of one conversation on one ``chip`` at its ceiling (``ceilings``, batch 1,
    empty cache): a measurement-shaped row with no speed, bounded like the book's per-user rows."""
    row = pd.DataFrame([{
        "benchmark_id": f"desk-{chip}-{model}-{bits}", "chip_slug": chip, "model_slug": model,
        "kind": SINGLE_STREAM_KIND, "precision_bits": bits, "accelerators": 1.0,
        "system_tokens_per_s": np.nan, "per_accelerator_tokens_per_s": np.nan, "per_user_tokens_per_s": np.nan,
        "round": "", "division": "", "submitter": "", "benchmark": None,
    }])
    bound = ceilings.ceilings(row, tables["chips"], tables["models"], tables["mlperf_benchmarks"]).iloc[0]
    value = float(bound["ceiling_tokens_per_s"])
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{model} at {bits} bits has no single-stream ceiling on {chip} ({bound['status']})")
    return value


def desk_cost(tables: Mapping[str, pd.DataFrame], *, chip: str = DESK_CHIP, model: str = DESK_MODEL,
              bits: int = DESK_BITS) -> DeskCost:
    """The least a million output tokens of ``model`` at ``bits``-bit weights cost on a ``chip`` machine
    (module docstring), from the store's ``TABLES``."""
    chip_row = tables["chips"].set_index("slug").loc[chip]
    if pd.isna(chip_row["tdp_w"]):
        raise ValueError(f"{chip} has no rated power (tdp_w): its electricity cannot be costed")
    price = _price(tables["hardware_costs"], chip)
    lives = tables["energy"].loc[tables["energy"]["parameter"].eq(LIFETIME), "value"]
    if lives.empty:
        raise ValueError(f"energy records no {LIFETIME}")
    years, power = float(lives.max()), float(chip_row["tdp_w"])
    tokens_per_s = single_stream_ceiling(chip, model, bits, tables)
    device = costs.owned_usd_per_million_tokens(float(price["usd"]), years, 0.0, costs.MIN_PUE, 0.0, tokens_per_s, 1.0)
    kwh = costs.kwh_per_million_tokens(power, costs.MIN_PUE, tokens_per_s)
    low, high = energy_model.price_range(tables["energy"])
    sources = sorted({s.strip() for text in (price["source_ids"], chip_row["source_ids"]) for s in str(text).split(";")})
    return DeskCost(chip=chip, chip_name=str(chip_row["name"]), model=model, bits=bits, price_usd=float(price["usd"]),
                    years=years, power_w=power, tokens_per_s=tokens_per_s, device_usd_per_mtok=float(device),
                    energy_usd_per_mtok_low=float(kwh * low), energy_usd_per_mtok_high=float(kwh * high),
                    source_ids=";".join(sources))


def measured_share(derived_ceilings: pd.DataFrame, chip: str) -> float | None:
    """The highest fraction of its ceiling any single-stream measurement reached on ``chip`` (the
    ``derived_ceilings`` rows bounded per user), or None where the chip has none."""
    rows = derived_ceilings[derived_ceilings["chip_slug"].eq(chip) & derived_ceilings["basis"].eq(ceilings.BASIS_USER)
                            & derived_ceilings["status"].eq(ceilings.STATUS_BOUNDED)]
    share = pd.to_numeric(rows["fraction_of_ceiling"], errors="coerce").dropna()
    return float(share.max()) if len(share) else None

