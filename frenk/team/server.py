"""The team stack in one command: PostgreSQL, ``mlflow server`` on it with served artifacts,
optionally the basic-auth app.

``frenk-serve --data-dir team/`` (or ``python -m frenk.team.server``) initialises a local
PostgreSQL cluster in ``team/postgres`` the first time (as the ``postgres`` system user when run
as root: PostgreSQL refuses root), starts it on loopback, creates the databases ``mlflow``
(tracking and registry) and ``optuna`` (shared tune storage), starts ``mlflow server`` with
``--serve-artifacts`` and the artifact root ``team/artifacts``, prints the URL and the
variables a client sets, and stops everything on Ctrl+C or SIGTERM. ``--postgres-url`` uses an
existing PostgreSQL instead. Nothing here imports MLflow: the server is a separate process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click

from ..core.errors import FrenkError, TrackingError
from ..core.secret_params import redact

#: the PostgreSQL role a local cluster is created with
PG_ROLE = "frenk"
#: what clients are told to set: a shorter wait for a server that accepts a connection and hangs (MLflow's
#: default is 120 s a request); the retries keep MLflow's default (7 with backoff: about four minutes), so
#: that a restart of the server costs a training nothing (the start-of-step check fails fast anyway)
CLIENT_RETRY_ENV = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


def free_port() -> int:
    """A TCP port that nothing listens on at this moment (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def postgres_bindir() -> Path:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), newest version first."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]), reverse=True)
    if versions:
        return versions[0].parent
    raise TrackingError("PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
                        "`apt-get install postgresql`, or pass --postgres-url of an existing server")


@dataclasses.dataclass
class LocalPostgres:
    """A PostgreSQL cluster in a folder, owned by ``os_user`` (None: the current user)."""

    folder: Path
    port: int
    os_user: str | None
    bindir: Path

    @property
    def pgdata(self) -> Path:
        return self.folder / "pgdata"

    @property
    def url(self) -> str:
        password = (self.folder / "password").read_text().strip()
        return f"postgresql://{PG_ROLE}:{password}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        proc = subprocess.run([str(self.bindir / args[0]), *args[1:]], user=self.os_user, group=self.os_user and
                              pwd.getpwnam(self.os_user).pw_gid, capture_output=True, text=True, cwd="/")
        if proc.returncode != 0:
            raise TrackingError(f"PostgreSQL's {args[0]} failed: {(proc.stderr or proc.stdout).strip()[-800:]} "
                                f"(log: {self.folder / 'postgres.log'})")


def _server_user() -> str | None:
    """The OS user that owns a local cluster: ``postgres`` when running as root, else nobody else."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        raise TrackingError("running as root, and PostgreSQL refuses root: create a `postgres` system user "
                            "(the Debian package does) or run frenk-serve as an ordinary user") from None


def _own(path: Path, os_user: str | None) -> None:
    if os_user:
        entry = pwd.getpwnam(os_user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def init_postgres(folder: Path, port: int) -> LocalPostgres:
    """Initialise a cluster in ``folder`` (once; a second call reuses it) listening on loopback."""
    folder = folder.resolve()
    pg = LocalPostgres(folder, port, _server_user(), postgres_bindir())
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    _own(folder, pg.os_user)
    if pg.os_user:
        for parent in folder.parents:  # the server user must reach its folder
            if not os.stat(parent).st_mode & 0o001:
                raise TrackingError(f"{parent} is not searchable by the `{pg.os_user}` user that runs PostgreSQL: "
                                    f"`chmod o+x {parent}`, or choose a --data-dir under another folder")
    if (pg.pgdata / "PG_VERSION").exists():
        return pg
    pwfile = folder / "password"
    pwfile.write_text(secrets.token_urlsafe(18) + "\n")
    os.chmod(pwfile, 0o600)
    _own(pwfile, pg.os_user)
    pg._run("initdb", "-D", str(pg.pgdata), "-U", PG_ROLE, f"--pwfile={pwfile}", "--auth-host=scram-sha-256",
            "--auth-local=peer", "--encoding=UTF8", "--no-instructions")
    return pg


def start_postgres(pg: LocalPostgres) -> None:
    options = f"-p {pg.port} -k {pg.folder} -c listen_addresses=127.0.0.1"
    pg._run("pg_ctl", "-D", str(pg.pgdata), "-l", str(pg.folder / "postgres.log"), "-o", options, "-w", "-t", "60",
            "start")


def stop_postgres(pg: LocalPostgres) -> None:
    pg._run("pg_ctl", "-D", str(pg.pgdata), "-m", "fast", "-w", "-t", "60", "stop")


def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url`` unless it exists; its URL."""
    import psycopg

    try:
        conn = psycopg.connect(url, connect_timeout=10, autocommit=True)
    except psycopg.OperationalError as exc:
        raise TrackingError(f"cannot connect to PostgreSQL at {redact(url)}: "
                            f"{str(exc).strip().splitlines()[0]}") from None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return with_database(url, name)


