"""Recognising what a client's text asks for: STOP, START, HELP, YES/NO (with a code), thanks."""

import enum
import re
from dataclasses import dataclass


class Kind(enum.StrEnum):
    """What an inbound text means to us."""

    STOP = "stop"
    START = "start"
    JOIN = "join"  # marketing consent
    HELP = "help"
    YES = "yes"
    NO = "no"
    THANKS = "thanks"
    OTHER = "other"


WORDS = {
    "STOP": Kind.STOP, "STOPALL": Kind.STOP, "UNSUBSCRIBE": Kind.STOP, "CANCEL": Kind.STOP,
    "END": Kind.STOP, "QUIT": Kind.STOP,
    # 47 CFR 64.1200(a)(10): revoking consent by any reasonable means; these words (and the
    # phrases in PHRASES) must be honoured as STOP is.
    "REVOKE": Kind.STOP, "OPTOUT": Kind.STOP, "REMOVE": Kind.STOP,
    "START": Kind.START, "UNSTOP": Kind.START, "JOIN": Kind.JOIN,
    "HELP": Kind.HELP, "INFO": Kind.HELP,
    "YES": Kind.YES, "Y": Kind.YES, "NO": Kind.NO, "N": Kind.NO,
}
# The whole text must be the keyword (and for YES/NO an optional code): "Stop!" and " quit. "
# count, "please don't stop" does not.
KEYWORD = re.compile(r"^[\W_]*([A-Za-z]+)(?:[\W_]*?\s*#?(\d{1,3}))?[\W_]*$")
# Keywords written as two words ("opt out", "Opt-Out", "stop all", "remove me"): the words are
# joined before the lookup, so "OPT OUT" is OPTOUT.
PHRASE = re.compile(r"^[\W_]*(opt|stop|remove|revoke)[\s_-]*(out|all|me|consent)[\W_]*$",
                    re.IGNORECASE)
PHRASES = {"OPTOUT": Kind.STOP, "STOPALL": Kind.STOP, "REMOVEME": Kind.STOP,
           "REVOKECONSENT": Kind.STOP}
THANKS = re.compile(r"^[\W_]*(thanks?( you)?( so much| very much)?|thank u|thx|ty|cheers)"
                    r"[\W_]*$", re.IGNORECASE)


@dataclass(frozen=True)
class Parsed:
    """The meaning of a text and, for YES/NO, the appointment code typed after it."""

    kind: Kind
    code: int | None = None


def parse(text: str) -> Parsed:
    """What the text asks for; anything not a keyword alone is Kind.OTHER (or THANKS)."""
    phrase = PHRASE.match((text or "").strip())
    if phrase and "".join(phrase.groups()).upper() in PHRASES:
        return Parsed(PHRASES["".join(phrase.groups()).upper()])
    match = KEYWORD.match((text or "").strip())
    if match:
        kind = WORDS.get(match.group(1).upper())
        code = int(match.group(2)) if match.group(2) else None
        if kind in (Kind.YES, Kind.NO):
            return Parsed(kind, code)
        if kind is not None and code is None:
            return Parsed(kind)
    if THANKS.match((text or "").strip()):
        return Parsed(Kind.THANKS)
    return Parsed(Kind.OTHER)


SENTENCE_WORDS = 5  # this many words or more make a sentence, not a mistyped keyword


def is_conversational(text: str) -> bool:
    """True for a question ("?" anywhere) or a sentence (SENTENCE_WORDS words or more): a
    person wrote it for a person, so no "I didn't understand" auto-response goes back."""
    text = text or ""
    return "?" in text or len(text.split()) >= SENTENCE_WORDS
