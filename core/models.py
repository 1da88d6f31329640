"""Every model, imported in one place so Alembic and the app see the whole schema."""

from core.appointments.importing.models import CalendarFeed, FeedAppointment  # noqa: F401
from core.appointments.models import Appointment, AppointmentStatus  # noqa: F401
from core.audit.models import AuditEvent  # noqa: F401
from core.auth.models import Role, User  # noqa: F401
from core.automation.models import (  # noqa: F401,E402
    AutomationRule,
    AutomationSend,
    MessageTemplate,
)
from core.clients.models import Client, ContactMethod  # noqa: F401
from core.conversations.models import AppointmentAnswer, Conversation  # noqa: F401
from core.messaging.attachments import Attachment  # noqa: F401
from core.messaging.models import (  # noqa: F401
    Broadcast,
    Channel,
    Direction,
    Message,
    MessageEvent,
    Setting,
    Status,
)
from core.secure.models import SecureFile, SecureMessage  # noqa: F401,E402
from core.simulator.models import SimMessage  # noqa: F401
from core.team.models import Chat, ChatMessage, Member, Mention  # noqa: F401,E402
from core.usage.models import UsageCounter  # noqa: F401,E402
