"""Real redis-server and PostgreSQL for the scale-out tests, on free loopback ports in
temporary folders, stopped afterwards.

Missing binaries are installed with apt-get when running as root (as CI does);
otherwise the tests fail saying what to install.  PostgreSQL refuses to run as root,
so as root it runs as the ``postgres`` system user (created if absent)."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

_APT_DONE = set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _apt_install(*packages: str) -> None:
    todo = [p for p in packages if p not in _APT_DONE]
    if not todo:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(f"the scale-out tests need {' and '.join(packages)}; install them "
                           f"(e.g. apt-get install {' '.join(packages)}) or run as root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *todo],
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *todo],
                       env=env, check=True, capture_output=True)
    _APT_DONE.update(todo)


def redis_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        _apt_install("redis-server")
        path = shutil.which("redis-server") or "/usr/bin/redis-server"
    return path


def pg_bindir() -> str:
    def find():
        initdb = shutil.which("initdb")
        if initdb:
            return os.path.dirname(os.path.realpath(initdb))
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        return os.path.dirname(found[-1]) if found else None
    d = find()
    if d is None:
        _apt_install("postgresql")
        d = find()
    if d is None:
        raise RuntimeError("PostgreSQL binaries (initdb, postgres) not found")
    return d


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


class Redis:
    def __init__(self):
        self.binary = redis_binary()
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="loro_c-redis-")
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port, self.proc, "redis-server")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Postgres:
    def __init__(self):
        import pwd  # POSIX only, like the rest of this module
        self.bindir = pg_bindir()
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="loro_c-pg-")
        self.user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
            self.user = "postgres"
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.proc = None
        subprocess.run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-A", "trust",
                        "-U", "postgres", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, cwd=self.dir, **self._as_user())

    def _as_user(self):
        import pwd
        return {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid} if self.user else {}

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, fsync: bool = False) -> None:
        # fsync off by default: the tests kill processes, not the machine, and share
        # slow disks.  The benchmark turns it on.
        self.fsync = fsync
        self.proc = subprocess.Popen(
            [os.path.join(self.bindir, "postgres"), "-D", self.data, "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
             "-c", f"fsync={'on' if fsync else 'off'}", "-c", "max_connections=100", "-c", "shared_buffers=32MB"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir, **self._as_user())
        _wait_port(self.port, self.proc, "postgres")
        # Listening is not accepting queries yet (startup recovery); wait for that.
        isready = os.path.join(self.bindir, "pg_isready")
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if subprocess.run([isready, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("postgres did not become ready")

    def stop(self) -> None:
        """Fast shutdown (SIGINT): clients are disconnected, committed data stays."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start(getattr(self, "fsync", False))

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
