"""cobranca's stream processing, in layers (docs/adr/0018-layout.md).

- `base`: the exception root, settings, logging with its masks, the topic catalogue; imports
  nothing else of the project, and every package may import it;
- `domain`: the pure rules (no I/O);
- `runtime`: the Kafka/Faust machinery (the exactly-once transport, feeds, state, producers);
- `agents`: one thin module per agent, and `create_worker(settings)` that builds them;
- `ops`: the `cobranca` command line and the operator tools.

An import may only point down: ops → agents → runtime (and the adapters in connectors/ and
infra/) → domain → schemas / models → base. import-linter checks it (pyproject.toml).
"""
