"""The premium decomposition of a renewal, and when a renewal is a finding of the no-premium-increase audit.

A commercial motor premium is priced as ``B x N x V x A`` (benchmark premium, NCD coefficient, traffic-violation
coefficient, autonomous pricing coefficient; DOMAIN.md "Premiums"). What that formula does not explain is the
residual ``R = P - B x N x V x A``. A renewal's change ``P1 - P0`` (previous policy 0, renewal 1) is split in a
fixed order of factors, each part priced at the factors already changed before it:

    benchmark_part  = (B1 - B0) x N0 x V0 x A0
    ncd_part        = B1 x (N1 - N0) x V0 x A0
    violation_part  = B1 x N1 x (V1 - V0) x A0
    autonomous_part = B1 x N1 x V1 x (A1 - A0)
    residual        = R1 - R0

In exact Decimal arithmetic the five parts add up to ``P1 - P0`` (the factor parts telescope to
``B1N1V1A1 - B0N0V0A0``). Stored to the cent: each factor part is rounded half-up (ties away from zero) to 0.01,
and the residual is the change minus the four rounded parts, so the five stored parts add up to the change
exactly and the stored residual is within 0.02 CNY of the exact ``R1 - R0``. The autonomous part comes last, so it
is the premium paid because of the autonomous coefficient at the renewal's own cover, claims and violations.

A renewal is a finding when its autonomous coefficient rose (``A1 > A0``) or its residual is above the tolerance
(``residual > tolerance``; an unexplained decrease is never a finding). Its excess premium is the autonomous part
when the coefficient rose, plus the residual when it is above the tolerance.
"""
import decimal
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
# Money has 12 digits and coefficients 8: a product of one amount and three coefficients needs at most 36.
_EXACT = decimal.Context(prec=60, rounding=ROUND_HALF_UP)
AUTONOMOUS_ROSE = "autonomous_rose"
RESIDUAL_OVER_TOLERANCE = "residual_over_tolerance"


@dataclass(frozen=True)
class Pricing:
    """The figures of one policy that the premium formula uses."""

    premium: Decimal
    benchmark: Decimal
    ncd: Decimal
    violation: Decimal
    autonomous: Decimal

    @classmethod
    def of(cls, policy):
        """From a Policy (or a row with the same column names)."""
        return cls(policy.premium, policy.benchmark_premium, policy.ncd_coefficient, policy.violation_coefficient,
                   policy.autonomous_coefficient)

    @property
    def formula(self):
        """B x N x V x A, exact."""
        return _EXACT.multiply(_EXACT.multiply(_EXACT.multiply(self.benchmark, self.ncd), self.violation), self.autonomous)

    @property
    def unexplained(self):
        """R = P - B x N x V x A, exact."""
        return _EXACT.subtract(self.premium, self.formula)


@dataclass(frozen=True)
class Decomposition:
    """A renewal's premium change in cents: four factor parts and the residual, adding up to ``change``."""

    change: Decimal
    benchmark_part: Decimal
    ncd_part: Decimal
    violation_part: Decimal
    autonomous_part: Decimal
    residual: Decimal

    def parts(self):
        return (self.benchmark_part, self.ncd_part, self.violation_part, self.autonomous_part, self.residual)


def _product(*values):
    result = Decimal(1)
    for value in values:
        result = _EXACT.multiply(result, value)
    return result


def exact_parts(previous, current):
    """The four factor parts and the residual before rounding (they add up to the change exactly)."""
    p0, p1 = previous, current
    return (
        _product(_EXACT.subtract(p1.benchmark, p0.benchmark), p0.ncd, p0.violation, p0.autonomous),
        _product(p1.benchmark, _EXACT.subtract(p1.ncd, p0.ncd), p0.violation, p0.autonomous),
        _product(p1.benchmark, p1.ncd, _EXACT.subtract(p1.violation, p0.violation), p0.autonomous),
        _product(p1.benchmark, p1.ncd, p1.violation, _EXACT.subtract(p1.autonomous, p0.autonomous)),
        _EXACT.subtract(p1.unexplained, p0.unexplained),
    )


def policy_figures(policy):
    """A policy's pricing figures, with what the formula gives (B x N x V x A) and what it leaves unexplained."""
    pricing = Pricing.of(policy)
    return {"id": policy.id, "number": policy.number, "kind": policy.kind, "start_date": policy.start_date,
            "end_date": policy.end_date, "premium": policy.premium, "benchmark_premium": policy.benchmark_premium,
            "ncd_coefficient": policy.ncd_coefficient, "violation_coefficient": policy.violation_coefficient,
            "autonomous_coefficient": policy.autonomous_coefficient, "formula_premium": to_cent(pricing.formula),
            "unexplained": to_cent(pricing.unexplained)}


def to_cent(value):
    """Half-up (ties away from zero) to 0.01."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def decompose(previous, current):
    """Split ``current.premium - previous.premium`` into factor parts and the residual, in cents, exactly."""
    change = to_cent(current.premium - previous.premium)
    benchmark, ncd, violation, autonomous, _residual = exact_parts(previous, current)
    rounded = [to_cent(part) for part in (benchmark, ncd, violation, autonomous)]
    return Decomposition(change, *rounded, residual=change - sum(rounded))


@dataclass(frozen=True)
class Assessment:
    """What the audit makes of one renewal: its decomposition, the finding's reasons (none: no finding), excess."""

    decomposition: Decomposition
    reasons: tuple
    excess_premium: Decimal

    @property
    def is_finding(self):
        return bool(self.reasons)


def assess(previous, current, tolerance):
    """Decompose a renewal and apply the finding rule with the residual ``tolerance`` (CNY)."""
    parts = decompose(previous, current)
    reasons, excess = [], Decimal("0.00")
    if current.autonomous > previous.autonomous:
        reasons.append(AUTONOMOUS_ROSE)
        excess += parts.autonomous_part
    if parts.residual > tolerance:
        reasons.append(RESIDUAL_OVER_TOLERANCE)
        excess += parts.residual
    return Assessment(parts, tuple(reasons), to_cent(excess))
