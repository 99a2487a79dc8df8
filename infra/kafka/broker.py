"""Fetch, format, start and stop an Apache Kafka node on loopback: one broker alone, or one node
of a local cluster (infra/kafka/cluster.py).

The jars come from Maven Central (``pom.xml`` beside this file) into a cache shared by every
clone; the broker's data, config, PID file and log live in a directory of their own that
survives restarts. Nothing here needs Docker or a download outside Maven Central.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from infra.kafka.errors import BrokerError, BrokerStartTimeout, JarsMissing
from streams.base.ports import free_consecutive_ports

KAFKA_VERSION = "4.1.2"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"
HEAP = ("-Xms256m", "-Xmx512m")


def _resource(name: str) -> str:
    return resources.files("infra.kafka").joinpath(name).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class BrokerStatus:
    """What `cobranca broker status` reports."""

    running: bool
    pid: int | None
    bootstrap: str
    log_file: Path
    data_dir: Path
    problem: str | None = None
    """Why a broker that is not running stopped, when its log says (a full data disk)."""


@dataclass(frozen=True, slots=True)
class LocalBroker:
    """One broker: where its jars are cached, where its state lives, which port it listens on."""

    jars_dir: Path
    """Cache of the broker's classpath for KAFKA_VERSION (outside the repo)."""
    home: Path
    """The broker's own directory: config, data, PID file, log."""
    host: str = "127.0.0.1"
    port: int = 19092
    node_id: int = 1
    voters: tuple[int, ...] = ()
    """Controller ports of every node of its cluster, node 1 first; empty for a broker alone,
    which is its own quorum."""

    @classmethod
    def for_bootstrap(cls, bootstrap: str, *, cache: Path, home: Path) -> LocalBroker:
        """A broker that will answer at ``bootstrap`` (one loopback ``host:port``)."""
        host, _, port = bootstrap.split(",")[0].rpartition(":")
        if host not in ("127.0.0.1", "localhost"):
            raise BrokerError(
                "the local broker binds loopback only, but COBRANCA_KAFKA_BOOTSTRAP is "
                f"{bootstrap!r}; point it at 127.0.0.1:<port>, or use your own cluster "
                "without `cobranca broker`"
            )
        return cls(jars_dir=cache / "kafka" / KAFKA_VERSION / "lib", home=home, port=int(port))

    @classmethod
    def on_free_ports(cls, *, cache: Path, home: Path) -> LocalBroker:
        """A broker on two consecutive free loopback ports (listener and controller), for tests
        and benchmarks that start a broker of their own."""
        try:
            port = free_consecutive_ports(2)
        except OSError as error:
            raise BrokerError(f"{error} for a local broker") from error
        return cls.for_bootstrap(f"127.0.0.1:{port}", cache=cache, home=home)

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def cluster_size(self) -> int:
        return len(self.voters) or 1

    @property
    def cluster_id_file(self) -> Path:
        """One id for the whole cluster: beside the nodes' homes, or in a lone broker's own."""
        return (self.home.parent if self.voters else self.home) / "cluster.id"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "server.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def _start_mark(self) -> Path:
        """Size of the log when this run began: older "started" lines belong to older runs."""
        return self.home / "logs" / "start.offset"

    # -- jars ---------------------------------------------------------------------------------

    def jars_present(self) -> bool:
        return any(self.jars_dir.glob(f"kafka_2.13-{KAFKA_VERSION}.jar"))

    def fetch(self) -> Path:
        """Copy the broker's classpath from Maven Central into the cache, once."""
        if self.jars_present():
            return self.jars_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise JarsMissing(
                f"Kafka {KAFKA_VERSION} jars are not in {self.jars_dir} and `mvn` is not on PATH; "
                "install Maven (apt-get install maven) and run `cobranca broker fetch`"
            )
        staging = self.jars_dir.with_name("lib.partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        pom = staging.parent / "pom.xml"
        pom.write_text(_resource("pom.xml"), encoding="utf-8")
        cmd = [mvn, "-q", "-B", "-f", str(pom), DEPENDENCY_PLUGIN, f"-DoutputDirectory={staging}"]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise JarsMissing(
                f"`{' '.join(cmd)}` failed with exit code {done.returncode}:\n"
                f"{(done.stdout + done.stderr)[-2000:]}"
            )
        # Rename last, so a half-finished download never looks like a cache hit.
        shutil.rmtree(self.jars_dir, ignore_errors=True)
        staging.rename(self.jars_dir)
        return self.jars_dir

    # -- life cycle ---------------------------------------------------------------------------

    def pid(self) -> int | None:
        """The PID of our broker if it is alive, else None (a stale PID file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _is_our_java(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def status(self) -> BrokerStatus:
        pid = self.pid()
        running = pid is not None and _answers(self.host, self.port)
        return BrokerStatus(
            running=running,
            pid=pid,
            bootstrap=self.bootstrap,
            log_file=self.log_file,
            data_dir=self.data_dir,
            problem=None if running else self.disk_full(),
        )

    def disk_full(self) -> str | None:
        """What to tell the operator when the broker's log, since its last start, says it could
        not write its data (Kafka takes a log directory it cannot append to offline, and a
        broker whose only one is offline stops); None otherwise."""
        try:
            offset = int(self._start_mark.read_text())
            with self.log_file.open("rb") as f:
                if self.log_file.stat().st_size >= offset:
                    f.seek(offset)
                found = _DISK_FULL in f.read()
        except (FileNotFoundError, ValueError):
            return None
        if not found:
            return None
        return (
            f"the broker's data disk is full: Kafka could not write to {self.data_dir} "
            f"(No space left on device) and stopped; free space there, then start it again "
            f"(it recovers its log on start). See {self.log_file}"
        )

    def start(self, timeout: float = 60.0) -> BrokerStatus:
        """Start the broker unless it runs already, and wait until it answers."""
        self.wait_ready(timeout, self.launch())
        return self.status()

    def launch(self) -> subprocess.Popen[bytes] | None:
        """Start the broker's process unless it runs already, without waiting for it (a node of
        a cluster is ready only once a quorum of its peers runs too)."""
        if self.pid() is not None:
            return None
        if _answers(self.host, self.port):
            raise BrokerError(
                f"something else already listens on {self.bootstrap}; stop it or choose "
                "another port with COBRANCA_KAFKA_BOOTSTRAP"
            )
        self.fetch()
        self._write_config()
        self._format_storage()
        return self._spawn()

    def kill(self) -> bool:
        """SIGKILL the broker (a crash, for fault tests); False when it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker by PID: SIGTERM for a clean shutdown, SIGKILL if it hangs."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    # -- steps --------------------------------------------------------------------------------

    def _write_config(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.voters:
            peers = ",".join(f"{n}@{self.host}:{p}" for n, p in enumerate(self.voters, start=1))
            quorum = f"controller.quorum.voters={peers}"
        else:
            quorum = f"controller.quorum.bootstrap.servers={self.host}:{self.controller_port}"
        replication = min(3, self.cluster_size)
        server = Template(_resource("server.properties")).substitute(
            host=self.host,
            port=self.port,
            controller_port=self.controller_port,
            log_dirs=self.data_dir,
            node_id=self.node_id,
            quorum=quorum,
            replication=replication,
            min_isr=2 if replication >= 3 else 1,
        )
        (self.home / "server.properties").write_text(server, encoding="utf-8")
        log4j = Template(_resource("log4j2.properties")).substitute(log_file=self.log_file)
        (self.home / "log4j2.properties").write_text(log4j, encoding="utf-8")

    def _java(self, main: str, *args: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise BrokerError("`java` is not on PATH; the broker needs Java 17 or newer")
        return [
            java,
            *HEAP,
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.log_file.parent}",
            "-cp",
            f"{self.jars_dir}/*",
            main,
            *args,
        ]

    def _format_storage(self) -> None:
        """Format the data dir once; `--ignore-formatted` keeps an existing log as it is."""
        cluster_id_file = self.cluster_id_file
        if not cluster_id_file.exists():
            raw = "-"
            while raw.startswith("-"):  # StorageTool would read "-..." as an option, not the id
                raw = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            cluster_id_file.write_text(raw)
        cmd = self._java(
            "kafka.tools.StorageTool",
            "format",
            # One token: a URL-safe base64 id can start with '-', which argparse would read as
            # an option (1 in 64 fresh machines could not start the broker).
            f"--cluster-id={cluster_id_file.read_text().strip()}",
            "-c",
            str(self.home / "server.properties"),
            # A lone broker is its own dynamic quorum; a cluster's nodes name their voters.
            *(() if self.voters else ("--standalone",)),
            "--ignore-formatted",
        )
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BrokerError(f"formatting {self.data_dir} failed:\n{done.stdout}{done.stderr}")

    def _spawn(self) -> subprocess.Popen[bytes]:
        stdout = (self.log_file.parent / "stdout.log").open("ab")
        # A session of its own: the broker outlives the CLI that started it and ignores the
        # terminal's Ctrl-C; it is stopped by PID.
        proc = subprocess.Popen(
            self._java("kafka.Kafka", str(self.home / "server.properties")),
            stdout=stdout,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        stdout.close()
        self.pid_file.write_text(str(proc.pid))
        size = self.log_file.stat().st_size if self.log_file.exists() else 0
        self._start_mark.write_text(str(size))
        return proc

    def _log_says_started(self) -> bool:
        """The listener opens before the broker has joined its own quorum; wait for the log line."""
        try:
            offset = int(self._start_mark.read_text())
            with self.log_file.open("rb") as f:
                if self.log_file.stat().st_size >= offset:  # else the log rolled over: read it all
                    f.seek(offset)
                return b"Kafka Server started" in f.read()
        except (FileNotFoundError, ValueError):
            return False

    def wait_ready(self, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
        """Wait until the broker answers and its log says it started; `proc` is the process
        `launch` just made, if it made one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Our own child is watched through its handle: right after the fork its command line
            # is still Python's, which pid() would not recognise.
            exited = proc.poll() is not None if proc is not None else self.pid() is None
            if exited:
                raise BrokerError(
                    self.disk_full()
                    or f"the broker exited during start-up; see {self.log_file} and "
                    f"{self.log_file.parent / 'stdout.log'}"
                )
            if _answers(self.host, self.port) and self._log_says_started():
                return
            time.sleep(0.1)
        raise BrokerStartTimeout(
            f"the broker did not answer on {self.bootstrap} within {timeout:.0f}s; "
            f"see {self.log_file}"
        )


_DISK_FULL = b"No space left on device"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0): reap it if it is our child; if it is another process's
    # (a node a test started, stopped by the CLI), it is dead all the same.
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not _zombie(pid)
    return reaped == 0


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _is_our_java(pid: int) -> bool:
    if not _alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no procfs: trust the PID file
    return b"kafka.Kafka" in cmdline


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
