"""The job's way to the signer's socket, in process: what it connects to, and why a layout
would let someone other than root and the listener's uid be first to listen there. (The real
job against real listeners of other uids: test_client.py.)"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from injector.signer.socket_way import Way
from tests.support import signer as support


@pytest.fixture
def folder() -> Iterator[Path]:
    made = support.shared_folder()  # root's, 0755, under /tmp
    try:
        yield made
    finally:
        support.remove(made)


def _listening(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    return listener


def test_root_folders_and_a_socket_of_the_listeners_uid_leave_no_doubt(folder: Path) -> None:
    with _listening(folder / "signer.sock"), Way(folder / "signer.sock") as way:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(way.address)
        assert way.address.startswith("/proc/self/fd/")
        assert way.doubt(os.getuid()) is None


def test_a_socket_of_another_uid_than_the_listeners_is_doubted(folder: Path) -> None:
    with _listening(folder / "signer.sock"), Way(folder / "signer.sock") as way:
        assert way.doubt(4242) == f"{folder}/signer.sock belongs to uid 0, not the listener's"


def test_a_name_too_long_to_pin_is_connected_to_by_its_real_path() -> None:
    """`/proc/self/fd/N/` may be longer than the folder's own path: past sun_path's 108 bytes,
    the walked path itself is used (a name nobody else can change, as the check says)."""
    short = Path(tempfile.mkdtemp(prefix="j", dir="/tmp"))  # shorter than /proc/self/fd/N
    try:
        path = short / ("s" * (106 - len(str(short))))
        with _listening(path), Way(path) as way:
            assert len(f"/proc/self/fd/NN/{path.name}") > 107
            assert way.address == str(path)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(way.address)
    finally:
        support.remove(short)


def test_a_missing_folder_on_the_way_is_an_error_before_connecting(folder: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Way(folder / "missing" / "signer.sock")
