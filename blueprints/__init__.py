"""One package per page family; each declares who may use each of its routes."""
