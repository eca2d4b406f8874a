"""The book's one vocabulary of judgements, shared by every rule.

A statement of the article is judged by exactly one rule (``analysis.rules.claims``), and every rule,
whether it weighs a chip claim (``verdicts``), a cost or funding claim (``market``) or another statement
(``claims``), answers with a ``Judgement``: one of four ``Verdict`` words and the reason a reader can
check. A forecast is not judged but resolved (``forecasts``): its ``Outcome`` is ``true``, ``false`` or
``pending`` until evidence that cannot be undone arrives.

* ``supported``: the evidence agrees with the statement within the rule's tolerance;
* ``contradicted``: the evidence, or physics, rules it out;
* ``misleading``: true in a narrow reading, wrong in the one a reader would take;
* ``unverifiable``: nothing on record can confirm or refute it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Verdict = Literal["supported", "contradicted", "misleading", "unverifiable"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
Outcome = Literal["true", "false", "pending"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


@dataclass(frozen=True)
class Judgement:
    """A verdict and its reason."""

    verdict: Verdict
    reason: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {', '.join(VERDICTS)}")

    def fields(self) -> dict[str, str]:
        """The two columns a verdict table gives every row."""
        return {"verdict": self.verdict, "reason": self.reason}


def supported(reason: str) -> Judgement:
    return Judgement("supported", reason)


def contradicted(reason: str) -> Judgement:
    return Judgement("contradicted", reason)


def misleading(reason: str) -> Judgement:
    return Judgement("misleading", reason)


def unverifiable(reason: str) -> Judgement:
    return Judgement("unverifiable", reason)


def agreement(ok: bool, *, agrees: str, disagrees: str) -> Judgement:
    """``supported`` with the first reason when the evidence agrees, else ``contradicted`` with the second."""
    return supported(agrees) if ok else contradicted(disagrees)
