"""The premium decomposition of a renewal and the finding rule, against hand-computed figures."""
import random
from decimal import Decimal

import pytest

from insurer_dms.audits.decomposition import (
    AUTONOMOUS_ROSE,
    RESIDUAL_OVER_TOLERANCE,
    Pricing,
    assess,
    decompose,
    exact_parts,
)

TOLERANCE = Decimal("1.00")


def pricing(premium, benchmark, ncd, violation="1.0000", autonomous="1.0000"):
    return Pricing(Decimal(premium), Decimal(benchmark), Decimal(ncd), Decimal(violation), Decimal(autonomous))


def parts(d):
    return {"change": str(d.change), "benchmark": str(d.benchmark_part), "ncd": str(d.ncd_part),
            "violation": str(d.violation_part), "autonomous": str(d.autonomous_part), "residual": str(d.residual)}


def test_only_the_cover_grew():
    # B 10000 -> 12000 at N 0.85: 2000 x 0.85 = 1700.00
    d = decompose(pricing("8500.00", "10000.00", "0.8500"), pricing("10200.00", "12000.00", "0.8500"))
    assert parts(d) == {"change": "1700.00", "benchmark": "1700.00", "ncd": "0.00", "violation": "0.00",
                        "autonomous": "0.00", "residual": "0.00"}


def test_only_claims_raised_the_ncd():
    # N 0.85 -> 1.00 on B 10000: 10000 x 0.15 = 1500.00
    d = decompose(pricing("8500.00", "10000.00", "0.8500"), pricing("10000.00", "10000.00", "1.0000"))
    assert parts(d) == {"change": "1500.00", "benchmark": "0.00", "ncd": "1500.00", "violation": "0.00",
                        "autonomous": "0.00", "residual": "0.00"}


def test_only_violations_raised_the_violation_coefficient():
    # V 1.0 -> 1.1 on 10000 x 0.9: 900.00
    d = decompose(pricing("9000.00", "10000.00", "0.9000"), pricing("9900.00", "10000.00", "0.9000", "1.1000"))
    assert parts(d) == {"change": "900.00", "benchmark": "0.00", "ncd": "0.00", "violation": "900.00",
                        "autonomous": "0.00", "residual": "0.00"}


def test_only_the_autonomous_coefficient_rose_is_a_finding_for_all_of_it():
    # A 1.00 -> 1.10 on 10000 x 0.85: 850.00
    previous, current = pricing("8500.00", "10000.00", "0.8500"), pricing("9350.00", "10000.00", "0.8500", autonomous="1.1000")
    verdict = assess(previous, current, TOLERANCE)
    assert parts(verdict.decomposition) == {"change": "850.00", "benchmark": "0.00", "ncd": "0.00", "violation": "0.00",
                                            "autonomous": "850.00", "residual": "0.00"}
    assert verdict.reasons == (AUTONOMOUS_ROSE,)
    assert verdict.excess_premium == Decimal("850.00")


def test_only_an_unexplained_amount_is_the_residual():
    previous, current = pricing("5600.00", "8000.00", "0.7000"), pricing("5750.00", "8000.00", "0.7000")
    verdict = assess(previous, current, TOLERANCE)
    assert parts(verdict.decomposition)["residual"] == "150.00"
    assert verdict.reasons == (RESIDUAL_OVER_TOLERANCE,)
    assert verdict.excess_premium == Decimal("150.00")


def test_every_factor_changing_is_split_in_the_fixed_order():
    # B 10000 -> 11000, N 0.85 -> 0.80, V 1.0 -> 1.1, A 1.00 -> 1.05; premium 10164.00 + 0.60 unexplained
    #   benchmark  = 1000 x 0.85 x 1.0 x 1.00         =  850.00
    #   ncd        = 11000 x (-0.05) x 1.0 x 1.00     = -550.00
    #   violation  = 11000 x 0.80 x 0.10 x 1.00       =  880.00
    #   autonomous = 11000 x 0.80 x 1.10 x 0.05       =  484.00
    #   residual   = 0.60 - 0.00                       =    0.60
    previous = pricing("8500.00", "10000.00", "0.8500")
    current = pricing("10164.60", "11000.00", "0.8000", "1.1000", "1.0500")
    verdict = assess(previous, current, TOLERANCE)
    assert parts(verdict.decomposition) == {"change": "1664.60", "benchmark": "850.00", "ncd": "-550.00",
                                            "violation": "880.00", "autonomous": "484.00", "residual": "0.60"}
    assert sum(verdict.decomposition.parts()) == verdict.decomposition.change
    # the residual is within the tolerance: only the autonomous rise counts
    assert verdict.reasons == (AUTONOMOUS_ROSE,) and verdict.excess_premium == Decimal("484.00")


