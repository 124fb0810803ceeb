import pytest

from service.money import AmountError, format_amount, parse_amount


@pytest.mark.parametrize(
    ("given", "units"),
    [
        ("12.5", 12_500_000),
        ("0.000001", 1),
        ("1", 1_000_000),
        (3, 3_000_000),
        (0.1, 100_000),
        ("100.123456", 100_123_456),
        (" 7 ", 7_000_000),
    ],
)
def test_amounts_become_exact_base_units(given: object, units: int) -> None:
    assert parse_amount(given) == units


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("1.0000001", "more than 6 decimal places"),
        ("-1", "negative"),
        ("0", "greater than zero"),
        ("0.000000", "greater than zero"),
        ("NaN", "decimal string"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        ("1e3", "decimal string"),
        (True, "decimal string"),
        (None, "decimal string"),
        ("", "decimal string"),
        ("\u0661\u0662", "decimal string"),
        ("1,5", "decimal string"),
        ([], "decimal string"),
        ("1" * 30, "too large"),
    ],
)
def test_bad_amounts_say_what_is_wrong(given: object, problem: str) -> None:
    with pytest.raises(AmountError, match=problem):
        parse_amount(given)


def test_format_is_six_places_and_round_trips() -> None:
    assert format_amount(12_500_000) == "12.500000"
    assert format_amount(1) == "0.000001"
    assert format_amount(-5) == "-0.000005"
    for units in (0, 1, 999_999, 10**15 + 7):
        assert parse_amount(format_amount(units), allow_zero=True) == units
