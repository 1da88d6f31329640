"""The simulated phones: which exist, what each one shows, and whose they are."""

import hashlib
import re
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from core import phones
from core.clients.models import Client
from core.extensions import db
from core.messaging.models import Channel
from core.simulator.models import SimMessage

GRID_SIZE = 24  # phones on the Simulator page, most recently active first
THREAD_SIZE = 50  # messages shown per phone, newest at the bottom
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
E164ISH = re.compile(r"\+\d{6,15}")


@dataclass
class Phone:
    """One simulated phone (or mailbox) and the tail of its conversation."""

    address: str
    messages: list[SimMessage] = field(default_factory=list)
    client: Client | None = None

    @property
    def channel(self) -> str:
        return Channel.EMAIL if "@" in self.address else Channel.SMS

    @property
    def key(self) -> str:
        return phone_key(self.address)

    @property
    def last_id(self) -> int:
        return self.messages[-1].id if self.messages else 0

    @property
    def label(self) -> str:
        return self.address if self.channel == Channel.EMAIL else phones.pretty(self.address)


def phone_key(address: str) -> str:
    """A short id-safe key for an address (HTML ids, form prefixes)."""
    return "p" + hashlib.sha1(address.encode()).hexdigest()[:12]


def normalize_address(raw: str, region: str = "US") -> str | None:
    """An email in lower case or a number in E.164; None when it is neither."""
    text = (raw or "").strip()
    if "@" in text:
        return text.lower() if EMAIL.fullmatch(text) else None
    try:
        return phones.to_e164(text, region)
    except phones.PhoneError:
        return text if E164ISH.fullmatch(text) else None


def recent_phones(limit: int = GRID_SIZE) -> list[Phone]:
    """The phones with the most recent traffic, each with its thread and client (3 queries)."""
    last = func.max(SimMessage.id).label("last")
    rows = db.session.execute(
        select(SimMessage.address, last).group_by(SimMessage.address).order_by(last.desc())
        .limit(limit)
    ).all()
    grid = {address: Phone(address) for address, _ in rows}
    for message in _threads(list(grid)):
        grid[message.address].messages.append(message)
    for address, client in clients_for(list(grid)).items():
        grid[address].client = client
    return list(grid.values())


def load_phone(address: str, with_client: bool = True) -> Phone:
    """One phone with the tail of its thread (empty for an address never used)."""
    query = (
        select(SimMessage).where(SimMessage.address == address)
        .order_by(SimMessage.id.desc()).limit(THREAD_SIZE)
    )
    phone = Phone(address, list(reversed(db.session.scalars(query).all())))
    if with_client:
        phone.client = clients_for([address]).get(address)
    return phone


def clients_for(addresses: list[str]) -> dict[str, Client]:
    """The client of each address (a known client wins over an unknown sender)."""
    if not addresses:
        return {}
    emails = [a for a in addresses if "@" in a]
    numbers = [a for a in addresses if "@" not in a]
    query = (
        select(Client)
        .where(or_(Client.mobile.in_(numbers), func.lower(Client.email).in_(emails)))
        .order_by(Client.unknown_sender.desc(), Client.id.desc())
    )
    found: dict[str, Client] = {}
    # Ordered worst first, so the best match for an address is written last.
    for client in db.session.scalars(query):
        for address in (client.mobile, (client.email or "").lower()):
            if address in addresses:
                found[address] = client
    return found


def find_clients(text: str, limit: int = 20) -> list[Client]:
    """Clients whose name or company contains `text`, for the phone picker."""
    pattern = f"%{text.strip().lower()}%"
    name = func.lower(Client.first_name + " " + Client.last_name)
    query = (
        select(Client)
        .where(or_(name.like(pattern), func.lower(Client.company).like(pattern)))
        .order_by(Client.last_name, Client.first_name, Client.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def _threads(addresses: list[str]) -> list[SimMessage]:
    """The last THREAD_SIZE messages of each address, oldest first, in one query."""
    if not addresses:
        return []
    rank = func.row_number().over(partition_by=SimMessage.address, order_by=SimMessage.id.desc())
    ranked = (
        select(SimMessage.id, rank.label("rank"))
        .where(SimMessage.address.in_(addresses))
        .subquery()
    )
    query = (
        select(SimMessage).join(ranked, ranked.c.id == SimMessage.id)
        .where(ranked.c.rank <= THREAD_SIZE).order_by(SimMessage.id)
    )
    return list(db.session.scalars(query))
