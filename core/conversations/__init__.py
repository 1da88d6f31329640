"""Two-way texting: conversations, keywords (STOP/START/HELP/YES/NO), auto-responses."""
