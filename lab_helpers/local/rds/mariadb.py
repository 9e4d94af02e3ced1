"""The local cloud's database server: a private MariaDB instance (Debian's `mariadb-server`).

It runs with its own datadir, port and socket under the lab's state folder, binds to
127.0.0.1 only, and backs the RDS DB instances the lab creates: each instance's master user
and password become a MariaDB account. The admin account is bound to the OS account that runs the lab
(socket authentication over the server's unix socket: `root` for root, `alice` for alice), so it never
needs a password, no other OS user can log in as it, and it never takes a TCP slot.

Where the binaries are: on PATH (`mariadbd`, `mysqld` when it is MariaDB's), in Debian's places
(/usr/sbin) and in Homebrew's (/opt/homebrew, /usr/local).
"""
from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pymysql

from ..errors import LocalCloudError
from ..logs import rotate_if_large
from ..ports import ensure_free, free_port
from ..processes import terminate, unmanaged_environment

SERVER_NAMES = ("mariadbd", "mysqld")  # MariaDB's server; `mysqld` is its older name (and Oracle MySQL's, refused)
INSTALL_DB_NAMES = ("mariadb-install-db", "mysql_install_db")
# Where packages put them when they are not on PATH (an ordinary user's PATH on Debian has no /usr/sbin)
SERVER_FOLDERS = ("/usr/sbin", "/usr/bin", "/usr/libexec", "/opt/homebrew/bin", "/opt/homebrew/sbin",
                  "/opt/homebrew/opt/mariadb/bin", "/usr/local/bin", "/usr/local/sbin", "/usr/local/opt/mariadb/bin",
                  "/usr/local/mysql/bin")
INSTALL_HINT = (
    "MariaDB is not installed: install Debian's packages with "
    "`sudo apt-get install -y mariadb-server fonts-noto-cjk` (the list of apt.txt; or run `make test`/`make lab` as "
    "root, which does it; "
    "on macOS `brew install mariadb`), then try again."
)
DEFAULT_MAX_CONNECTIONS = 100
# What RDS for MySQL grants its master user (no FILE, SHUTDOWN, SUPER, ...), in two parts, because MariaDB has
# no partial revokes: the server-wide ones on *.*, the ones on tables and routines on every database (`%`),
# and read-only on `mysql` (a database grant names one database exactly, so it wins over `%` there): the
# master user cannot write the grant tables directly, only through CREATE USER, GRANT and the like.
MASTER_GLOBAL_PRIVILEGES = "SELECT, RELOAD, PROCESS, SHOW DATABASES, REPLICATION SLAVE, BINLOG MONITOR, CREATE USER"
MASTER_DATABASE_PRIVILEGES = ("SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, REFERENCES, INDEX, ALTER, "
                              "CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, "
                              "CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER")
MASTER_SYSTEM_SCHEMA_PRIVILEGES = "SELECT, SHOW VIEW"
ENGINE_ACCOUNT = "mysql"  # Debian's account for the server; as root, the engine runs as it where it can
ADMIN_MARKER = "lab-admin-user"  # in the template datadir: the OS user whose admin account it has
SOCKET_PATH_MAX = 100  # a unix socket's path must fit in sun_path (108 bytes on Linux), with room to spare


def _executables(names: tuple[str, ...], first: list[str] | None = None) -> list[str]:
    """Every executable of those names: in the folders `first`, then on PATH, then in SERVER_FOLDERS; once each."""
    found: list[str] = []
    folders = [*(first or []), *os.environ.get("PATH", "").split(os.pathsep), *SERVER_FOLDERS]
    for folder in dict.fromkeys(f for f in folders if f):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and os.access(path, os.X_OK) and os.path.realpath(path) not in found:
                found.append(os.path.realpath(path))
    return found


def _is_mariadb(binary: str) -> bool:
    """Whether a server binary is MariaDB's (Oracle MySQL's `mysqld` takes other options and has no install-db)."""
    if os.path.basename(binary).startswith("mariadb"):
        return True
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "mariadb" in out.lower()


def find_mariadbd() -> str:
    """The MariaDB server binary (on PATH, in Debian's or Homebrew's places), or an error that says how to
    install it."""
    others = []
    for path in _executables(SERVER_NAMES):
        if _is_mariadb(path):
            return path
        others.append(path)
    if others:
        raise LocalCloudError(f"{others[0]} is not MariaDB's server (the lab needs MariaDB, not MySQL). {INSTALL_HINT}")
    raise LocalCloudError(INSTALL_HINT)


