"""`injector publish DIR`: the two documents as files, for any static host (a bucket, nginx, a
CDN), which is how the issuer scales past one machine.

Files are public (0644, folders 0755) and replaced atomically, so a web server reading the
folder while it is republished serves the old document or the new one, never half of one.
The files have no extension: the host must serve them as `application/json` (docs/guides/issuer.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from injector import files
from injector.errors import ConfigError, InjectorError

FILE_MODE = 0o644


def _folder_of(root: Path, parts: list[str]) -> files.Folder:
    """The folder `root/parts...`, made if missing, held. Links are not followed below `root`:
    each folder is opened as itself."""
    where = files.make_folder(root, "DIR", public=True, follow_up_to=root)
    for part in parts:
        with where:
            where = files.make_folder(
                where.path / part, "DIR", public=True, follow_up_to=where.path
            )
    return where


def publish(folder: Path, bodies: Mapping[str, bytes]) -> list[Path]:
    """Write each body at its URL path under `folder` (`/.well-known/jwks` ->
    `folder/.well-known/jwks`) and return the files written. Every folder on the way must be
    the caller's, not writable by others and not a link (files.make_folder, public). Raises
    InjectorError if a file or folder cannot be used or written."""
    written = []
    try:
        with files.make_folder(folder, "DIR", public=True) as made:
            root = made.path
        for url_path, body in bodies.items():
            *parts, name = url_path.strip("/").split("/")
            with _folder_of(root, parts) as held:
                held.write(held.path / name, body, mode=FILE_MODE)
            written.append(held.path / name)
    except ConfigError as error:
        problem = error.problems[0]
        raise InjectorError(f"cannot publish into {folder}: {problem.message}") from None
    except OSError as error:
        where = error.filename or folder
        raise InjectorError(f"cannot publish into {where}: {error.strerror}") from None
    return written