@dataclasses.dataclass
class Stack:
    """What a running stack offers its clients."""

    url: str
    backend_store_uri: str
    optuna_storage: str
    artifacts: Path
    auth: bool
    admin_username: str | None = None
    admin_password_file: Path | None = None
    process: subprocess.Popen | None = dataclasses.field(default=None, repr=False)


def _secret(path: Path) -> str:
    """A secret kept in a 0600 file (made on first use)."""
    if not path.exists():
        path.write_text(secrets.token_urlsafe(18) + "\n")
        os.chmod(path, 0o600)
    return path.read_text().strip()


def auth_env(data_dir: Path) -> dict[str, str]:
    """The basic-auth app's settings: its user store in the data folder, the admin's password."""
    password = os.environ.get("MLFLOW_AUTH_ADMIN_PASSWORD") or _secret(data_dir / "admin-password")
    ini = data_dir / "basic_auth.ini"
    users = data_dir / "basic_auth.db"  # the users' password hashes: the owner's only (SQLite takes an empty file)
    users.touch(mode=0o600, exist_ok=True)
    os.chmod(users, 0o600)
    ini.write_text("[mlflow]\ndefault_permission = READ\n"
                   f"database_uri = sqlite:///{data_dir / 'basic_auth.db'}\nadmin_username = admin\n"
                   "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    return {"MLFLOW_AUTH_CONFIG_PATH": str(ini), "MLFLOW_AUTH_ADMIN_USERNAME": "admin",
            "MLFLOW_AUTH_ADMIN_PASSWORD": password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": _secret(data_dir / "flask-secret-key")}


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    """Wait until ``url``/health answers; fail with the server's log when it exits first."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TrackingError(f"mlflow server exited with status {proc.returncode}: "
                                f"{log.read_text(errors='replace')[-1500:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/health", timeout=2).ok:
                return
        time.sleep(0.5)
    raise TrackingError(f"mlflow server did not answer at {url} within {timeout:.0f} s (log: {log})")


def start_mlflow_server(backend: str, artifacts: Path, host: str, port: int, workers: int, extra_env: dict[str, str],
                        log: Path) -> subprocess.Popen:
    """``mlflow server`` with ``backend`` as tracking and registry store and served artifacts.
    The backend URL (with its password) goes through the environment, not the command line."""
    env = {**os.environ, "MLFLOW_BACKEND_STORE_URI": backend, **extra_env}
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", host, "--port", str(port), "--workers", str(workers),
           "--serve-artifacts", "--artifacts-destination", str(artifacts)]
    if "MLFLOW_AUTH_CONFIG_PATH" in extra_env:
        cmd += ["--app-name", "basic-auth"]
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to the process group (the server and its workers), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def local_postgres(folder: Path, port: int = 0) -> Iterator[str]:
    """A local cluster in ``folder``, started for the block and stopped after; yields its URL."""
    pg = init_postgres(folder, port or free_port())
    start_postgres(pg)
    try:
        yield pg.url
    finally:
        stop_postgres(pg)


@contextlib.contextmanager
def team_stack(data_dir: Path, postgres_url: str = "", host: str = "127.0.0.1", port: int = 0, auth: bool = False,
               workers: int = 2, pg_port: int = 0, db_prefix: str = "") -> Iterator[Stack]:
    """The whole stack for the block: PostgreSQL (``postgres_url``, else a local cluster in
    ``data_dir/postgres``), the databases ``<db_prefix>mlflow`` and ``<db_prefix>optuna``, and
    ``mlflow server``."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        server = postgres_url or stack.enter_context(local_postgres(data_dir / "postgres", pg_port))
        backend = create_database(server, f"{db_prefix}mlflow")
        optuna_url = create_database(server, f"{db_prefix}optuna")
        artifacts = data_dir / "artifacts"
        artifacts.mkdir(exist_ok=True)
        port = port or free_port()
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        env = auth_env(data_dir) if auth else {}
        log = data_dir / "mlflow-server.log"
        proc = start_mlflow_server(backend, artifacts, host, port, workers, env, log)
        stack.callback(stop_process, proc)
        wait_healthy(url, proc, log)
        yield Stack(url, backend, optuna_url, artifacts, auth, "admin" if auth else None,
                    data_dir / "admin-password" if auth and "MLFLOW_AUTH_ADMIN_PASSWORD" not in os.environ else None,
                    proc)


def client_instructions(stack: Stack) -> str:
    """What the stack prints: its URL, where things are, and what a client machine sets."""
    lines = [
        f"frenk team stack is up: {stack.url} (MLflow UI and REST API)",
        f"  backend store:   {redact(stack.backend_store_uri)}",
        f"  artifacts:       {stack.artifacts} (served through the server: clients need no access to it)",
        f"  optuna storage:  {redact(stack.optuna_storage)} (for `-P storage=` of tune workers)",
        "On each machine that runs steps:",
        f"  export MLFLOW_TRACKING_URI={stack.url}",
        "  export " + " ".join(f"{k}={v}" for k, v in CLIENT_RETRY_ENV.items()),
    ]
    if stack.auth:
        where = stack.admin_password_file or "MLFLOW_AUTH_ADMIN_PASSWORD"
        lines += ["  export MLFLOW_TRACKING_USERNAME=<user> MLFLOW_TRACKING_PASSWORD=<password>",
                  f"basic-auth is on: the admin user is `{stack.admin_username}`, its password is in {where}; "
                  "new users get READ on everything they did not create"]
    lines.append("Ctrl+C (or SIGTERM) stops the server" + ("" if "127.0.0.1" not in stack.backend_store_uri
                                                            else " and the local PostgreSQL"))
    return "\n".join(lines)


@click.command(help="Start the team stack: PostgreSQL, `mlflow server` on it with served artifacts, optionally "
                    "basic-auth; print what clients set; stop everything on Ctrl+C.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path("mlflow-team"), show_default=True,
              help="folder of the local PostgreSQL cluster, the artifacts, the auth store and the server log")
@click.option("--postgres-url", default="", envvar="FRENK_POSTGRES_URL",
              help="an existing PostgreSQL server (postgresql://user:password@host:port/db) instead of a local cluster")
@click.option("--host", default="127.0.0.1", show_default=True, help="interface to serve on (0.0.0.0: every machine)")
@click.option("--port", type=int, default=5000, show_default=True, help="port of the tracking server")
@click.option("--pg-port", type=int, default=5433, show_default=True, help="port of the local PostgreSQL (loopback)")
@click.option("--auth/--no-auth", default=False, show_default=True, help="MLflow's basic-auth app (users, permissions)")
@click.option("--workers", type=int, default=4, show_default=True, help="server worker processes")
@click.option("--db-prefix", default="", help="prefix of the database names (several stacks on one PostgreSQL)")
def main(data_dir: Path, postgres_url: str, host: str, port: int, pg_port: int, auth: bool, workers: int,
         db_prefix: str) -> None:
    from ..core.interrupts import sigterm_as_interrupt

    try:
        with sigterm_as_interrupt(), team_stack(data_dir, postgres_url, host, port, auth, workers, pg_port,
                                                           db_prefix) as stack:
            click.echo(client_instructions(stack), nl=True)
            sys.stdout.flush()
            with contextlib.suppress(KeyboardInterrupt):
                status = stack.process.wait() if stack.process else None
                raise TrackingError(f"mlflow server exited with status {status} "
                                    f"(log: {data_dir / 'mlflow-server.log'})")
    except FrenkError as exc:
        click.echo(f"frenk: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        pass
    click.echo("frenk team stack stopped")


if __name__ == "__main__":
    main()
