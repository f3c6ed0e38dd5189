"""Decimal texts to doubles (app.engine.decimal_parse): bit for bit what CPython's float()
reads (its correctly rounded strtod), on random texts and on the known hard cases."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest

from app.engine.decimal_parse import NEEDS_EXACT, POWERS_OF_FIVE, decimal_to_double


def decimal_parts(text: str) -> tuple[int, int, bool]:
    """(w, q, negative) with text = (-)w * 10^q, w the integer of all the digits."""
    negative = text.startswith("-")
    mantissa, _, exponent = text.lstrip("-").lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    return int(whole + fraction or "0"), int(exponent or 0) - len(fraction), negative


def parsed_bits(text: str) -> int:
    w, q, negative = decimal_parts(text)
    assert w < 10**19, text
    return int(decimal_to_double(np.uint64(w), q, negative))


def float_bits(text: str) -> int:
    return struct.unpack("<Q", struct.pack("<d", float(text)))[0]


def test_the_power_table_matches_its_published_first_and_last_entries():
    # 5^-342 and 5^308 in 128 bits, as printed in fast_float's fast_table.h (Apache-2.0/MIT).
    assert [int(v) for v in POWERS_OF_FIVE[0]] == [0xEEF453D6923BD65A, 0x113FAA2906A13B3F]
    assert [int(v) for v in POWERS_OF_FIVE[-1]] == [0x8E679C2F5E44FF8F, 0x570F09EAA7EA7648]


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-0",
        "1",
        "0.1",
        "0.3",
        "1e23",  # the classic double-rounding trap
        "9007199254740993",  # 2^53 + 1: halfway, ties to even (down)
        "9007199254740995",  # 2^53 + 3: halfway, ties to even (up)
        "9007199254740994",
        "18014398509481985",  # 2^54 + 1
        "2.2250738585072014e-308",  # the smallest normal double
        "1.7976931348623157e308",  # the largest double
        "4.35679105e-10",
        "7.038531e-26",
        "0.000338079389960223",
        "0.0009347522489264555",
        "123456789012345678e-20",
        "9999999999999999999",  # 19 nines
        "1e-342",
        "1e-400",
        "5e-324",  # subnormal: left to the exact parser
        "1e309",  # beyond the range: infinity
    ],
)
def test_hard_cases_equal_float(text):
    bits = parsed_bits(text)
    if bits == int(NEEDS_EXACT):
        assert abs(float(text)) < 2.2250738585072014e-308  # only below the normal range
    else:
        assert bits == float_bits(text)


def test_random_texts_equal_float():
    rng = random.Random(20261129)
    texts = []
    for _ in range(20_000):
        x = rng.random() * 10.0 ** rng.randint(-300, 300)
        texts.append(repr(x))  # shortest round-trip texts, up to 17 digits
        texts.append(f"{x:.{rng.randint(0, 18)}e}")
        texts.append(f"{rng.randint(1, 10**19 - 1)}e{rng.randint(-330, 290)}")
        texts.append(f"-{rng.randint(1, 2**64 // 2 ** rng.randint(0, 60))}")
        # Exactly halfway between two doubles (b * 2^e + 2^(e-1), under 2^64): ties to even.
        b, e = rng.randint(2**52, 2**53 - 1), rng.randint(1, 10)
        texts.append(str(b * 2**e + 2 ** (e - 1)))
    checked = 0
    for text in texts:
        w, _, _ = decimal_parts(text)
        if w >= 10**19:
            continue
        bits = parsed_bits(text)
        if bits == int(NEEDS_EXACT):
            assert abs(float(text)) < 2.2250738585072014e-308, text
            continue
        assert bits == float_bits(text), text
        checked += 1
    assert checked > 95_000
