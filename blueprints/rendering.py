"""Page-or-fragment rendering: decided in one place, from the HX-Request header."""

from flask import abort, current_app, redirect, render_template, request


def is_htmx() -> bool:
    """True for an htmx request that wants a fragment (not a boosted or history-restore load)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, fragment: str, **context):
    """Render the full page, or only the fragment it includes when htmx asks."""
    return render_template(fragment if is_htmx() else page, **context)


def see_other(url: str):
    """After a successful change: 303 for a plain form, an HX-Redirect for htmx."""
    if is_htmx():
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def plural(n, word: str, many: str | None = None, number: bool = True) -> str:
    """English plural rules for templates: `3|plural("segment")` → "3 segments", 1 → "1 segment";
    `number=False` gives only the word; `many` names an irregular plural ("replies")."""
    n = n or 0
    noun = word if n == 1 else (many or f"{word}s")
    return f"{n:,} {noun}" if number else noun


MAX_POLLED = 200  # ids one status poll may ask about (one list page)


def polled_ids() -> list[int]:
    """The `ids=1,2,3` of a status poll; 400 when one is not a number or there are too many."""
    try:
        ids = [int(part) for part in request.args.get("ids", "").split(",") if part.strip()]
    except ValueError:
        abort(400)
    if len(ids) > MAX_POLLED:
        abort(400)
    return ids
