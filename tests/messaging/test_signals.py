"""The pipeline calls out through signals: core.messaging imports no feature package, and the
features' receivers are connected when the app is created."""

import ast
import subprocess
import sys
from pathlib import Path

from core.messaging import signals

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ("core.secure", "core.conversations", "core.confirmations", "core.automation",
            "core.templates", "core.simulator")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_messaging_imports_no_feature_package():
    found = {f"{path.name}: {name}" for path in (ROOT / "core/messaging").glob("*.py")
             for name in _imports(path) if name.startswith(FEATURES)}
    assert found == set()


def test_loading_the_pipeline_loads_no_feature_package():
    code = ("import sys; import core.messaging.compose, core.messaging.fanout, "
            "core.messaging.delivery, core.messaging.sweeper, core.messaging.inbound_drain, "
            "core.messaging.recipients, core.messaging.tasks; "
            f"print([m for m in sys.modules if m.startswith({FEATURES!r})])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_features_are_connected_at_app_creation(app):
    names = {signal.name: {r.__module__ for r in signal.receivers_for(None)}
             for signal in (signals.broadcast_checking, signals.broadcast_preparing,
                            signals.broadcast_planning, signals.message_sending,
                            signals.sweeping, signals.inbound_stored, signals.inbound_batch,
                            signals.inbound_received)}
    assert names == {
        "broadcast-checking": {"core.secure.hooks"},
        "broadcast-preparing": {"core.secure.hooks"},
        "broadcast-planning": {"core.secure.hooks"},
        "message-sending": {"core.secure.hooks"},
        "sweeping": {"core.secure.hooks"},
        "inbound-stored": {"core.conversations.hooks"},
        "inbound-batch": {"core.conversations.hooks"},
        "inbound-received": {"core.conversations.hooks"},
    }
