"""Real git servers on 127.0.0.1 for the remote tests: `git daemon`, smart HTTP
(`git http-backend` behind http.server with Basic auth), sshd with throwaway keys,
and a server that accepts a connection and never answers."""

from __future__ import annotations

import base64
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, what: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


def bare_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    # The reflog shows every update of the branch: a forced push would show as one
    # whose old value is not an ancestor of its new one.
    subprocess.run(
        ["git", "-C", str(path), "config", "core.logAllRefUpdates", "always"], check=True
    )
    return path


def git_out(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    return proc.stdout.strip()


def is_ancestor(repo: Path, a: str, b: str) -> bool:
    cmd = ["git", "-C", str(repo), "merge-base", "--is-ancestor", a, b]
    return subprocess.run(cmd, capture_output=True).returncode == 0


@dataclass
class Daemon:
    base: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"git://127.0.0.1:{self.port}/remote.git"

    @property
    def repo(self) -> Path:
        return self.base / "remote.git"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                f"--base-path={self.base}",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                str(self.base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, "git daemon")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None


def start_daemon(tmp: Path) -> Daemon:
    base = tmp / "served"
    base.mkdir()
    bare_repo(base / "remote.git")
    d = Daemon(base, free_port())
    d.start()
    return d


# -- smart HTTP with Basic auth --------------------------------------------------------


@dataclass
class HttpServer:
    root: Path
    user: str
    password: str
    server: http.server.ThreadingHTTPServer = field(init=False)
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path, status)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/remote.git"

    def start(self) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._cgi()

            def do_POST(self) -> None:
                self._cgi()

            def _cgi(self) -> None:
                want = (
                    "Basic " + base64.b64encode(f"{outer.user}:{outer.password}".encode()).decode()
                )
                if self.headers.get("Authorization") != want:
                    outer.requests.append((self.path, 401))
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="vault"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.requests.append((self.path, 200))
                self._backend()

            def _backend(self) -> None:
                path, _, query = self.path.partition("?")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "GIT_PROJECT_ROOT": str(outer.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "REMOTE_USER": outer.user,
                    "REMOTE_ADDR": "127.0.0.1",
                    "REQUEST_METHOD": self.command,
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                    "GIT_CONFIG_NOSYSTEM": "1",
                }
                out = subprocess.run(
                    ["git", "http-backend"], input=body, env=env, capture_output=True
                ).stdout
                head, _, payload = out.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- a server that accepts and never answers ---------------------------------------------


class SilentServer:
    """Accepts connections and never says a word: a stuck server or a black-holed link."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, scheme: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port}/remote.git"

    def all_hung_up(self) -> bool:
        """Whether every client has gone (none left stuck on this server)."""
        for c in self.conns:
            c.settimeout(10)
            try:
                while c.recv(4096):
                    pass
            except TimeoutError:
                return False
            except OSError:
                pass
        return bool(self.conns)

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.conns.append(conn)

    def stop(self) -> None:
        self._stop.set()
        for c in self.conns:
            c.close()
        self.sock.close()


# -- sshd with a throwaway host key and user key -----------------------------------------


def sshd_path() -> str | None:
    return shutil.which("sshd") or next(
        (p for p in ("/usr/sbin/sshd", "/usr/local/sbin/sshd") if os.access(p, os.X_OK)), None
    )


@dataclass
class Sshd:
    dir: Path
    port: int
    proc: subprocess.Popen[bytes]
    host_pub: str
    user_key: Path

    def url(self, repo: Path) -> str:
        user = (
            os.environ.get("USER")
            or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        )
        return f"ssh://{user}@127.0.0.1:{self.port}{repo}"

    def ssh_command(self, known_hosts: Path) -> str:
        """What a user puts in core.sshCommand: this key, this known_hosts file, no
        ~/.ssh/config (vaultsync adds BatchMode itself)."""
        return (
            f"ssh -F /dev/null -i {self.user_key} -o IdentitiesOnly=yes "
            f"-o UserKnownHostsFile={known_hosts} -o GlobalKnownHostsFile=/dev/null"
        )

    def known_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_pub}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def start_sshd(tmp: Path) -> Sshd:
    exe = sshd_path()
    assert exe is not None
    d = tmp / "sshd"
    d.mkdir()
    for name in ("host_key", "user_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True
        )
    (d / "authorized_keys").write_text((d / "user_key.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            "-D",
            "-e",
            "-f",
            "/dev/null",
            "-o",
            f"HostKey={d / 'host_key'}",
            "-o",
            f"Port={port}",
            "-o",
            "ListenAddress=127.0.0.1",
            "-o",
            f"AuthorizedKeysFile={d / 'authorized_keys'}",
            "-o",
            "StrictModes=no",
            "-o",
            "UsePAM=no",
            "-o",
            "PasswordAuthentication=no",
            "-o",
            "KbdInteractiveAuthentication=no",
            "-o",
            f"PidFile={d / 'sshd.pid'}",
            "-o",
            "PermitRootLogin=prohibit-password",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(d / "sshd.log", "wb"),  # noqa: SIM115 - sshd keeps it for its life
    )
    wait_for_port(port, "sshd")
    host_pub = " ".join((d / "host_key.pub").read_text().split()[:2])
    return Sshd(d, port, proc, host_pub, d / "user_key")
