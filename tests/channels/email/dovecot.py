"""A throwaway Dovecot IMAP server on loopback for the poller's tests: maildir and a
passwd-file in a temporary directory, plain IMAP and IMAPS with a self-signed certificate
made with ``openssl``. Dovecot runs in the foreground (``dovecot -F -c conf``) as root and
drops to its own users, as the Debian package sets them up."""

from __future__ import annotations

import imaplib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
"""
USERS = 200
_users = itertools.count(1)


def missing_reason() -> str | None:
    if shutil.which("dovecot") is None:
        return "dovecot is not installed (Debian package dovecot-imapd)"
    if os.geteuid() != 0:
        return "dovecot's test server needs root"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    directory: Path
    port: int
    tls_port: int

    @property
    def cert(self) -> str:
        return str(self.directory / "cert.pem")

    def add_user(self) -> str:
        """An unused mailbox user (each test gets an empty mailbox)."""
        return f"desk{next(_users)}"

    @contextmanager
    def client(self, user: str, password: str = "s3cret") -> Iterator[imaplib.IMAP4]:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(user, password)
        try:
            yield conn
        finally:
            conn.logout()

    def deliver(self, user: str, raw: bytes) -> None:
        with self.client(user) as conn:
            status, _ = conn.append(
                "INBOX", None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            )
            assert status == "OK"

    def unseen(self, user: str) -> int:
        with self.client(user) as conn:
            conn.select("INBOX")
            _, data = conn.search(None, "UNSEEN")
            return len(data[0].split())


@contextmanager
def running() -> Iterator[Dovecot]:
    directory = Path(tempfile.mkdtemp(prefix="casedesk-dovecot-"))
    directory.chmod(0o755)  # Dovecot's own users must reach the run and mail directories
    try:
        for sub in ("run", "state", "mail"):
            (directory / sub).mkdir()
        shutil.chown(directory / "mail", "dovecot", "dovecot")
        # All users up front: Dovecot notices a changed passwd-file by its mtime in seconds.
        (directory / "passwd").write_text(
            "".join(f"desk{i}:{{PLAIN}}s3cret\n" for i in range(1, USERS + 1))
        )
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                str(directory / "key.pem"),
                "-out",
                str(directory / "cert.pem"),
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
        server = Dovecot(directory, _free_port(), _free_port())
        conf = directory / "dovecot.conf"
        conf.write_text(CONF.format(d=directory, port=server.port, tls_port=server.tls_port))
        process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _wait(server, process)
            yield server
        finally:
            process.terminate()
            process.wait(10)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _wait(server: Dovecot, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"dovecot exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("dovecot did not start listening")
