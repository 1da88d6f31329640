"""Dates and times as spreadsheets write them: ISO, m/d/yyyy, d/m/yyyy, d.m.yyyy, 12-hour
clocks with AM/PM, and Excel's serial day numbers."""

import re
from datetime import date, datetime, time, timedelta

MONTH_FIRST_REGIONS = {"US", "CA", "PH", "FM", "MH", "PW"}  # where 3/4 is March 4
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug is before day 61)
ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
NUMERIC_DATE = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})")
SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
CLOCK = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?(?::(\d{2}))?\s*([ap])?\.?\s*m?\.?", re.IGNORECASE)


class DateFormatError(ValueError):
    """A value that is not a date or time in any of the accepted formats."""


def day_first_of(values: list[str]) -> bool | None:
    """What the numeric dates of a column tell: day first (True), month first (False), or None."""
    for value in values:
        match = NUMERIC_DATE.search(value or "")
        if match and match[2] == ".":
            return True  # 4.3.2030 is always day.month.year
        if match and int(match[1]) > 12:
            return True
        if match and int(match[3]) > 12:
            return False
    return None


def read_date(text: str, day_first: bool) -> date:
    """One date: ISO, a numeric date in the given order, or an Excel serial number."""
    text = text.strip()
    try:
        if match := ISO_DATE.fullmatch(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := NUMERIC_DATE.fullmatch(text):
            first, second, year = int(match[1]), int(match[3]), int(match[4])
            year += 2000 if year < 100 else 0
            day, month = (first, second) if day_first or match[2] == "." else (second, first)
            return date(year, month, day)
        if SERIAL.fullmatch(text):
            return EXCEL_EPOCH + timedelta(days=int(float(text)))
    except ValueError:
        pass
    raise DateFormatError(text)


def read_time(text: str) -> time:
    """One time of day: 24-hour "14:05", "9.30", or 12-hour "9:30 PM", "9pm"."""
    match = CLOCK.fullmatch(text.strip())
    if not match or (match[2] is None and match[4] is None):
        raise DateFormatError(text)
    hour, minute, second = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    if match[4]:
        if not 1 <= hour <= 12:
            raise DateFormatError(text)
        hour = hour % 12 + (12 if match[4].lower() == "p" else 0)
    try:
        return time(hour, minute, second)
    except ValueError:
        raise DateFormatError(text) from None


def read_datetime(text: str, day_first: bool) -> datetime:
    """A date and a time in one cell ("3/4/2030 9:30 AM", "2030-03-04T09:30", an Excel serial)."""
    text = text.strip()
    if SERIAL.fullmatch(text) and "." in text:  # Excel: the fraction is the time of day
        days = float(text)
        return datetime.combine(read_date(text, day_first), time()) + timedelta(
            seconds=round((days % 1) * 86400))
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    day, _, clock = text.partition(" ")
    if not clock:
        day, _, clock = text.partition("T")
    if not clock:
        raise DateFormatError(text)
    return datetime.combine(read_date(day, day_first), read_time(clock))
