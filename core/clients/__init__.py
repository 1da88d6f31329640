"""Clients (contacts) of the business."""
