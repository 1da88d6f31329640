"""SMS length in segments, counted the way the network packs a long text into parts.

GSM-7 (3GPP TS 23.038, "GSM 03.38"): a single SMS holds 160 septets; a part of a concatenated
one holds 153, the rest of its 140 octets carrying the concatenation header (Vonage's
"Concatenation and encoding" guide gives the same 160 / 153 and 70 / 67). A character of the
extension table is an escape septet plus its own, and both must travel in the same part, so a
part that has one septet left ends there. UCS-2: 70 UTF-16 code units, 67 per part; an emoji
outside the Basic Multilingual Plane is a surrogate pair, which is never split across parts
either (a flag or a skin-toned emoji is several pairs and may be split between them).

The escape septet (0x1B) on its own is not a character: sent as GSM-7 it would merge with the
next one ("ESC e" arrives as "€"), so a text containing it is measured and sent as Unicode,
where it stays what it is. static/js/segments.js implements the same rules for the live counter
(tests/compose/test_segments.py checks both against the same vectors).
"""

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")  # each takes two septets (escape + char)
GSM7 = GSM7_BASIC | GSM7_EXTENDED
MAX_SMS_CHARS = 1600
LIMITS = {"GSM-7": (160, 153), "UCS-2": (70, 67)}  # units in one SMS, units per part


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
    offending = tuple(dict.fromkeys(c for c in text if c not in GSM7))
    encoding = "UCS-2" if offending else "GSM-7"
    sizes = [_units(c, encoding) for c in text]
    single, per_part = LIMITS[encoding]
    units = sum(sizes)
    segments = 0 if units == 0 else 1 if units <= single else _parts(sizes, per_part)
    return SegmentInfo(encoding, len(text), units, segments,
                       single if segments <= 1 else per_part, offending)


def _units(char: str, encoding: str) -> int:
    """Septets of a GSM-7 character, or UTF-16 code units of any character."""
    if encoding == "GSM-7":
        return 2 if char in GSM7_EXTENDED else 1
    return 2 if ord(char) > 0xFFFF else 1


def _parts(sizes: list[int], per_part: int) -> int:
    """How many parts of `per_part` units hold these indivisible pieces, in order."""
    parts, used = 1, 0
    for size in sizes:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts
