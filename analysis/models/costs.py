"""Cost of serving a million output tokens, from an hourly price or from owning the hardware.

The model has two steps.

1. **An hourly cost** for one serving unit (a chip, a server or a whole node: whatever produces
   ``tokens_per_s``). When renting, it is the rental price ``hourly_usd``. When owning, it is

       hourly_usd = capex_usd x capital_recovery_factor(cost_of_capital, amortization_years) / 8760
                    + power_w / 1000 x pue x electricity_usd_per_kwh
                    + hosting_usd_per_hour

   that is, the purchase price repaid over the hours of its useful life with interest at
   ``cost_of_capital`` a year (straight-line when it is 0), plus the electricity it draws (scaled up
   by the data centre's power usage effectiveness), plus any other hourly charge: colocation (rack
   space, cooling and power infrastructure, priced per kW of IT load a month, see
   ``hosting_per_hour``), staff, network, software licences.

2. **A price per million tokens**: the hourly cost divided by the tokens actually served in an
   hour,

       usd_per_million_tokens = hourly_usd / (tokens_per_s x 3600 x utilization) x 1e6

   where ``tokens_per_s`` is the unit's output throughput while busy and ``utilization`` the
   fraction of hours it is busy.

Assumptions, all deliberate simplifications:

* **Capital is repaid as an annuity** over ``amortization_years`` of 8760 hours each at
  ``cost_of_capital`` a year (0 gives straight-line amortization), with no resale value. An idle hour
  costs as much capital as a busy one.
* **Power is drawn at ``power_w`` around the clock**, busy or idle, and every watt at the chip
  costs ``pue`` watts at the meter. Electricity has one flat price.
* **All of the hourly cost is charged to output tokens.** Input (prompt) tokens are free; to
  price them, fold them into ``tokens_per_s`` as an equivalent throughput.
* **Throughput does not depend on utilization.** A busy hour always produces
  ``tokens_per_s x 3600`` tokens; batching effects belong in ``tokens_per_s``.
* **No margin.** The result is a cost, not a price a provider would charge.

Units: US dollars, watts, kilowatt-hours, hours, seconds; ``utilization`` is a fraction in
(0, 1]. The array functions broadcast their inputs with numpy's rules and return float arrays
(numpy scalars for scalar inputs); every input is checked and a ValueError names the first one out
of range. ``cost_point`` is the scalar entry point. ``analysis.models.cost_sensitivity`` evaluates
these costs over many scenarios at once: ``cost_sweep`` draws random scenarios and ``tornado``
varies one input at a time around a base case.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

HOURS_PER_YEAR = 8760
SECONDS_PER_HOUR = 3600
WATTS_PER_KILOWATT = 1000
TOKENS_PER_MILLION = 1e6
JOULES_PER_KWH = 3.6e6
MIN_PUE = 1.0

OWNED_INPUTS = (
    "capex_usd",
    "amortization_years",
    "power_w",
    "pue",
    "electricity_usd_per_kwh",
    "hosting_usd_per_hour",
    "cost_of_capital",
    "tokens_per_s",
    "utilization",
)
RENTAL_INPUTS = ("hourly_usd", "tokens_per_s", "utilization")
OPTIONAL_OWNED_INPUTS = {"hosting_usd_per_hour": 0.0, "cost_of_capital": 0.0}
HOURS_PER_MONTH = HOURS_PER_YEAR / 12

__all__ = [
    "HOURS_PER_YEAR",
    "OPTIONAL_OWNED_INPUTS",
    "OWNED_INPUTS",
    "RENTAL_INPUTS",
    "SECONDS_PER_HOUR",
    "TOKENS_PER_MILLION",
    "WATTS_PER_KILOWATT",
    "CostResult",
    "capital_recovery_factor",
    "check_names",
    "checked_floats",
    "cost_point",
    "hosting_per_hour",
    "hourly_cost_owned",
    "kwh_per_million_tokens",
    "owned_cost_fn",
    "owned_usd_per_million_tokens",
    "rental_cost_fn",
    "usd_per_million_tokens",
]


def checked_floats(value: Any, name: str) -> FloatArray:
    """``value`` as a float64 array; ValueError naming ``name`` when it is not numbers."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        kind = type(value).__name__
        raise ValueError(f"{name} must be a number or an array of numbers; got {kind}") from None


