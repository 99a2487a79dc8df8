"""Conversational intelligence: intent classifier, entity extraction and their data."""
