"""The phone simulator: a provider whose 'phones' are rows in the database."""
