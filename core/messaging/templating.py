"""Merge fields: `{{ first_name }}` templates checked against a whitelist, rendered in a sandbox.

The sandbox alone would stop `{{ ''.__class__ }}` at run time; we go further and refuse any
template whose syntax tree holds more than text, whitelisted fields and whitelisted filters,
so a hostile template is rejected at compose time with a message, never executed.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "company",
    "appointment_date",
    "appointment_time",
    "appointment_datetime",
    "staff",
    "location",
    "service",
    "job_number",
    "business_name",
    "business_phone",
    "reply_hint",
    "appointments",
)
FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name",
    "company": "Company",
    "appointment_date": "Appointment date",
    "appointment_time": "Appointment time",
    "appointment_datetime": "Date and time",
    "staff": "Staff",
    "location": "Location",
    "service": "Service",
    "job_number": "Job number",
    "business_name": "Business name",
    "business_phone": "Business phone",
    "reply_hint": "Reply YES/NO hint",
    "appointments": "All their appointments",
}
FILTERS = ("upper", "lower", "title", "default")
STRUCTURE_ERROR = (
    "Only {{ field }} merge fields are allowed; loops, conditions and attribute access are not."
)


# Bounds that keep a hostile template from exhausting the parser's recursion, the CPU or the
# memory: 3,000 chained filters or 400 nested default() used to end in a RecursionError.
MAX_SOURCE_CHARS = 20_000
MAX_FILTERS = 10  # per merge field
MAX_BRACKET_DEPTH = 3
MAX_TOKENS_PER_TAG = 64
MAX_TAGS = 500
MAX_OUTPUT_CHARS = 100_000
MAX_RENDER_SECONDS = 0.5  # a trial rendering with long values, at compose time
SAMPLE_VALUE = "W" * 255  # as long as the longest field a row can hold


class TemplateError(ValueError):
    """A template that was refused, with a message fit to show the person who wrote it."""


def _default(value, fallback="", *_ignored):
    """`{{ first_name | default('there') }}`: the fallback when the field is empty."""
    return value or fallback


def _finalize(value):
    return "" if value is None else value


@lru_cache(maxsize=1)
def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        autoescape=False, finalize=_finalize, keep_trailing_newline=True
    )
    env.filters = {name: env.filters[name] for name in FILTERS if name != "default"}
    env.filters["default"] = _default
    env.globals = {}
    return env


@dataclass(frozen=True)
class Compiled:
    """A validated template, compiled once and rendered per recipient."""

    source: str
    fields: frozenset[str]
    template: object | None  # a jinja2 Template, or None for plain text
    # (text, None) and (None, field) pieces when the template is text and bare fields only:
    # joined directly, ten times faster than Template.render on a mass send.
    pieces: tuple[tuple[str | None, str | None], ...] | None = None

    def render(self, context: Mapping[str, str]) -> str:
        """The text for one recipient (`context` maps field names to strings)."""
        if self.template is None:
            return self.source
        if self.pieces is not None:
            return "".join(text if field is None else str(_finalize(context.get(field)))
                           for text, field in self.pieces)
        return self.template.render(context)


def compile_template(source: str) -> Compiled:
    """Validate `source` and compile it; raises TemplateError with a clear message."""
    source = source or ""
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateError(f"The text is too long: {MAX_SOURCE_CHARS:,} characters at most.")
    if "{" not in source:
        return Compiled(source, frozenset(), None)  # plain text: nothing to parse or render
    env = _environment()
    try:
        _check_tokens(env, source)
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(_syntax_message(exc)) from None
    fields = _check_tree(tree)
    compiled = Compiled(source, frozenset(fields), env.from_string(source), _pieces(tree))
    _trial_render(compiled)
    return compiled


def _check_tokens(env, source: str) -> None:
    """Bound every tag before the (recursive) parser sees it: filters, brackets, length."""
    tags = depth = tokens = filters = 0
    for _line, kind, value in env.lex(source):
        if kind in ("variable_begin", "block_begin"):
            tags, tokens, filters, depth = tags + 1, 0, 0, 0
        elif kind == "whitespace":
            continue
        tokens += 1
        if kind == "operator":
            filters += value == "|"
            depth += (value in "([{") - (value in ")]}")
        _check_counts(tags, depth, tokens, filters)


def _check_counts(tags: int, depth: int, tokens: int, filters: int) -> None:
    if filters > MAX_FILTERS:
        raise TemplateError(f"A merge field may have at most {MAX_FILTERS} filters.")
    if depth > MAX_BRACKET_DEPTH:
        raise TemplateError("Merge fields are nested too deeply: write "
                            "{{ field | default('text') }} without nesting.")
    if tokens > MAX_TOKENS_PER_TAG:
        raise TemplateError("A merge field is too long: write {{ field }} or "
                            "{{ field | filter }}.")
    if tags > MAX_TAGS:
        raise TemplateError(f"A text may hold at most {MAX_TAGS} merge fields.")


def _trial_render(compiled: "Compiled") -> None:
    """Fill the template once with long values: refuse it when the text or the time explodes."""
    context = dict.fromkeys(compiled.fields, SAMPLE_VALUE)
    started = time.perf_counter()
    text = compiled.render(context)
    if len(text) > MAX_OUTPUT_CHARS:
        raise TemplateError(f"Filled in, this text could exceed {MAX_OUTPUT_CHARS:,} "
                            "characters; use fewer merge fields.")
    if time.perf_counter() - started > MAX_RENDER_SECONDS:
        raise TemplateError("This text takes too long to fill in; use fewer merge fields "
                            "and filters.")


def _pieces(tree: nodes.Template) -> tuple | None:
    """The template as text and bare fields, or None when it uses a filter."""
    pieces = []
    for statement in tree.body:
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):
                pieces.append((node.data, None))
            elif isinstance(node, nodes.Name):
                pieces.append((None, node.name))
            else:
                return None
    return tuple(pieces)


def validate(source: str) -> None:
    """Raise TemplateError when `source` is not a valid merge template."""
    compile_template(source)


def _syntax_message(exc: TemplateSyntaxError) -> str:
    """A broken `{% tag %}` is a structure the editor does not allow; the rest is a typo."""
    if "{%" in (exc.source or ""):
        return STRUCTURE_ERROR
    return (
        f"The merge field on line {exc.lineno} is not written properly: write merge fields "
        "as {{ first_name }}."
    )


def _check_tree(tree: nodes.Template) -> set[str]:
    """The fields a parsed template uses; anything but text, fields and filters is refused."""
    fields: set[str] = set()
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            raise TemplateError(STRUCTURE_ERROR)
        for node in statement.nodes:
            if not isinstance(node, nodes.TemplateData):
                fields |= _check_expression(node)
    return fields


def _check_expression(node: nodes.Node) -> set[str]:
    """`field` or `field | filter(...)`, with filters and arguments from the whitelist."""
    if isinstance(node, nodes.Name):
        if node.name not in FIELDS:
            raise TemplateError(
                f"Unknown merge field {{{{ {node.name} }}}}. Available: {', '.join(FIELDS)}."
            )
        return {node.name}
    if not isinstance(node, nodes.Filter) or node.node is None:
        raise TemplateError(STRUCTURE_ERROR)
    if node.name not in FILTERS:
        raise TemplateError(f"Unknown filter “{node.name}”. Available: {', '.join(FILTERS)}.")
    allowed_args = 1 if node.name == "default" else 0
    if node.kwargs or node.dyn_args or node.dyn_kwargs or len(node.args) > allowed_args:
        raise TemplateError(
            "Only {{ field | default('text') }} takes an argument; other filters take none."
        )
    used = _check_expression(node.node)
    for arg in node.args:
        if not (isinstance(arg, nodes.Const) and isinstance(arg.value, str)):
            used |= _check_expression(arg) if isinstance(arg, nodes.Name) else _refuse()
    return used


def _refuse() -> set[str]:
    raise TemplateError(STRUCTURE_ERROR)


# ---- the values of the fields -------------------------------------------------------------


def business_zone() -> ZoneInfo:
    """The business time zone (app.config["BUSINESS_TIMEZONE"])."""
    return ZoneInfo(current_app.config["BUSINESS_TIMEZONE"])


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(moment: datetime, zone: ZoneInfo) -> str:
    """'Tue 24 Nov' in `zone` (English names whatever the server locale)."""
    local = moment.astimezone(zone)
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}"


def format_time(moment: datetime, zone: ZoneInfo) -> str:
    """'2:30 PM' in `zone`."""
    local = moment.astimezone(zone)
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'PM' if local.hour >= 12 else 'AM'}"


def business_values() -> dict[str, str]:
    """The fields that are the same for every recipient (the Settings page, else config)."""
    config = current_app.config
    values = {
        "business_name": config.get("BUSINESS_NAME", ""),
        "business_phone": config.get("BUSINESS_PHONE", ""),
    }
    try:
        from core import settings
    except ImportError:  # pragma: no cover - settings is a sibling feature
        return values
    stored = settings.snapshot(list(values))
    return {key: str(stored.get(key) or values[key]) for key in values}


def _text(obj, name: str) -> str:
    return (getattr(obj, name, None) or "") if obj is not None else ""


def reply_hint(code) -> str:
    """How to answer a confirmation request; with a code when the client has others pending."""
    if code:
        return f"Reply YES {code} to confirm or NO {code} to cancel."
    return "Reply YES to confirm or NO to cancel."


def _when(appointment, zone: ZoneInfo, *parts) -> str:
    """The appointment's start as 'date', 'time' or 'date at time' in `zone` ('' without one)."""
    start = getattr(appointment, "start_at", None)
    if start is None:
        return ""
    local = start.astimezone(zone)
    return " at ".join(formatter(local, zone) for formatter in parts)


