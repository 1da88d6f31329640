"""Appointments and their import."""
