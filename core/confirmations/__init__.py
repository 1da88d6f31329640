"""Confirmations: asking clients to confirm appointments and reading their YES / NO."""
