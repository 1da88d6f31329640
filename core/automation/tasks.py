"""RQ jobs of automation; they run inside the worker's app context."""


def run_rules() -> dict[int, int]:
    """Job (every 60 s from scheduler.py): plan what every enabled timed rule is due for."""
    from core.automation.engine import run_due

    return run_due()
