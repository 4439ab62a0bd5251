"""The minimal SIM rules work orders rely on: ICCID, carrier from the issuer prefix, MSISDN, get-or-create."""
import pytest

from insurer_dms.errors import Conflict, Invalid
from insurer_dms.luhn import check_digit
from insurer_dms.sims import service
from insurer_dms.sims.models import Sim
from tests.install_factories import bad_iccid, iccid, msisdn


def with_check(body):
    return body + check_digit(body)


@pytest.mark.parametrize(
    "prefix, carrier",
    [("898600", "china_mobile"), ("898602", "china_mobile"), ("898604", "china_mobile"), ("898607", "china_mobile"),
     ("898601", "china_unicom"), ("898606", "china_unicom"), ("898609", "china_unicom"),
     ("898603", "china_telecom"), ("898611", "china_telecom")],
)
def test_the_carrier_follows_the_issuer_prefix(prefix, carrier):
    number = iccid(7, prefix=prefix)
    assert service.iccid_problem(number) is None
    assert service.carrier_of(number) == carrier


def test_a_19_digit_iccid_is_accepted():
    assert service.iccid_problem(with_check("898600" + "1" * 12)) is None


@pytest.mark.parametrize(
    "value, words",
    [
        ("", "19 or 20 digits"),
        ("8986001234", "19 or 20 digits"),
        ("8986" + "0" * 17, "19 or 20 digits"),
        ("898600123456789012AB", "19 or 20 digits"),
        (with_check("891600" + "1" * 13), "starts with 8986"),
        (bad_iccid(5), "Luhn"),
        (with_check("898699" + "1" * 13), "issuer prefix"),
    ],
)
def test_bad_iccids_are_refused_with_the_reason(value, words):
    assert words in service.iccid_problem(value)


@pytest.mark.parametrize("value, ok", [("14401234567", True), ("1440123456789", True), ("1440123456", False),
                                       ("14401234567890", False), ("1440-123-4567", False)])
def test_terminal_numbers_are_11_to_13_digits(value, ok):
    assert (service.msisdn_problem(value) is None) is ok


def test_check_identity_names_every_bad_field():
    with pytest.raises(Invalid) as caught:
        service.check_identity(bad_iccid(1), "123")
    assert set(caught.value.errors) == {"iccid", "msisdn"}


def test_a_declared_carrier_that_disagrees_with_the_iccid_is_refused():
    with pytest.raises(Invalid) as caught:
        service.check_identity(iccid(3, prefix="898601"), msisdn(3), "china_mobile")
    assert "China Unicom" in caught.value.errors["carrier"][0]
    assert service.check_identity(iccid(3, prefix="898601"), msisdn(3), "china_unicom")[2] == "china_unicom"


def test_get_or_create_finds_the_same_sim_and_refuses_a_clashing_msisdn(ctx):
    from insurer_dms.extensions import db

    first = service.get_or_create(iccid(11), msisdn(11))
    db.session.commit()
    assert first.carrier == "china_mobile" and first.status == "in_stock"
    assert service.get_or_create(iccid(11), msisdn(11)).id == first.id
    with pytest.raises(Conflict) as caught:
        service.get_or_create(iccid(11), msisdn(12))
    assert "msisdn" in caught.value.errors
    with pytest.raises(Conflict):
        service.get_or_create(iccid(13), msisdn(11))  # the number belongs to another SIM
    assert db.session.query(Sim).count() == 1
