"""Messages in and out, broadcasts and their delivery."""
