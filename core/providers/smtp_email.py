"""Email over SMTP (STARTTLS, implicit TLS or plain), with file attachments.

The send is split into its SMTP steps so a failure can be placed: anything before the message
content is handed over is safe to retry; a connection lost while the content is transferred
may have delivered it, so it is reported as UnknownOutcomeError.
"""

import email.policy
import mimetypes
import secrets
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

from core.providers.base import (
    Outgoing,
    PermanentError,
    ProviderError,
    SendResult,
    TransientError,
    UnknownOutcomeError,
)

MAX_EMAIL_BYTES = 20 * 1024 * 1024  # what common relays accept, attachments included


@dataclass(frozen=True)
class SmtpConfig:
    """An SMTP relay and the sender address."""

    host: str
    port: int = 587
    security: str = "starttls"  # starttls, ssl or none
    username: str = ""
    password: str = ""
    sender: str = ""
    sender_name: str = ""
    timeout: float = 20.0


class SmtpEmailProvider:
    """Sends one email per message through the configured relay."""

    name = "smtp"

    def __init__(self, config: SmtpConfig):
        self.config = config

    def send(self, message: Outgoing) -> SendResult:
        """Send one email; the provider id is the Message-ID we gave it."""
        if not self.config.sender:
            raise PermanentError("No sender address is set for email (Settings).", "config")
        provider_id = f"tidings-{message.message_id}-{secrets.token_hex(6)}"
        mail = build_email(message, self.config, provider_id)
        payload = mail.as_bytes(policy=email.policy.SMTP)  # CRLF line ends on the wire
        if len(payload) > MAX_EMAIL_BYTES:
            raise PermanentError("The email with its attachments is larger than 20 MB.", "size")
        self._deliver(message.to, payload)
        return SendResult(provider_id=provider_id, segments=1, code="250")

    def _deliver(self, to: str, payload: bytes) -> None:
        envelope_from = self.config.sender
        try:
            smtp = self._connect()
        except ProviderError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            reason = f"Could not connect to the mail server: {exc}"
            raise TransientError(reason, "connect") from None
        try:
            _check(smtp.mail(envelope_from), "sender")
            _check(smtp.rcpt(to), "recipient")
            try:
                smtp.data(payload)
            except smtplib.SMTPDataError as exc:
                raise _reply_error(exc.smtp_code, exc.smtp_error, "message") from None
            except (OSError, smtplib.SMTPException) as exc:
                raise UnknownOutcomeError(
                    f"The mail server connection broke while sending ({exc}); the email may "
                    "have been delivered.", "dropped") from None
        except ProviderError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(f"The mail server connection failed: {exc}", "connect") from None
        finally:
            _quit(smtp)

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        context = ssl.create_default_context()
        if c.security == "ssl":
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            smtp.ehlo()
            if c.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if c.username:
                smtp.login(c.username, c.password)
        except smtplib.SMTPAuthenticationError:
            _quit(smtp)
            raise PermanentError("The mail server refused the user name or password.",
                                 "auth") from None
        except smtplib.SMTPNotSupportedError:
            _quit(smtp)
            raise PermanentError("The mail server does not offer STARTTLS; choose another "
                                 "security setting.", "starttls") from None
        except BaseException:
            _quit(smtp)
            raise
        return smtp


def _check(reply: tuple[int, bytes], step: str) -> None:
    code, text = reply
    if code >= 400:
        raise _reply_error(code, text, step)


def _reply_error(code: int, text: bytes | str, step: str) -> ProviderError:
    """4xx replies are temporary, 5xx final; the server's own words are kept."""
    words = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    reason = f"The mail server refused the {step}: {code} {words}".strip()
    if 400 <= code < 500:
        return TransientError(reason, str(code))
    return PermanentError(reason, str(code))


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def build_email(message: Outgoing, config: SmtpConfig, provider_id: str) -> EmailMessage:
    """The MIME email for one message, attachments included."""
    mail = EmailMessage()
    domain = config.sender.rpartition("@")[2] or socket.getfqdn()
    mail["From"] = formataddr((config.sender_name, config.sender))
    mail["To"] = message.to
    mail["Subject"] = message.subject or f"Message from {config.sender_name or domain}"
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = f"<{provider_id}@{domain}>"
    mail.set_content(message.body or "")
    for source in message.media_urls:
        name, data, kind = read_attachment(source)
        maintype, _, subtype = kind.partition("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail


def read_attachment(source: str) -> tuple[str, bytes, str]:
    """(file name, bytes, content type) of an attachment: one of our signed media URLs
    (read from disk), a local path, or another web address (downloaded)."""
    from core.messaging import attachments

    stored = attachments.from_url(source)
    if stored is not None:
        return stored.filename, _read(attachments.path_of(stored)), stored.content_type
    if source.startswith(("https://", "http://")):
        name, data = _download(source)
    else:
        path = Path(source)
        name, data = path.name, _read(path)
    kind, _ = mimetypes.guess_type(name)
    return name, data, kind or "application/octet-stream"


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise PermanentError(f"The attachment {path.name} no longer exists.", "attachment")
    if path.stat().st_size > MAX_EMAIL_BYTES:
        raise PermanentError(f"The attachment {path.name} is larger than 20 MB.", "size")
    return path.read_bytes()


def _download(url: str) -> tuple[str, bytes]:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "attachment"
    try:
        with requests.get(url, timeout=20, stream=True) as response:
            if response.status_code >= 400:
                raise PermanentError(f"The attachment {name} could not be fetched "
                                     f"(HTTP {response.status_code}).", "attachment")
            data = b""
            for chunk in response.iter_content(64 * 1024):
                data += chunk
                if len(data) > MAX_EMAIL_BYTES:
                    raise PermanentError(f"The attachment {name} is larger than 20 MB.", "size")
    except requests.RequestException as exc:
        raise TransientError(f"The attachment {name} could not be fetched: {exc}",
                             "attachment") from None
    return name, data
