"""Which texts count as keywords: the whole text, any case, punctuation and spaces tolerated."""

import pytest

from core.conversations.keywords import Kind, parse


@pytest.mark.parametrize("text, kind, code", [
    ("STOP", Kind.STOP, None), (" stop. ", Kind.STOP, None), ("Quit!", Kind.STOP, None),
    ("StopAll", Kind.STOP, None), ("unsubscribe", Kind.STOP, None), ("END", Kind.STOP, None),
    ("cancel", Kind.STOP, None), ("START", Kind.START, None), ("Unstop", Kind.START, None),
    ("help?", Kind.HELP, None), ("INFO", Kind.HELP, None), ("Yes", Kind.YES, None),
    ("y", Kind.YES, None), ("YES 2", Kind.YES, 2), ("yes #3", Kind.YES, 3), ("No.", Kind.NO, None),
    ("no 1", Kind.NO, 1), ("Thank you!", Kind.THANKS, None), ("thx", Kind.THANKS, None),
    ("please stop texting me at work", Kind.OTHER, None), ("yes but later", Kind.OTHER, None),
    ("stopping by at 4", Kind.OTHER, None), ("", Kind.OTHER, None),
])
def test_parse(text, kind, code):
    parsed = parse(text)
    assert (parsed.kind, parsed.code) == (kind, code)


@pytest.mark.parametrize("text", [
    "REVOKE", "revoke", "Revoke.", " REVOKE! ", "OPT OUT", "opt out", "Opt-Out", "opt_out.",
    "OPTOUT", "optout!", "Opt  Out?", "REMOVE", "remove.", "Remove me!", "STOP ALL",
    "revoke consent",
])
def test_revocation_words_opt_out(text):
    assert parse(text).kind == Kind.STOP


@pytest.mark.parametrize("text", ["remove my 3pm appointment please", "opt in", "optional",
                                  "removed", "opt out of the 4pm one?"])
def test_sentences_around_revocation_words_are_no_keyword(text):
    assert parse(text).kind in (Kind.OTHER, Kind.START)
