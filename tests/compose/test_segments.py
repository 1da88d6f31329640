"""Segment counts at every boundary, from GSM 03.38 and Vonage's concatenation guide, checked
in core/messaging/segments.py and in the live counter's static/js/segments.js alike."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from core.messaging.segments import GSM7_EXTENDED, count

JS = Path(__file__).resolve().parents[2] / "static" / "js" / "segments.js"
SMILE = "\U0001F60A"  # 😊, a surrogate pair in UTF-16
FLAG = "\U0001F1EB\U0001F1F7"  # 🇫🇷: two regional indicators, two pairs
THUMB = "\U0001F44D\U0001F3FD"  # 👍🏽: an emoji and its skin-tone modifier, two pairs
EXTENDED = sorted(GSM7_EXTENDED)


def _vectors() -> list[tuple[str, str, int, int]]:
    """(text, encoding, units, segments) worked out by hand from the packing rules."""
    v = [("", "GSM-7", 0, 0)]
    # GSM-7 boundaries: 160 in one, then parts of 153.
    for n, parts in ((1, 1), (160, 1), (161, 2), (153, 1), (306, 2), (307, 3), (459, 3),
                     (460, 4), (1530, 10)):
        v.append(("a" * n, "GSM-7", n, parts))
    # UCS-2 boundaries: 70 in one, then parts of 67 ("é" is GSM-7, "ж" is not).
    for n, parts in ((70, 1), (71, 2), (67, 1), (134, 2), (135, 3)):
        v.append(("ж" * n, "UCS-2", n, parts))
    for ext in EXTENDED:
        v += [
            (ext * 80, "GSM-7", 160, 1),  # 160 septets still fit one SMS
            ("a" * 159 + ext, "GSM-7", 161, 2),
            ("a" * 158 + ext, "GSM-7", 160, 1),
            # escape and char at septets 153/154: the pair moves to part two
            ("a" * 152 + ext + "a" * 152, "GSM-7", 306, 3),
            ("a" * 151 + ext + "a" * 153, "GSM-7", 306, 2),  # fills part one exactly
            ("a" * 153 + ext + "a" * 151, "GSM-7", 306, 2),  # starts part two
            # the same at the second boundary (septets 306/307)
            ("a" * 153 + "a" * 152 + ext + "a", "GSM-7", 308, 3),
            ("a" * 153 + "a" * 152 + ext, "GSM-7", 307, 3),
            ("a" * 153 + "a" * 151 + ext, "GSM-7", 306, 2),
        ]
    # Surrogate pairs at the UCS-2 part boundary (units 66/67/68).
    v += [
        ("a" * 66 + SMILE + "a" * 66, "UCS-2", 134, 3),  # the pair would be units 67-68
        ("a" * 65 + SMILE + "a" * 67, "UCS-2", 134, 2),  # units 66-67: fits part one
        ("a" * 67 + SMILE + "a" * 65, "UCS-2", 134, 2),  # units 68-69: starts part two
        ("a" * 68 + SMILE, "UCS-2", 70, 1),
        ("a" * 69 + SMILE, "UCS-2", 71, 2),
        (SMILE * 35, "UCS-2", 70, 1),
        (SMILE * 36, "UCS-2", 72, 2),  # 33 pairs in part one (66 units), 3 in part two
        (SMILE * 800, "UCS-2", 1600, 25),  # 33 pairs a part: 24 parts hold 792
        # A flag or a skin tone is two pairs; the parts may split between them, never inside.
        ("a" * 65 + FLAG + "a" * 10, "UCS-2", 79, 2),
        ("a" * 64 + FLAG + "a" * 67, "UCS-2", 135, 3),
        ("a" * 63 + FLAG + "a" * 67, "UCS-2", 134, 2),
        ("a" * 65 + THUMB + "a" * 65, "UCS-2", 134, 2),  # split between the two pairs
        ("a" * 66 + THUMB + "a" * 64, "UCS-2", 134, 3),
        (FLAG * 17 + "a" * 2, "UCS-2", 70, 1),
        (THUMB * 17 + "ab", "UCS-2", 70, 1),
        # A lone escape septet is not a GSM-7 character: the text goes as Unicode.
        ("\x1be", "UCS-2", 2, 1),
        ("Ready \x1b" + "a" * 70, "UCS-2", 77, 2),
        # GSM-7 letters with accents stay GSM-7; one outside the table switches.
        ("Café à 9h, Ñoño", "GSM-7", 15, 1), ("Ñandú", "UCS-2", 5, 1),
        ("Café " + "a" * 154 + "€", "GSM-7", 161, 2),
        ("Привет", "UCS-2", 6, 1),
    ]
    return v


VECTORS = _vectors()


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), VECTORS,
                         ids=[f"{i}:{len(t)}" for i, (t, *_rest) in enumerate(VECTORS)])
def test_the_server_counts_segments_by_packing_parts(text, encoding, units, segments):
    info = count(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)
    assert info.per_segment == {"GSM-7": (160, 153), "UCS-2": (70, 67)}[encoding][
        segments > 1]


def test_the_issue_examples():
    assert count("a" * 152 + "€" + "a" * 152).segments == 3
    assert count("a" * 66 + SMILE + "a" * 66).segments == 3
    assert count(SMILE * 800).segments == 25
    assert count("\x1be").encoding == "UCS-2"
    assert count("Hi \x1b").ucs2_chars == ("\x1b",)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_live_counter_agrees_on_every_vector():
    """static/js/segments.js, run by node, gives the figures segments.count gives."""
    texts = [text for text, *_ in VECTORS]
    script = (f"const s = require({json.dumps(str(JS))});"
              "const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(texts.map((t) => s.count(t))));")
    done = subprocess.run(["node", "-e", script], input=json.dumps(texts), text=True,
                          capture_output=True, check=True, timeout=30)
    for text, js in zip(texts, json.loads(done.stdout), strict=True):
        py = count(text)
        assert (js["encoding"], js["characters"], js["units"], js["segments"],
                js["perSegment"], tuple(js["ucs2Chars"])) == (
            py.encoding, py.characters, py.units, py.segments, py.per_segment,
            py.ucs2_chars), repr(text[:20])
