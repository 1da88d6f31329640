"""Every error code Vonage reports about a message we sent, in one table: its name, what staff
read, and what Tidings does about it.

Sources (checked 2026-12 against Vonage's documentation):
- SMS API delivery receipts, `err-code`: developer.vonage.com/messaging/sms/guides/
  delivery-receipts ("DLR error codes"), and Vonage support article 204014733 "Vonage SMS
  Delivery Error Codes and Descriptions" (the meanings of 9 and 10 are quoted from it).
- Messages API, `error.title` of a status webhook (`error.type` ends in "#<code>"):
  developer.vonage.com/api-errors/messages (1000-1170), and the asynchronous error table of the
  Nexmo Messages API reference for 1180-1370.
A code not listed still fails the message, with Vonage's own words (`detail`) as the reason.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class VonageError:
    code: str
    name: str  # Vonage's name for it
    reason: str  # what staff read on the message
    temporary: bool = False  # Vonage: a later attempt may succeed
    opt_out: bool = False  # the recipient asked not to receive messages from this service


def _table(*errors: VonageError) -> dict[str, VonageError]:
    return {e.code: e for e in errors}


E = VonageError
OPTED_OUT = "The recipient asked not to receive messages from this service"

RECEIPT_ERRORS = _table(
    E("0", "Delivered", "Delivered"),
    E("1", "Unknown", "Not delivered; the network gave no reason"),
    E("2", "Absent Subscriber - Temporary", "The phone was off or out of coverage",
      temporary=True),
    E("3", "Absent Subscriber - Permanent", "The number is no longer in service"),
    E("4", "Call Barred by User", "The recipient's line is barred from receiving texts"),
    E("5", "Portability Error", "The number moved to another network and could not be reached"),
    E("6", "Anti-Spam Rejection", "Blocked by the network's spam filter"),
    E("7", "Handset Busy", "The phone was busy", temporary=True),
    E("8", "Network Error", "A network error stopped it", temporary=True),
    E("9", "Illegal Number", OPTED_OUT, opt_out=True),
    E("10", "Illegal Message",
      "A message parameter was wrong (for example the encoding flag)"),
    E("11", "Unroutable", "Vonage has no route to this number"),
    E("12", "Destination Unreachable", "No route to the number; check it"),
    E("13", "Subscriber Age Restriction", "The recipient may not receive it because of age"),
    E("14", "Number Blocked by Carrier", "The recipient's carrier blocks texts to this number"),
    E("15", "Pre-Paid - Insufficient Funds",
      "The recipient's prepaid account has no credit to receive it"),
    E("16", "Gateway Quota Exceeded", "Vonage's gateway quota for this route was exceeded",
      temporary=True),
    # 50-54: filters some destinations apply to registered senders (entity, header, template,
    # consent); the names are Vonage's, the reasons stay close to them.
    E("50", "Entity Filter", "Refused by the destination's sender-entity filter"),
    E("51", "Header Filter", "Refused by the destination's sender-header filter"),
    E("52", "Content Filter", "Refused by the destination's content filter"),
    E("53", "Consent Filter", "Refused by the destination's consent filter"),
    E("54", "Regulation Error", "Refused by the destination's regulations"),
    E("99", "General Error", "The route failed; Vonage support can say why"),
)

MESSAGES_ERRORS = _table(
    E("1000", "Throttled", "Sent faster than the account allows", temporary=True),
    E("1010", "Missing params", "The request lacked a required parameter"),
    E("1020", "Invalid params", "A parameter of the request was invalid"),
    E("1021", "Invalid tag", "The tag was invalid"),
    E("1022", "Invalid template", "The template or its parameters were invalid"),
    E("1030", "Internal error", "Vonage could not process it", temporary=True),
    E("1040", "Invalid message", "Vonage could not process it (e.g. an unknown number prefix)"),
    E("1050", "Number barred", "The number is barred from receiving messages"),
    E("1060", "Partner account barred", "The Vonage account is barred from sending"),
    E("1070", "Partner quota exceeded", "The Vonage account is out of credit"),
    E("1080", "Account not enabled for REST", "The Vonage account cannot send this way"),
    E("1090", "Message too long", "The binary message was longer than 140 octets"),
    E("1100", "Communication Failed", "Not submitted: communication with the network failed",
      temporary=True),
    E("1110", "Invalid Signature", "Not submitted: the request's signature was refused"),
    E("1120", "Illegal Sender Address - rejected",
      "The sender ID is not allowed in the destination country"),
    E("1130", "Invalid TTL", "The time-to-live was invalid"),
    E("1140", "Facility not allowed", "The account is not enabled for this feature"),
    E("1150", "Invalid Message class", "The message class was out of range"),
    E("1160", "Non White-listed Destination",
      "The number is not on the account's list of allowed test numbers"),
    E("1170", "Invalid or Missing Msisdn Param", "The recipient's number was missing or invalid"),
    E("1180", "Absent Subscriber Temporary", "The phone was off or out of coverage",
      temporary=True),
    E("1190", "Absent Subscriber Permanent", "The number is no longer in service"),
    E("1200", "Portability Error", "The number moved to another network and could not be reached"),
    E("1210", "Anti-Spam Rejection", "Blocked by the network's spam filter"),
    E("1220", "Handset Busy", "The phone was busy", temporary=True),
    E("1230", "Network Error", "A network error stopped it", temporary=True),
    E("1240", "Illegal Number", OPTED_OUT, opt_out=True),
    E("1241", "Too many send requests", "Too many messages to this number"),
    E("1250", "Unroutable", "Vonage has no route to this number"),
    E("1260", "Destination unreachable", "The message could not reach the number"),
    E("1270", "Subscriber Age Restriction", "The recipient may not receive it because of age"),
    E("1280", "Number Blocked by Carrier",
      "The recipient's carrier blocks messages to this number"),
    E("1290", "Pre-Paid - Insufficient funds",
      "The recipient's prepaid account has no credit to receive it"),
    E("1300", "Not part of the provider network", "The recipient is not a user of this channel"),
    E("1310", "Not suitable device", "The recipient's device cannot receive this message"),
    E("1320", "Message already sent", "The message was already sent"),
    E("1330", "Unknown", "The carrier gave an unknown error; check the number"),
    E("1340", "Outside of the allowed window", "Sent outside the allowed response window"),
    E("1350", "Phone matching fee not paid", "The channel's phone matching fee is not paid"),
    E("1360", "TTL was activated", "Its time-to-live ran out before delivery"),
    E("1370", "Expired access Token", "The channel's access token expired"),
)


def receipt_error(code: str) -> VonageError | None:
    """The SMS API receipt error `code` ("" and "0" are no error)."""
    return None if str(code) in ("", "0") else RECEIPT_ERRORS.get(str(code))


def messages_error(error: dict) -> tuple[str, VonageError | None]:
    """(code, known error) of a Messages API status's `error` object."""
    code = str(error.get("title") or "").strip()
    if not code.isdigit():  # the code is also the fragment of the error's type URL
        code = str(error.get("type") or "").rpartition("#")[2].strip() or code
    return code, MESSAGES_ERRORS.get(code)