def _require(values: FloatArray, ok: BoolArray, name: str, rule: str) -> None:
    if bool(np.all(ok)):
        return
    if values.ndim == 0:
        raise ValueError(f"{name} must be {rule}; got {values.item()!r}")
    bad = int(values.size - np.count_nonzero(ok))
    raise ValueError(f"{name} must be {rule}; {bad} of {values.size} values are not")


def _non_negative(value: Any, name: str) -> FloatArray:
    values = checked_floats(value, name)
    _require(values, np.isfinite(values) & (values >= 0), name, "a finite number >= 0")
    return values


def _positive(value: Any, name: str) -> FloatArray:
    values = checked_floats(value, name)
    _require(values, np.isfinite(values) & (values > 0), name, "a finite number > 0")
    return values


def _pue(value: Any) -> FloatArray:
    values = checked_floats(value, "pue")
    _require(values, np.isfinite(values) & (values >= MIN_PUE), "pue", "a finite number >= 1")
    return values


def _utilization(value: Any) -> FloatArray:
    values = checked_floats(value, "utilization")
    _require(values, (values > 0) & (values <= 1), "utilization", "in (0, 1]")
    return values


def hourly_cost_owned(
    capex_usd: npt.ArrayLike,
    amortization_years: npt.ArrayLike,
    power_w: npt.ArrayLike,
    pue: npt.ArrayLike,
    electricity_usd_per_kwh: npt.ArrayLike,
    *,
    hosting_usd_per_hour: npt.ArrayLike = 0.0,
    cost_of_capital: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Dollars per hour of owning a serving unit: capital repaid with interest + electricity + hosting.

    ``capex_usd x capital_recovery_factor / 8760 + power_w / 1000 x pue x electricity_usd_per_kwh
    + hosting_usd_per_hour``. Prices, power and the cost of capital must be >= 0, the amortization
    period > 0 and the power usage effectiveness >= 1.
    """
    capex = _non_negative(capex_usd, "capex_usd")
    years = _positive(amortization_years, "amortization_years")
    power = _non_negative(power_w, "power_w")
    effectiveness = _pue(pue)
    electricity = _non_negative(electricity_usd_per_kwh, "electricity_usd_per_kwh")
    hosting = _non_negative(hosting_usd_per_hour, "hosting_usd_per_hour")
    capital = capex * capital_recovery_factor(cost_of_capital, years) / HOURS_PER_YEAR
    energy = power / WATTS_PER_KILOWATT * effectiveness * electricity
    return capital + energy + hosting


def capital_recovery_factor(cost_of_capital: npt.ArrayLike, years: npt.ArrayLike) -> FloatArray:
    """Share of a purchase price to repay each year so that ``years`` equal payments at
    ``cost_of_capital`` a year repay it with interest: ``r / (1 - (1 + r)^-n)``, and ``1 / n`` at
    ``r = 0`` (straight-line). ``r`` must be >= 0 and ``n`` > 0."""
    rate = _non_negative(cost_of_capital, "cost_of_capital")
    n = _positive(years, "amortization_years")
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = rate / -np.expm1(-n * np.log1p(rate))
    return np.where(rate == 0, 1.0 / n, annuity)


def hosting_per_hour(power_w: npt.ArrayLike, usd_per_kw_month: npt.ArrayLike) -> FloatArray:
    """Colocation charge per hour of a unit drawing ``power_w``: its IT load in kW times a price per
    kW a month, over the 730 hours of an average month. Both must be >= 0."""
    kilowatts = _non_negative(power_w, "power_w") / WATTS_PER_KILOWATT
    return kilowatts * _non_negative(usd_per_kw_month, "usd_per_kw_month") / HOURS_PER_MONTH


def usd_per_million_tokens(
    hourly_usd: npt.ArrayLike,
    tokens_per_s: npt.ArrayLike,
    utilization: npt.ArrayLike,
) -> FloatArray:
    """Dollars per million output tokens: ``hourly_usd / (tokens_per_s x 3600 x utilization) x 1e6``.

    ``hourly_usd`` must be >= 0, ``tokens_per_s`` > 0 and ``utilization`` in (0, 1].
    """
    hourly = _non_negative(hourly_usd, "hourly_usd")
    throughput = _positive(tokens_per_s, "tokens_per_s")
    busy = _utilization(utilization)
    tokens_per_hour = throughput * SECONDS_PER_HOUR * busy
    return hourly / tokens_per_hour * TOKENS_PER_MILLION


def kwh_per_million_tokens(power_w: npt.ArrayLike, pue: npt.ArrayLike, tokens_per_s: npt.ArrayLike) -> FloatArray:
    """Energy at the meter to produce a million tokens: ``power_w x pue / tokens_per_s`` joules per token,
    times 1e6 tokens, over 3.6e6 joules per kWh. Power must be >= 0, PUE >= 1 and throughput > 0."""
    joules_per_token = _non_negative(power_w, "power_w") * _pue(pue) / _positive(tokens_per_s, "tokens_per_s")
    return joules_per_token * TOKENS_PER_MILLION / JOULES_PER_KWH


def owned_usd_per_million_tokens(
    capex_usd: npt.ArrayLike,
    amortization_years: npt.ArrayLike,
    power_w: npt.ArrayLike,
    pue: npt.ArrayLike,
    electricity_usd_per_kwh: npt.ArrayLike,
    tokens_per_s: npt.ArrayLike,
    utilization: npt.ArrayLike,
    *,
    hosting_usd_per_hour: npt.ArrayLike = 0.0,
    cost_of_capital: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Dollars per million output tokens of owned hardware: ``hourly_cost_owned`` then
    ``usd_per_million_tokens``, broadcast over all inputs."""
    hourly = hourly_cost_owned(
        capex_usd,
        amortization_years,
        power_w,
        pue,
        electricity_usd_per_kwh,
        hosting_usd_per_hour=hosting_usd_per_hour,
        cost_of_capital=cost_of_capital,
    )
    return usd_per_million_tokens(hourly, tokens_per_s, utilization)


def check_names(
    inputs: Mapping[str, Any], allowed: tuple[str, ...], optional: Collection[str], who: str
) -> None:
    """ValueError from ``who`` when ``inputs`` names one not in ``allowed`` or lacks a required one."""
    unknown = [name for name in inputs if name not in allowed]
    if unknown:
        raise ValueError(f"{who} got unknown inputs: {', '.join(unknown)} (it takes {', '.join(allowed)})")
    missing = [name for name in allowed if name not in inputs and name not in optional]
    if missing:
        raise ValueError(f"{who} needs inputs: {', '.join(missing)}")


def owned_cost_fn(inputs: Mapping[str, Any]) -> FloatArray:
    """Dollars per million output tokens of owned hardware, from a mapping of named inputs.

    The mapping holds ``capex_usd``, ``amortization_years``, ``power_w``, ``pue``,
    ``electricity_usd_per_kwh``, ``tokens_per_s``, ``utilization`` and optionally
    ``hosting_usd_per_hour`` (default 0), as numbers or arrays that broadcast together.
    """
    check_names(inputs, OWNED_INPUTS, OPTIONAL_OWNED_INPUTS, "owned_cost_fn")
    values = {**OPTIONAL_OWNED_INPUTS, **inputs}
    return owned_usd_per_million_tokens(
        values["capex_usd"],
        values["amortization_years"],
        values["power_w"],
        values["pue"],
        values["electricity_usd_per_kwh"],
        values["tokens_per_s"],
        values["utilization"],
        hosting_usd_per_hour=values["hosting_usd_per_hour"],
        cost_of_capital=values["cost_of_capital"],
    )


def rental_cost_fn(inputs: Mapping[str, Any]) -> FloatArray:
    """Dollars per million output tokens of rented hardware, from ``hourly_usd``,
    ``tokens_per_s`` and ``utilization`` given as numbers or arrays."""
    check_names(inputs, RENTAL_INPUTS, (), "rental_cost_fn")
    return usd_per_million_tokens(inputs["hourly_usd"], inputs["tokens_per_s"], inputs["utilization"])


@dataclass(frozen=True)
class CostResult:
    """The cost per million output tokens of one scenario, with the inputs that produced it.

    ``hourly_usd`` is the rental price, or the computed hourly cost when owning. The owned
    inputs (``capex_usd`` to ``hosting_usd_per_hour``) are None when renting.
    """

    usd_per_million_tokens: float
    hourly_usd: float
    tokens_per_s: float
    utilization: float
    capex_usd: float | None = None
    amortization_years: float | None = None
    power_w: float | None = None
    pue: float | None = None
    electricity_usd_per_kwh: float | None = None
    hosting_usd_per_hour: float | None = None
    cost_of_capital: float | None = None

    @property
    def owned(self) -> bool:
        """True when the cost comes from owning the hardware, False when renting."""
        return self.capex_usd is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python fields, with ``owned`` added."""
        return {**asdict(self), "owned": self.owned}


def _scalar(value: Any, name: str) -> float:
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a single number; use usd_per_million_tokens for arrays")
    return float(checked_floats(value, name))


def cost_point(
    *,
    tokens_per_s: float,
    utilization: float,
    hourly_usd: float | None = None,
    capex_usd: float | None = None,
    amortization_years: float | None = None,
    power_w: float | None = None,
    pue: float | None = None,
    electricity_usd_per_kwh: float | None = None,
    hosting_usd_per_hour: float = 0.0,
    cost_of_capital: float = 0.0,
) -> CostResult:
    """Cost per million output tokens of one scenario, renting or owning.

    Give ``hourly_usd`` to rent, or all of ``capex_usd``, ``amortization_years``, ``power_w``,
    ``pue`` and ``electricity_usd_per_kwh`` (plus optionally ``hosting_usd_per_hour`` and
    ``cost_of_capital``) to own. Giving both, or neither complete, is a ValueError.
    """
    owned = {
        "capex_usd": capex_usd,
        "amortization_years": amortization_years,
        "power_w": power_w,
        "pue": pue,
        "electricity_usd_per_kwh": electricity_usd_per_kwh,
    }
    given = [name for name, value in owned.items() if value is not None]
    throughput = _scalar(tokens_per_s, "tokens_per_s")
    busy = _scalar(utilization, "utilization")
    hosting = _scalar(hosting_usd_per_hour, "hosting_usd_per_hour")
    rate = _scalar(cost_of_capital, "cost_of_capital")
    if hourly_usd is not None:
        if given or hosting != 0.0 or rate != 0.0:
            extra = ", ".join(given + (["hosting_usd_per_hour"] if hosting != 0.0 else [])
                              + (["cost_of_capital"] if rate != 0.0 else []))
            raise ValueError(f"give either hourly_usd (renting) or owned inputs, not both; also got {extra}")
        hourly = _scalar(hourly_usd, "hourly_usd")
        price = float(usd_per_million_tokens(hourly, throughput, busy))
        return CostResult(price, hourly, throughput, busy)
    missing = [name for name, value in owned.items() if value is None]
    if missing:
        raise ValueError(f"give hourly_usd to rent, or all owned inputs; missing: {', '.join(missing)}")
    numbers = {name: _scalar(value, name) for name, value in owned.items()}
    hourly = float(hourly_cost_owned(**numbers, hosting_usd_per_hour=hosting, cost_of_capital=rate))
    price = float(usd_per_million_tokens(hourly, throughput, busy))
    return CostResult(price, hourly, throughput, busy, hosting_usd_per_hour=hosting, cost_of_capital=rate,
                      **numbers)
