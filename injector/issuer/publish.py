"""`injector publish DIR`: the two documents as files, for any static host (a bucket, nginx, a
CDN), which is how the issuer scales past one machine.

Files are public (0644, folders 0755) and replaced atomically, so a web server reading the
folder while it is republished serves the old document or the new one, never half of one.
The files have no extension: the host must serve them as `application/json` (see the README).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from injector import files
from injector.errors import InjectorError

FILE_MODE = 0o644
FOLDER_MODE = 0o755


def publish(folder: Path, bodies: Mapping[str, bytes]) -> list[Path]:
    """Write each body at its URL path under `folder` (`/.well-known/jwks` ->
    `folder/.well-known/jwks`) and return the files written. Raises InjectorError if a file or
    folder cannot be written."""
    written = []
    try:
        for url_path, body in bodies.items():
            target = folder.joinpath(*url_path.strip("/").split("/"))
            for parent in reversed(target.relative_to(folder).parents):
                made = folder / parent
                if not made.is_dir():
                    made.mkdir(mode=FOLDER_MODE, parents=True)
                    made.chmod(FOLDER_MODE)  # mkdir's mode passes through the umask
            files.write_atomically(target, body, mode=FILE_MODE)
            written.append(target)
    except OSError as error:
        where = error.filename or folder
        raise InjectorError(f"cannot publish into {where}: {error.strerror}") from None
    return written
