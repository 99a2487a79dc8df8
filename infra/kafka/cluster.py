"""A local Apache Kafka cluster of several KRaft nodes on loopback, from the same jars as the
single broker (infra/kafka/broker.py).

Every node is broker and controller at once; the controllers form a static quorum. Node i
listens on `port + 2(i-1)` and its controller on the port after it, so three nodes from 19092
take 19092-19097. Topics are replicated to min(3, nodes) nodes with a minimum ISR of 2 from three
nodes on (server.properties; streams/runtime/topic_admin.py does the same for our topics), so a
write acknowledged by acks=all survives the death of any one node.

Each node's home is `<home>/node-<i>`; the cluster's id is `<home>/cluster.id`, and the node
count `<home>/nodes`, so `cobranca broker stop|status` find the nodes `start --nodes N` made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from infra.kafka.broker import KAFKA_VERSION, BrokerStatus, LocalBroker
from infra.kafka.errors import BrokerError
from streams.base.ports import free_consecutive_ports

__all__ = ["LocalCluster"]


@dataclass(frozen=True, slots=True)
class LocalCluster:
    """Several `LocalBroker` nodes sharing one cluster id and one controller quorum."""

    nodes: tuple[LocalBroker, ...]
    home: Path

    @classmethod
    def for_bootstrap(
        cls, bootstrap: str, *, cache: Path, home: Path, nodes: int = 3
    ) -> LocalCluster:
        """`nodes` nodes, the first answering at `bootstrap`'s first address."""
        if nodes < 1:
            raise BrokerError(f"a cluster needs at least one node, not {nodes}")
        first = LocalBroker.for_bootstrap(bootstrap, cache=cache, home=home)
        ports = tuple(first.port + 2 * i for i in range(nodes))
        voters = tuple(port + 1 for port in ports)
        return cls(
            tuple(
                LocalBroker(
                    jars_dir=cache / "kafka" / KAFKA_VERSION / "lib",
                    home=home / f"node-{i}",
                    host=first.host,
                    port=port,
                    node_id=i,
                    voters=voters,
                )
                for i, port in enumerate(ports, start=1)
            ),
            home,
        )

    @classmethod
    def on_free_ports(cls, *, cache: Path, home: Path, nodes: int = 3) -> LocalCluster:
        """A cluster on 2 x `nodes` consecutive free loopback ports, for tests."""
        try:
            port = free_consecutive_ports(2 * nodes)
        except OSError as error:
            raise BrokerError(f"{error} for a cluster of {nodes}") from error
        return cls.for_bootstrap(f"127.0.0.1:{port}", cache=cache, home=home, nodes=nodes)

    @classmethod
    def recorded(cls, bootstrap: str, *, cache: Path, home: Path) -> LocalCluster | None:
        """The cluster `start` made under `home`, if one was made there."""
        try:
            count = int((home / "nodes").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return cls.for_bootstrap(bootstrap, cache=cache, home=home, nodes=count)

    @property
    def bootstrap(self) -> str:
        """Every node's address: clients reach the cluster while any one of them runs."""
        return ",".join(node.bootstrap for node in self.nodes)

    def start(self, timeout: float = 90.0) -> list[BrokerStatus]:
        """Start every node that is not running, then wait until each answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "nodes").write_text(str(len(self.nodes)))
        launched = [node.launch() for node in self.nodes]
        deadline = time.monotonic() + timeout
        for node, proc in zip(self.nodes, launched, strict=True):
            node.wait_ready(max(1.0, deadline - time.monotonic()), proc)
        return self.status()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop every node by PID; False when none was running."""
        return any([node.stop(timeout) for node in self.nodes])

    def status(self) -> list[BrokerStatus]:
        return [node.status() for node in self.nodes]
