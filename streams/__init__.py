"""The Faust application: topic catalogue, agents, tables, settings and the `cobranca` CLI."""
