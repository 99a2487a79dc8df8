"""The Kafka/Faust machinery the agents run on.

The exactly-once transport (one transaction per source partition), batch feeds, partition state
as a fold of an agent's own outputs, followers, producers, the clock, metrics. It knows no
business rule.
"""
