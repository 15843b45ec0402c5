"""A throw-away PostgreSQL server on loopback for tests, from Debian's binaries.

``postgres_url()`` is a context manager that yields a connection URL: the one in
``SICOT_TEST_POSTGRES_URL`` when set, else a fresh server made with initdb + pg_ctl in
a temporary folder (as root, they run as the ``postgres`` user, which initdb
requires), listening on 127.0.0.1 on a free port with trust authentication, stopped
and deleted on exit. Without the binaries it skips, except under CI=true, where it
fails (scripts/system_packages.sh installs the ``postgresql`` package).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

from tests.loopback import free_port


def _bin_dir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@contextlib.contextmanager
def postgres_url():
    url = os.environ.get("SICOT_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bin_dir = _bin_dir()
    if bin_dir is None:
        message = "Debian package postgresql is not installed (scripts/system_packages.sh)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = tempfile.mkdtemp(prefix="sicot-pg-")
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    data = os.path.join(root, "data")
    port = free_port()
    run = lambda argv: subprocess.run(_as_server_user(argv), check=True, capture_output=True, text=True)
    try:
        run([f"{bin_dir}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
        run([
            f"{bin_dir}/pg_ctl", "-D", data, "-w", "-t", "60", "-l", os.path.join(root, "server.log"),
            "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off", "start",
        ])
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run([f"{bin_dir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
