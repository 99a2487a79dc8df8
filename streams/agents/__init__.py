"""The worker's agents, one module each, thin shells around the pure rules of streams/domain.

`streams.agents.worker.create_worker(settings)` builds them; importing this package builds
nothing.
"""
