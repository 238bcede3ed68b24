""".NET-style format patterns after ``#`` (invariant culture, as ShopCtrl formats)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from shopctrl_desktop.domain.templates.formats import format_value, formatter, to_text

DT = "2026-03-07T09:05:03.1234567+01:00"[:26] + "+01:00"  # 2026-03-07T09:05:03.123456+01:00


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        (DT, "yyyy-MM-dd", "2026-03-07"),
        (DT, "dd-MM-yy HH:mm", "07-03-26 09:05"),
        (DT, "MMMM d", "March 7"),
        (DT, "MMM d, yyyy", "Mar 7, 2026"),
        (DT, "dddd", "Saturday"),
        (DT, "ddd", "Sat"),
        (DT, "d/M/yyyy H:m:s", "7/3/2026 9:5:3"),
        (DT, "hh:mm tt", "09:05 AM"),
        (DT, "HH:mm:ss.fff", "09:05:03.123"),
        (DT, "HH:mm:ss.FFFFFFF", "09:05:03.123456"),
        (DT, "zzz", "+01:00"),
        (DT, "yyyy'-W'MM", "2026-W03"),
        (DT, "yyyy\\yMM", "2026y03"),
        (DT, "s", "2026-03-07T09:05:03"),
        (DT, "d", "03/07/2026"),
        (DT, "t", "09:05"),
        ("2026-03-07", "yyyy-MM-dd HH:mm", "2026-03-07 00:00"),
        ("2026-03-07 18:30:00", "h:mm tt", "6:30 PM"),
        ("2026-03-07T09:05:03Z", "yyyy-MM-ddTHH:mm:ssK", "2026-03-07T09:05:03Z"),
        (
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
            "yyyy-MM-dd HH:mm zzz",
            "2026-01-02 03:04 -05:00",
        ),
        (date(2026, 12, 31), "dd MMMM yyyy", "31 December 2026"),
        (12.5, "0.00", "12.50"),
        (12.345, "0.00", "12.35"),
        (-12.345, "0.00", "-12.35"),
        (2.675, "0.00", "2.68"),
        (0.125, "0.00", "0.13"),
        (1.5, "0", "2"),
        (2.5, "0", "3"),
        (-2.5, "0", "-3"),
        (3.14159, "0.0000", "3.1416"),
        (1234567.891, "#,###.00", "1,234,567.89"),
        (1234.5, "€#,###.00", "€1,234.50"),
        (1234.5, "€ #,##0.00", "€ 1,234.50"),
        (1234.5, "#,##0.00 EUR", "1,234.50 EUR"),
        (1234.5, "'EUR' 0.00", "EUR 1234.50"),
        (0.5, "#,###.00", ".50"),
        (0.5, "#,##0.00", "0.50"),
        (0, "#", ""),
        (0, "0", "0"),
        (7, "000", "007"),
        (0.1, "0.##", "0.1"),
        (3, "0.##", "3"),
        (-0.001, "0.00", "0.00"),
        (0.256, "0%", "26%"),
        (1234567, "#,##0,", "1,235"),
        (1234567, "0,,.0", "1.2"),
        (-5, "0.00;(0.00)", "(5.00)"),
        (0, "0.00;(0.00);-", "-"),
        (5551234567, "(###) ###-####", "(555) 123-4567"),
        ("42.5", "0.00", "42.50"),
        (Decimal("1.005"), "0.00", "1.01"),
        (1e21, "#,##0", "1,000,000,000,000,000,000,000"),
        (1234.5, "N2", "1,234.50"),
        (1234.5, "N0", "1,235"),
        (1234.5, "F3", "1234.500"),
        (42, "D6", "000042"),
        (0.1234, "P1", "12.3 %"),
        (255, "X4", "00FF"),
        (255, "x", "ff"),
        (1234.5, "E2", "1.23E+003"),
        (1234.5, "C", "¤1,234.50"),
        (1234.5, "G", "1234.5"),
        # values a format does not fit are shown unformatted
        ("ORD-1", "0.00", "ORD-1"),
        ("ORD-1", "yyyy-MM-dd", "ORD-1"),
        ("2026-13-45", "yyyy-MM-dd", "2026-13-45"),
        (True, "0.00", "true"),
        (None, "0.00", ""),
        (12.5, "", "12.5"),
    ],
)
def test_format(value, pattern, expected):
    assert format_value(value, pattern) == expected
    if value is not None:
        assert formatter(pattern)(value) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (3.0, "3"),
        (2.5, "2.5"),
        (1e-7, "1e-07"),
        (Decimal("1.50"), "1.50"),
        ({"a": 1}, '{"a": 1}'),
        ([1, "x"], '[1, "x"]'),
        (float("nan"), ""),
    ],
)
def test_to_text(value, text):
    assert to_text(value) == text


def test_fast_number_formatter_agrees_with_decimal_arithmetic():
    rng = random.Random(7)
    patterns = [
        "0.00",
        "0.0000",
        "#,###.00",
        "€#,###.00",
        "0",
        "0.##",
        "#,##0.0#",
        "000.000",
        "€ #,##0.00 EUR",
    ]
    for _ in range(20_000):
        value = rng.choice(
            [
                rng.uniform(-1e6, 1e6),
                round(rng.uniform(-1e3, 1e3), rng.randint(0, 5)),
                rng.randint(-(10**7), 10**7),
            ]
        )
        pattern = rng.choice(patterns)
        places = len(pattern.split(".")[1].rstrip(" EUR")) if "." in pattern else 0
        expected = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding="ROUND_HALF_UP")
        got = formatter(pattern)(value)
        digits = "".join(ch for ch in got if ch.isdigit() or ch in ".-")
        assert Decimal(digits or "0") == expected, (value, pattern, got)
        assert got == format_value(value, pattern)