def find_install_db(server: str | None = None) -> str:
    """mariadb-install-db (which makes a new datadir), the one of the same installation as `server` first, or an
    error that says how to install it."""
    near = []
    if server:
        prefix = Path(server).resolve().parent.parent  # /usr/sbin/mariadbd -> /usr
        near = [str(prefix / "bin"), str(prefix / "scripts"), str(Path(server).resolve().parent)]
    found = _executables(INSTALL_DB_NAMES, near)
    if not found:
        raise LocalCloudError(INSTALL_HINT)
    return found[0]


def admin_user() -> str:
    """The MariaDB account the lab administers its engine with: the name of the OS account running this
    process (socket authentication checks exactly that)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        raise LocalCloudError(f"this process's user id {os.geteuid()} has no name (no entry in the password "
                              "database): the local database lets its administrator in by OS user name; run the "
                              "lab as a user with a name.") from None


def admin_connect(socket: str, connect_timeout: float = 2) -> pymysql.connections.Connection:
    """The admin account over the server's unix socket (socket authentication as this OS user): no password,
    and no TCP connection for the database to count against the clients'."""
    return pymysql.connect(unix_socket=socket, user=admin_user(), autocommit=True, connect_timeout=connect_timeout)


def admin_query(socket: str, sql: str, args: object = None) -> list[tuple[Any, ...]]:
    """One statement as the admin account; its rows (empty for a statement without a result)."""
    conn = admin_connect(socket)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


def engine_account(folder: Path) -> str:
    """The OS account the engine runs as for a state folder: Debian's `mysql` when started as root and every
    folder on the way to `folder` lets it through (folders not made yet are not looked at); else the current
    user (root, when nothing else can be used)."""
    me = admin_user()
    if os.geteuid() != 0:
        return me
    try:
        account = pwd.getpwnam(ENGINE_ACCOUNT)
    except KeyError:
        return me
    folder = Path(folder).resolve()
    for parent in [folder, *folder.parents]:
        if not parent.exists():
            continue
        st = parent.stat()
        if not (st.st_mode & 0o001 or (st.st_gid == account.pw_gid and st.st_mode & 0o010)
                or (st.st_uid == account.pw_uid and st.st_mode & 0o100)):
            return me  # it could not reach its own files
    return ENGINE_ACCOUNT


