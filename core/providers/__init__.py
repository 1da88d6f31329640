"""Delivery providers (phone simulator, Vonage, SMTP) behind one small interface."""
