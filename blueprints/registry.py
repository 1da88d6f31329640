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
]


def all_blueprints():
    """Import each blueprint package that exists and yield its `bp`."""
    for name in BLUEPRINTS:
        try:
            package = importlib.import_module(f"blueprints.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"blueprints.{name}":
                raise
            continue
        importlib.import_module(f"blueprints.{name}.routes")
        yield package.bp
