"""Secure messages: encrypted content behind a link (and optional PIN), purged at expiry."""
