"""The pure rules: a command or an event in, events out, and folds that rebuild state.

No I/O: nothing here imports Kafka, Faust, HTTP, ClickHouse, torch or logging setup (an
import-linter contract checks it), so every rule is tested as given events → expected events.
"""
