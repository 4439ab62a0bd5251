"""Plate numbers, plate colours, VINs, credit codes and division codes: real formats accepted, corruptions refused."""
import random

import marshmallow as ma
import pytest

from insurer_dms.fleet import identifiers as ids

# Published, real-format examples with correct check characters.
REAL_VINS = ["1M8GDM9AXKP042788", "LSVAM4187C2184847", "11111111111111111"]
REAL_CREDIT_CODES = ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"]


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("粤U12345", "粤U12345"),
        ("粤UD12345", "粤UD12345"),  # small new-energy, pure electric
        ("粤UFA1234", "粤UFA1234"),  # small new-energy, other
        ("粤U12345D", "粤U12345D"),  # large new-energy
        ("粤U1234挂", "粤U1234挂"),  # trailer
        (" 粤u·a12b4 ", "粤UA12B4"),  # spaces, separator dot and lower case are tidied
        ("粤Ｕ１２３４５", "粤U12345"),  # full-width characters typed with a Chinese IME
        ("京A88888", "京A88888"),
    ],
)
def test_valid_plates_are_normalised(typed, expected):
    assert ids.plate_number(typed) == expected


@pytest.mark.parametrize(
    "typed, words",
    [
        ("", "required"),
        ("AU12345", "province character"),
        ("粤U1234", "5 letters/digits"),
        ("粤U123456", "5 letters/digits"),
        ("粤UO1234", "I or O"),
        ("粤U12I45", "I or O"),
        ("粤112345", "city letter"),
        ("粤U123挂", "5 letters/digits"),
        ("粤UX12345", "5 letters/digits"),  # 6 characters but not a D/F new-energy pattern
        ("粤U12-34#", "5 letters/digits"),
    ],
)
def test_bad_plates_are_refused_with_a_reason(typed, words):
    with pytest.raises(ValueError, match=words):
        ids.plate_number(typed)


@pytest.mark.parametrize("typed, code", [("1", 1), (2, 2), ("黄色", 2), ("黄", 2), ("Yellow", 2), ("蓝色", 1), ("3", 3), ("white", 4), ("9", 9), ("其他", 9)])
def test_plate_colours_by_code_or_name(typed, code):
    assert ids.plate_colour(typed) == code


@pytest.mark.parametrize("typed", ["0", "5", "green", "", None, "2.5"])
def test_unknown_plate_colours_are_refused(typed):
    with pytest.raises(ValueError, match="Plate colour"):
        ids.plate_colour(typed)


@pytest.mark.parametrize("vin", REAL_VINS)
def test_real_vins_pass_the_check_digit(vin):
    assert ids.vin(vin) == vin
    assert ids.vin(vin.lower()) == vin


def test_check_digit_ten_is_written_x():
    assert ids.vin_check_digit("1M8GDM9AXKP042788") == "X"


@pytest.mark.parametrize("position", range(17))
def test_any_single_character_corruption_of_a_vin_is_caught(position):
    good = "LSVAM4187C2184847"
    for replacement in "0123456789ABCDEFGHJKLMNPRSTUVWXYZ":
        if replacement == good[position]:
            continue
        bad = good[:position] + replacement + good[position + 1:]
        if ids.vin_check_digit(bad) == bad[8] and position != 8:
            continue  # a different character with the same weighted value: undetectable by design
        with pytest.raises(ValueError, match="check digit"):
            ids.vin(bad)


def test_vin_check_digit_message_names_both_digits():
    with pytest.raises(ValueError, match="VIN check digit is 5, expected 7"):
        ids.vin("LSVAM4185C2184847")


@pytest.mark.parametrize(
    "typed, words",
    [("LSVAM4187C218484", "17 characters"), ("LSVAM4187C21848477", "17 characters"), ("LSVAM4187C2I84847", "I, O or Q"),
     ("LSVAQ4187C2184847", "I, O or Q"), ("LSVAM4187C218484*", "letters and digits"), ("", "required")],
)
def test_malformed_vins_are_refused(typed, words):
    with pytest.raises(ValueError, match=words):
        ids.vin(typed)


@pytest.mark.parametrize("code", REAL_CREDIT_CODES)
def test_real_credit_codes_pass(code):
    assert ids.credit_code(code) == code
    assert ids.credit_code(code.lower()) == code


@pytest.mark.parametrize("position", range(18))
def test_any_single_character_corruption_of_a_credit_code_is_caught(position):
    good = "91350100M000100Y43"
    replacement = "7" if good[position] != "7" else "8"
    bad = good[:position] + replacement + good[position + 1:]
    with pytest.raises(ValueError, match="Check character"):
        ids.credit_code(bad)


@pytest.mark.parametrize(
    "typed, words",
    [("91350100M000100Y4", "18 characters"), ("91350100M000100Z43", "position 16"), ("913501O0M000100Y43", "not allowed"),
     ("91A50100M000100Y43", "division code")],
)
def test_malformed_credit_codes_are_refused(typed, words):
    with pytest.raises(ValueError, match=words):
        ids.credit_code(typed)


def test_credit_code_check_wraps_31_to_0():
    # a body whose weighted sum is a multiple of 31 takes the check character 0
    rng = random.Random(7)
    for _ in range(5000):
        code = ids.make_credit_code(rng)
        if code.endswith("0"):
            assert ids.credit_check_character(code[:17]) == "0"
            break
    else:
        pytest.fail("no code with check character 0 generated")


def test_generated_vins_and_credit_codes_are_valid_and_varied():
    rng = random.Random(1)
    vins = {ids.make_vin(rng) for _ in range(500)}
    codes = {ids.make_credit_code(rng, division="445103") for _ in range(500)}
    assert len(vins) == 500 and len(codes) == 500
    assert all(ids.vin(v) == v for v in vins)
    assert all(ids.credit_code(c) == c and c[2:8] == "445103" for c in codes)


@pytest.mark.parametrize("code", ["445100", "445102", "445103", "445122", "110101"])
def test_division_codes(code):
    assert ids.county_code(code) == code


def test_fengxi_is_managed_under_xiangqiao():
    assert "Fengxi" in ids.county_name("445102")


@pytest.mark.parametrize("typed", ["44510", "4451022", "44510A", "995102", ""])
def test_bad_division_codes(typed):
    with pytest.raises(ValueError, match="Division code"):
        ids.county_code(typed)


def test_marshmallow_fields_normalise_and_report():
    schema = ma.Schema.from_dict(
        {"plate": ids.PlateField(), "vin": ids.VinField(), "credit_code": ids.CreditCodeField(), "colour": ids.PlateColourField()}
    )()
    assert schema.load({"plate": "粤u12345", "vin": "lsvam4187c2184847", "credit_code": "91350100m000100y43", "colour": "黄色"}) == {
        "plate": "粤U12345", "vin": "LSVAM4187C2184847", "credit_code": "91350100M000100Y43", "colour": 2
    }
    with pytest.raises(ma.ValidationError) as err:
        schema.load({"plate": "粤U1", "vin": "LSVAM4185C2184847", "credit_code": "91350100M000100Y44", "colour": 7})
    assert set(err.value.messages) == {"plate", "vin", "credit_code", "colour"}
    assert "expected 7" in err.value.messages["vin"][0]


def test_marshmallow_validators_wrap_the_rules():
    assert ids.validate_vin("LSVAM4187C2184847")
    with pytest.raises(ma.ValidationError, match="check digit"):
        ids.validate_vin("LSVAM4185C2184847")
    with pytest.raises(ma.ValidationError):
        ids.validate_plate("粤U1")
    with pytest.raises(ma.ValidationError):
        ids.validate_credit_code("91350100M000100Y44")
