"""SMS segments: the unit an operator bills."""
from __future__ import annotations

import pytest

from chalicelib.domain.segments import encoding, segments, units


@pytest.mark.parametrize("text, expected_encoding, expected_units, expected_segments", [
    ("", "gsm7", 0, 1),
    ("OK ABC234", "gsm7", 9, 1),
    ("a" * 160, "gsm7", 160, 1),
    ("a" * 161, "gsm7", 161, 2),
    ("a" * 306, "gsm7", 306, 2),
    ("a" * 307, "gsm7", 307, 3),
    ("[" * 80, "gsm7", 160, 1),            # extension characters take two septets
    ("[" * 81, "gsm7", 162, 2),
    ("楼" * 70, "ucs2", 70, 1),
    ("楼" * 71, "ucs2", 71, 2),
    ("a" * 69 + "楼", "ucs2", 70, 1),      # one Chinese character makes the whole text UCS-2
    ("楼" * 134, "ucs2", 134, 2),
    ("楼" * 135, "ucs2", 135, 3),
    ("😀" * 35, "ucs2", 70, 1),            # outside the BMP: two UTF-16 units each
    ("😀" * 36, "ucs2", 72, 2),
], ids=lambda v: str(v)[:12])
def test_given_a_text_then_its_encoding_length_and_segments(text, expected_encoding, expected_units,
                                                            expected_segments):
    assert (encoding(text), units(text), segments(text)) == (expected_encoding, expected_units, expected_segments)
