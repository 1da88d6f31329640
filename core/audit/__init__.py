"""The audit history of appointments and clients."""