class MariaDB:
    """One private mariadbd process. `root` is the folder that holds its datadir, socket and logs."""

    def __init__(self, root: Path, port: int | None = None, max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 options: tuple[str, ...] = ()):
        self.root = Path(root)
        self.port = port
        self.max_connections = max_connections
        self.options = options  # more mariadbd options (the conformance run's TLS certificate)
        self.proc: subprocess.Popen[bytes] | None = None
        self.template: Path | None = None  # the datadir template it was first started from
        self.account = self._account()  # the system account the server runs as

    @property
    def bound_port(self) -> int:
        """The TCP port it listens on (chosen when it first starts)."""
        if self.port is None:
            raise LocalCloudError("the local database has not started yet: start() chooses its port")
        return self.port

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket(self) -> str:
        """mysqld.sock in its folder; in the temporary folder when that path is too long for a unix socket."""
        path = str(self.root / "mysqld.sock")
        if len(path.encode()) <= SOCKET_PATH_MAX:
            return path
        return os.path.join(tempfile.gettempdir(), f"lab-mysqld-{hashlib.sha256(path.encode()).hexdigest()[:16]}.sock")

    @property
    def files_dir(self) -> Path:
        """The only folder the server reads or writes files in (secure_file_priv), as on RDS."""
        return self.root / "files"

    @property
    def tmp_dir(self) -> Path:
        """The server's temporary files (not the shared /tmp: a starting server deletes every `#sql*` file in its
        tmpdir, so two clouds starting at once, or one starting while another runs, would delete each other's)."""
        return self.root / "tmp"

    @property
    def pid_file(self) -> Path:
        return self.root / "mysqld.pid"

    @property
    def error_log(self) -> Path:
        return self.root / "mysqld.err"

    def _init_datadir(self, template: Path) -> None:
        """A fresh datadir, copied from a template that mariadb-install-db makes once (~0.5 s). The template's
        admin account is this OS user's (a template made by another user, or before that was so, is made again)."""
        marker = template / ADMIN_MARKER
        if not (template / "mysql").is_dir() or not marker.is_file() or marker.read_text() != admin_user():
            tmp = template.with_name(template.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            # the admin account named explicitly: the script's default is $USER, which `su`/`runuser` may leave
            # naming another user
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            cmd = [find_install_db(find_mariadbd()), "--no-defaults", f"--datadir={tmp}", "--skip-test-db",
                   f"--tmpdir={self.tmp_dir}",
                   "--auth-root-authentication-method=socket", f"--auth-root-socket-user={admin_user()}",
                   "--innodb-log-file-size=8M"]
            if os.geteuid() == 0:
                cmd.append("--user=root")
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                raise LocalCloudError(f"mariadb-install-db failed: {res.stderr.strip()[-400:]}")
            (tmp / ADMIN_MARKER).write_text(admin_user())
            shutil.rmtree(template, ignore_errors=True)
            tmp.rename(template)
        shutil.rmtree(self.datadir, ignore_errors=True)
        shutil.copytree(template, self.datadir, symlinks=True)

    def _account(self) -> str:
        """The system account the server runs as (see engine_account)."""
        return engine_account(self.root)

    def _give_to_account(self) -> None:
        if self.account == admin_user():
            return
        account = pwd.getpwnam(self.account)
        for folder, _, files in os.walk(self.root):
            os.chown(folder, account.pw_uid, account.pw_gid)
            for name in files:
                os.chown(os.path.join(folder, name), account.pw_uid, account.pw_gid, follow_symlinks=False)

    def start(self, template: Path | None, timeout: float = 30.0) -> None:
        """Start on a fresh datadir copied from `template`, or (template None) on the existing one."""
        binary = find_mariadbd()
        self.root.mkdir(parents=True, exist_ok=True)
        if self.port is None:
            self.port = free_port()
        else:
            ensure_free(self.port, "the local database")
        if template is not None:
            self.template = template
            self._init_datadir(template)
        cmd = [binary, "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
               f"--socket={self.socket}", f"--pid-file={self.pid_file}", "--bind-address=127.0.0.1",
               f"--tmpdir={self.tmp_dir}",
               f"--max-connections={self.max_connections}", f"--log-error={self.error_log}",
               "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=8M", "--skip-log-bin",
               "--skip-name-resolve", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
               "--default-time-zone=+00:00", f"--secure-file-priv={self.files_dir}", *self.options]
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            cmd.append(f"--user={self.account}")
            self._give_to_account()
        for log in (self.error_log, self.root / "mysqld.out"):
            rotate_if_large(log)
        with open(self.root / "mysqld.out", "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=unmanaged_environment())
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                tail = self.error_log.read_text(errors="replace")[-600:] if self.error_log.exists() else ""
                raise LocalCloudError(f"mariadbd exited with code {self.proc.returncode}; its log says: {tail}")
            try:
                self.admin().close()
                return
            except pymysql.MySQLError as e:
                if time.monotonic() > deadline:
                    self.stop()
                    raise LocalCloudError(f"mariadbd did not become ready in {timeout:.0f} s; "
                                          f"see {self.error_log}") from e
                time.sleep(0.02)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc else None

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc:
            terminate(self.proc, timeout)
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same data and port, as an RDS reboot does."""
        self.stop()
        self.start(template=None)

    def reset(self) -> None:
        """Stop, and start again on a fresh datadir (nothing of the old data or accounts is left)."""
        self.stop()
        self.start(template=self.template)

    # -- administration (the admin account over the unix socket) ------------------------------------------
    def admin(self) -> pymysql.connections.Connection:
        return admin_connect(self.socket)

    def execute(self, sql: str, args: object = None) -> list[tuple[Any, ...]]:
        return admin_query(self.socket, sql, args)

    def ensure_user(self, user: str, password: str) -> None:
        """The RDS master user: logs in over TCP from anywhere on loopback, with RDS's master privileges
        and no more (no FILE, SHUTDOWN, SUPER, no writes to `mysql.*`: an RDS master user cannot read the
        host's files, stop the server, change global settings (parameter groups do that) or edit grant tables)."""
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
                cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))
                cur.execute("REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s@'%%'", (user,))
                cur.execute(f"GRANT {MASTER_GLOBAL_PRIVILEGES} ON *.* TO %s@'%%' WITH GRANT OPTION", (user,))
                cur.execute(f"GRANT {MASTER_DATABASE_PRIVILEGES} ON `%%`.* TO %s@'%%' WITH GRANT OPTION", (user,))
                cur.execute(f"GRANT {MASTER_SYSTEM_SCHEMA_PRIVILEGES} ON `mysql`.* TO %s@'%%'", (user,))
        finally:
            conn.close()

    def drop_user(self, user: str) -> None:
        self.execute("DROP USER IF EXISTS %s@'%%'", (user,))

    def set_max_connections(self, n: int) -> None:
        self.execute(f"SET GLOBAL max_connections = {int(n)}")

    def get_max_connections(self) -> int:
        return int(self.execute("SELECT @@GLOBAL.max_connections")[0][0])

    def threads_connected(self) -> int:
        """Client connections the server has now, not counting the admin connection asking."""
        return int(self.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")[0][1]) - 1
