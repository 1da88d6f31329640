// SMS segments as the network packs a long text into parts: the same rules as
// core/messaging/segments.py (tests/compose/test_segments.py runs both on the same vectors).
// GSM-7: 160 septets, 153 per part; an extension character (escape + char) never straddles
// two parts. UCS-2: 70 UTF-16 units, 67 per part; a surrogate pair never straddles two parts.
// A lone ESC (0x1B) is not a GSM-7 character, so it makes the text Unicode.
(function (root) {
  "use strict";

  const GSM7_BASIC = new Set(Array.from(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
  ));
  const GSM7_EXTENDED = new Set(Array.from("^{}\\[~]|€\f")); // two septets each
  const LIMITS = { "GSM-7": [160, 153], "UCS-2": [70, 67] };

  function units(c, encoding) {
    if (encoding === "GSM-7") return GSM7_EXTENDED.has(c) ? 2 : 1;
    return c.codePointAt(0) > 0xffff ? 2 : 1;
  }

  function parts(sizes, perPart) {
    let n = 1, used = 0;
    for (const size of sizes) {
      if (used + size > perPart) { n += 1; used = 0; }
      used += size;
    }
    return n;
  }

  // Segments the provider bills for `text` sent as one SMS (see segments.count).
  function count(text) {
    const chars = Array.from(text); // code points, as Python counts them
    const ucs2Chars = [...new Set(chars.filter((c) => !GSM7_BASIC.has(c) && !GSM7_EXTENDED.has(c)))];
    const encoding = ucs2Chars.length ? "UCS-2" : "GSM-7";
    const sizes = chars.map((c) => units(c, encoding));
    const [single, perPart] = LIMITS[encoding];
    const total = sizes.reduce((a, b) => a + b, 0);
    let segments = 0;
    if (total > 0) segments = total <= single ? 1 : parts(sizes, perPart);
    const perSegment = segments <= 1 ? single : perPart;
    return { encoding, characters: chars.length, units: total, segments, perSegment, ucs2Chars };
  }

  const api = { count, MAX_SMS_CHARS: 1600 };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.TidingsSegments = api;
})(typeof window !== "undefined" ? window : globalThis);
