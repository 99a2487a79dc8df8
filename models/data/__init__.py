"""Training and evaluation rows for the intent classifier (see README.md in this folder)."""