_VALUES = {
    "first_name": lambda p, a, z: _text(p, "first_name"),
    "last_name": lambda p, a, z: _text(p, "last_name"),
    "full_name": lambda p, a, z: f"{_text(p, 'first_name')} {_text(p, 'last_name')}".strip(),
    "company": lambda p, a, z: _text(p, "company"),
    "appointment_date": lambda p, a, z: _when(a, z, format_date),
    "appointment_time": lambda p, a, z: _when(a, z, format_time),
    "appointment_datetime": lambda p, a, z: _when(a, z, format_date, format_time),
    "staff": lambda p, a, z: _text(a, "staff"),
    "location": lambda p, a, z: _text(a, "location"),
    "service": lambda p, a, z: _text(a, "title"),
    "job_number": lambda p, a, z: _text(a, "job_number"),
    "reply_hint": lambda p, a, z: reply_hint(getattr(a, "confirmation_code", None)),
    "appointments": lambda p, a, z: appointment_list(a, z),
}


def appointment_list(appointment, zone: ZoneInfo) -> str:
    """Every appointment a message stands for, earliest first: "Tue 9 Dec at 9:00 AM
    (Check-up); …" — the merged ones of a one-per-client send, else just this one."""
    visits = getattr(appointment, "appointments", None)
    if not isinstance(visits, tuple | list) or not visits:
        start = getattr(appointment, "start_at", None)
        visits = [(start, _text(appointment, "title"))] if start is not None else []
    return "; ".join(f"{format_date(start, zone)} at {format_time(start, zone)}"
                     + (f" ({title})" if title else "") for start, title in visits)


def context_for(person, appointment, *, zone: ZoneInfo, business: Mapping[str, str],
                fields=FIELDS) -> dict:
    """The values of `fields` (all by default) for one recipient; either row may be None.

    Both are read by attribute, so ORM rows and plain row tuples work alike. A big send
    passes only the fields its template uses: this runs once per recipient.
    """
    return {
        name: business[name] if name in business else _VALUES[name](person, appointment, zone)
        for name in fields
    }


def render(source: str, person=None, appointment=None) -> str:
    """Validate and render one template for one recipient (for one-off uses and tests)."""
    context = context_for(person, appointment, zone=business_zone(), business=business_values())
    return compile_template(source).render(context)
