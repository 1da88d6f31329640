"""The list of blueprints the app registers (one line per page family)."""

import importlib

BLUEPRINTS = [
    "auth",
    "dashboard",
    "clients",
    "appointments",
    "imports",
    "simulator",
    "webhooks",
    "vonage_webhooks",
    "compose",
    "mailbox",
    "conversations",
    "media",
    "settings",
    "admin",
    "portal",
    "secure",
    "health",
    "system",
    "templates_",
    "automation",
    "confirmations",
    "team",
    "usage",
]


def all_blueprints():
    """Import each blueprint package and its routes and yield its `bp`."""
    for name in BLUEPRINTS:
        package = importlib.import_module(f"blueprints.{name}")
        importlib.import_module(f"blueprints.{name}.routes")
        yield package.bp
