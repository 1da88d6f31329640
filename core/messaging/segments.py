"""SMS length in segments: GSM-7 (160 / 153 per part) or UCS-2 (70 / 67 per part)."""

import math
from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")  # each takes two septets (escape + char)
MAX_SMS_CHARS = 1600


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # what a person counts
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int
    ucs2_chars: tuple[str, ...]  # the characters that forced UCS-2, in order of appearance


def count(text: str) -> SegmentInfo:
    """Segments the provider will bill for `text` sent as one SMS."""
    gsm = GSM7_BASIC | GSM7_EXTENDED
    offending = tuple(dict.fromkeys(c for c in text if c not in gsm))
    if offending:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    else:
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    if units == 0:
        segments = 0
    elif units <= single:
        segments = 1
    else:
        segments = math.ceil(units / multi)
    per = single if segments <= 1 else multi
    return SegmentInfo(encoding, len(text), units, segments, per, offending)