def test_a_rise_and_a_large_residual_add_up_to_the_excess():
    previous, current = pricing("8550.00", "9000.00", "1.0000", autonomous="0.9500"), pricing("9020.00", "9000.00", "1.0000")
    verdict = assess(previous, current, TOLERANCE)
    assert (verdict.decomposition.autonomous_part, verdict.decomposition.residual) == (Decimal("450.00"), Decimal("20.00"))
    assert verdict.reasons == (AUTONOMOUS_ROSE, RESIDUAL_OVER_TOLERANCE)
    assert verdict.excess_premium == Decimal("470.00")


@pytest.mark.parametrize("premium, finding", [("6001.00", False), ("6001.01", True), ("5000.00", False)])
def test_the_residual_must_be_above_the_tolerance_and_a_decrease_never_is(premium, finding):
    verdict = assess(pricing("6000.00", "6000.00", "1.0000"), pricing(premium, "6000.00", "1.0000"), TOLERANCE)
    assert verdict.is_finding is finding


def test_a_falling_autonomous_coefficient_is_no_finding():
    verdict = assess(pricing("11000.00", "10000.00", "1.0000", autonomous="1.1000"), pricing("10000.00", "10000.00", "1.0000"), TOLERANCE)
    assert parts(verdict.decomposition)["autonomous"] == "-1000.00"
    assert not verdict.is_finding and verdict.excess_premium == Decimal("0.00")


def test_rounding_goes_to_the_residual_and_the_parts_still_add_up():
    # B 1000.01 -> 1000.02 at N 0.5: the benchmark part is exactly 0.005, stored 0.01 (half-up); the change is
    # 0.01, so the residual is 0.00 (exactly: 0.005).
    previous = pricing("500.00", "1000.01", "0.5000")
    current = pricing("500.01", "1000.02", "0.5000")
    d = decompose(previous, current)
    assert (d.change, d.benchmark_part, d.residual) == (Decimal("0.01"), Decimal("0.01"), Decimal("0.00"))
    previous = pricing("500.00", "1000.00", "0.5000")
    current = pricing("500.00", "1000.01", "0.5000")  # exactly: benchmark 0.005, residual -0.005; change 0.00
    d = decompose(previous, current)
    assert (d.change, d.benchmark_part, d.residual) == (Decimal("0.00"), Decimal("0.01"), Decimal("-0.01"))


def _random_pricing(rng):
    def coefficient(low, high):
        return Decimal(rng.randrange(int(low * 10000), int(high * 10000) + 1)) / 10000

    benchmark = Decimal(rng.randrange(100, 5_000_000)) / 100
    p = Pricing(Decimal(0), benchmark, coefficient(0.5, 2.0), coefficient(0.9, 1.5), coefficient(0.65, 1.35))
    premium = (p.formula + Decimal(rng.randrange(-50_000, 50_001)) / 100).quantize(Decimal("0.01"))
    return Pricing(max(premium, Decimal("0.01")), p.benchmark, p.ncd, p.violation, p.autonomous)


def test_for_many_random_renewals_the_parts_add_up_exactly_and_stay_near_the_exact_split():
    rng = random.Random(20210630)
    for _ in range(5000):
        previous, current = _random_pricing(rng), _random_pricing(rng)
        d = decompose(previous, current)
        assert sum(d.parts()) == d.change == current.premium - previous.premium
        exact = exact_parts(previous, current)
        assert sum(exact) == current.premium - previous.premium  # the exact split telescopes
        for stored, precise in zip(d.parts()[:4], exact[:4]):
            assert abs(stored - precise) <= Decimal("0.005")
        assert abs(d.residual - exact[4]) <= Decimal("0.02")
        assert all(part == part.quantize(Decimal("0.01")) for part in d.parts())
