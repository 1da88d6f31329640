"""Message text to safe HTML: everything escaped, http(s) links clickable, mentions marked."""

import re
from functools import lru_cache

from markupsafe import Markup, escape

# Only http(s) and www. links become anchors; "javascript:" and every other scheme stay text.
LINK = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
TRAILING = ".,;:!?)]}"


def mentioned(body: str, people) -> list:
    """The people (objects with `.name`) whose @name or @first-name appears in `body`."""
    lowered = body.lower()
    found = []
    for person in people:
        names = {person.name.lower(), person.name.split()[0].lower()} if person.name else set()
        if any(re.search(rf"@{re.escape(n)}\b", lowered) for n in names):
            found.append(person)
    return found


def render(body: str, names=()) -> Markup:
    """Escape `body`, wrap links in anchors and @names (any of `names`) in a highlight."""
    out, last = [], 0
    for match in LINK.finditer(body):
        url = match.group(0).rstrip(TRAILING)
        end = match.start() + len(url)
        out.append(_mentions(body[last:match.start()], names))
        href = url if url.lower().startswith("http") else f"https://{url}"
        out.append(Markup('<a href="{}" target="_blank" rel="noopener noreferrer nofollow">{}</a>')
                   .format(href, url))
        last = end
    out.append(_mentions(body[last:], names))
    return Markup("").join(out)


def _mentions(text: str, names) -> Markup:
    escaped = str(escape(text))
    if "@" not in text:
        return Markup(escaped)
    pattern = _pattern(tuple(sorted(set(names))))
    if pattern is None:
        return Markup(escaped)
    return Markup(pattern.sub(lambda m: f'<mark class="mention">{m.group(0)}</mark>', escaped))


@lru_cache(maxsize=64)
def _pattern(names: tuple) -> re.Pattern | None:
    """One regex for every @name of a chat (longest first), compiled once per member list."""
    tokens = sorted({str(escape("@" + n)) for n in names if n}, key=len, reverse=True)
    if not tokens:
        return None
    return re.compile("(?:" + "|".join(re.escape(t) for t in tokens) + r")\b", re.IGNORECASE)
