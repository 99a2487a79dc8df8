"""The ground floor: the exception root, settings, logging with its masks, the topic catalogue,
free loopback ports.

It imports nothing else of the project, so every package, the adapters included, may import it.
"""
