"""Automated messages: templates, rules that run themselves, status texts, confirmations."""
