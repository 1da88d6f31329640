"""Merge templates: whitelisted fields render in the business time zone; the rest is refused."""

from datetime import UTC, datetime

import pytest

from core.messaging import templating
from core.messaging.templating import STRUCTURE_ERROR, TemplateError, render


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ first_name.__class__ }}",
        "{{ first_name.upper() }}",
        "{{ first_name['x'] }}",
        "{% for x in range(10) %}spam{% endfor %}",
        "{% if first_name %}hi{% endif %}",
        "{% set x = 1 %}",
        "{% macro m() %}{% endmacro %}",
        "{% include 'base.html' %}",
        "{{ cycler }}{{ 7 * 7 }}",
        "{{ 7 * 7 }}",
        "{{ first_name ~ last_name }}",
        "{{ first_name | default(first_name.__class__) }}",
        "{{ first_name | upper(1) }}",
    ],
)
def test_hostile_templates_are_refused_with_a_message(app, source):
    with pytest.raises(TemplateError) as refused:
        render(source)
    message = str(refused.value)
    assert message == STRUCTURE_ERROR or message.startswith(("Unknown merge field", "Only"))


def test_an_unknown_field_names_the_available_ones(app):
    with pytest.raises(TemplateError) as refused:
        render("Hi {{ nickname }}")
    assert str(refused.value).startswith("Unknown merge field {{ nickname }}. Available: ")
    assert "first_name" in str(refused.value) and "appointment_time" in str(refused.value)


def test_an_unknown_filter_is_refused(app):
    with pytest.raises(TemplateError, match="Unknown filter “attr”"):
        render("{{ first_name | attr('__class__') }}")


def test_a_loop_gets_the_structure_message(app):
    with pytest.raises(TemplateError) as refused:
        render("{% for c in clients %}{{ c }}{% endfor %}")
    assert str(refused.value) == (
        "Only {{ field }} merge fields are allowed; loops, conditions and attribute access are not."
    )


def test_a_broken_field_is_refused_plainly(app):
    with pytest.raises(TemplateError, match="not written properly"):
        render("Hi {{ first_name")


def test_fields_render_in_the_business_time_zone(app, make_client, make_appointment):
    client = make_client(first_name="Ana", last_name="Lima", company="Lima & Co")
    # 19:30 UTC on 24 Nov 2026 is 2:30 PM in New York (EST, UTC-5).
    appointment = make_appointment(
        client=client, start_at=datetime(2026, 11, 24, 19, 30, tzinfo=UTC), staff="Dr. Lee",
        location="Main office", title="Check-up", job_number="J-42",
    )
    text = render(
        "{{ first_name }} {{ last_name | upper }} ({{ full_name }}, {{ company }}): "
        "{{ service }} on {{ appointment_date }} at {{ appointment_time }} with {{ staff }}, "
        "{{ location }}, job {{ job_number }}. {{ appointment_datetime }} — {{ business_name }}",
        client, appointment,
    )
    assert text == (
        "Ana LIMA (Ana Lima, Lima & Co): Check-up on Tue 24 Nov at 2:30 PM with Dr. Lee, "
        "Main office, job J-42. Tue 24 Nov at 2:30 PM — Tidings Demo Clinic"
    )


def test_the_zone_follows_the_setting(app, make_appointment):
    app.config["BUSINESS_TIMEZONE"] = "Europe/London"
    appointment = make_appointment(start_at=datetime(2026, 7, 1, 8, 5, tzinfo=UTC))
    assert render("{{ appointment_time }}", None, appointment) == "9:05 AM"  # BST, UTC+1


def test_default_fills_an_empty_field(app):
    assert render("Hi {{ first_name | default('there') }}!") == "Hi there!"
    assert render("Hi {{ first_name | title | default('friend') }}") == "Hi friend"


def test_text_without_fields_passes_through_untouched(app):
    assert render("50% off {today} — {not a field}") == "50% off {today} — {not a field}"


def test_compiled_once_renders_many(app):
    compiled = templating.compile_template("Hi {{ first_name }}")
    assert compiled.fields == {"first_name"}
    names = [compiled.render({"first_name": n}) for n in ("A", "B")]
    assert names == ["Hi A", "Hi B"]


@pytest.mark.parametrize("source", [
    "Hi {{ first_name }}, see you {{ appointment_date }}.\n\n",
    "{{first_name}}{{ last_name }}",
    "Line one\r\nline {{ staff }} two\n",
    "{{ business_name }}",
])
def test_bare_fields_join_without_jinja_and_say_the_same(app, source):
    compiled = templating.compile_template(source)
    context = {"first_name": "Ann", "last_name": "", "appointment_date": "Tue 24 Nov",
               "staff": "Dr. Lee", "business_name": "Clinic"}
    assert compiled.pieces is not None
    assert compiled.render(context) == compiled.template.render(context)


def test_a_filter_renders_through_jinja(app):
    compiled = templating.compile_template("Hi {{ first_name | upper }}")
    assert compiled.pieces is None and compiled.render({"first_name": "ann"}) == "Hi ANN"


def test_reply_hint_carries_the_code_only_when_the_request_has_one(app):
    """A confirmation request says "YES 2" only when the client has another one pending."""
    from types import SimpleNamespace

    from core.messaging.templating import render

    with app.app_context():
        plain = render("{{ reply_hint }}", None, SimpleNamespace(confirmation_code=None))
        coded = render("{{ reply_hint }}", None, SimpleNamespace(confirmation_code=2))
    assert plain == "Reply YES to confirm or NO to cancel."
    assert coded == "Reply YES 2 to confirm or NO 2 to cancel."
