"""The `cobranca` command line and the operator tools behind it (demo, hand-offs, audit, files).

The top floor: it may import every layer and wires the adapters to the runtime.
"""
