"""The private folder and its files: modes whatever the umask, atomic replacement, clean-up."""

from __future__ import annotations

import os
import shutil
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from injector import files
from injector.errors import ConfigError, InjectorError

NOBODY = 65534


@pytest.fixture(params=[0o000, 0o022, 0o077], ids=["umask000", "umask022", "umask077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    value: int = request.param
    previous = os.umask(value)
    try:
        yield value
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# the folder


def test_make_folder_new_path_is_0700(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "a" / "b" / "creds"
    made = files.make_folder(target)
    folder, created = made.path, made.created
    assert folder == target
    assert created is True
    assert folder.is_dir()
    assert _mode(folder) == 0o700


def test_make_folder_default_is_a_new_private_temporary_folder(umask: int) -> None:
    made = files.make_folder(None)
    folder, created = made.path, made.created
    try:
        assert created is True
        assert folder.is_dir()
        assert folder.is_absolute()
        assert _mode(folder) == 0o700
        assert list(folder.iterdir()) == []
        other = files.make_folder(None).path
        assert other != folder
        shutil.rmtree(other)
    finally:
        shutil.rmtree(folder)


def test_make_folder_relative_path_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    made = files.make_folder(Path("creds"))
    folder, created = made.path, made.created
    assert created is True
    assert folder == tmp_path / "creds"
    assert folder.is_absolute()


def test_make_folder_existing_private_folder_is_reused(tmp_path: Path) -> None:
    target = tmp_path / "creds"
    target.mkdir(mode=0o700)
    target.chmod(0o700)
    (target / "keep.txt").write_text("kept")
    made = files.make_folder(target)
    folder, created = made.path, made.created
    assert folder == target
    assert created is False
    assert (target / "keep.txt").read_text() == "kept"
    assert _mode(target) == 0o700


def test_check_folder_accepts_new_path_and_private_folder(tmp_path: Path) -> None:
    files.check_folder(tmp_path / "new")  # no error
    private = tmp_path / "private"
    private.mkdir()
    private.chmod(0o700)
    files.check_folder(private)  # no error
    assert not (tmp_path / "new").exists()


def test_check_folder_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ConfigError) as error:
        files.make_folder(target)
    assert [p.variable for p in error.value.problems] == ["--dir"]
    assert "not a folder" in str(error.value)


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o705, 0o770, 0o701, 0o710, 0o777])
def test_check_folder_refuses_loose_mode(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "shared"
    target.mkdir()
    target.chmod(mode)
    with pytest.raises(ConfigError) as error:
        files.make_folder(target)
    assert [p.variable for p in error.value.problems] == ["--dir"]
    assert f"{mode:04o}" in str(error.value)
    assert _mode(target) == mode  # left as it was


def test_check_folder_refuses_another_users_folder(tmp_path: Path) -> None:
    # The tests run as root, which can give a folder away for real.
    target = tmp_path / "theirs"
    target.mkdir()
    target.chmod(0o700)
    os.chown(target, NOBODY, NOBODY)
    assert target.stat().st_uid != os.geteuid()
    with pytest.raises(ConfigError) as error:
        files.check_folder(target, option="--dir")
    assert [p.variable for p in error.value.problems] == ["--dir"]
    assert "another user" in str(error.value)


def test_check_folder_names_the_option_it_is_given(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ConfigError) as error:
        files.check_folder(target, option="INJECTOR_DIR")
    assert [p.variable for p in error.value.problems] == ["INJECTOR_DIR"]


def test_make_folder_under_a_file_is_refused(tmp_path: Path) -> None:
    parent = tmp_path / "file"
    parent.write_text("x")
    with pytest.raises(InjectorError) as error:
        files.make_folder(parent / "creds")
    assert str(parent / "creds") in str(error.value)


# single files


def test_write_atomically_mode_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "aws.jwt"
    files.write_atomically(target, b"header.claims.signature")
    assert target.read_bytes() == b"header.claims.signature"
    assert _mode(target) == 0o600
    assert list(tmp_path.iterdir()) == [target]


def test_write_atomically_replaces_and_tightens(tmp_path: Path) -> None:
    target = tmp_path / "aws.jwt"
    target.write_bytes(b"old content that is longer than the new one")
    target.chmod(0o644)
    files.write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o600
    assert list(tmp_path.iterdir()) == [target]


def test_write_atomically_empty_and_binary(tmp_path: Path) -> None:
    target = tmp_path / "f"
    files.write_atomically(target, b"")
    assert target.read_bytes() == b""
    files.write_atomically(target, bytes(range(256)))
    assert target.read_bytes() == bytes(range(256))


def test_write_atomically_failure_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "aws.jwt"
    with pytest.raises(OSError):
        files.write_atomically(target, b"x")
    assert list(tmp_path.iterdir()) == []


def test_concurrent_reader_never_sees_partial_content(tmp_path: Path) -> None:
    target = tmp_path / "token.jwt"
    versions = [bytes([ord("A") + i % 26]) * (1000 + 7919 * i % 60000) for i in range(40)]
    files.write_atomically(target, versions[0])
    seen_bad: list[bytes] = []
    reads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal reads
        allowed = set(versions)
        while not stop.is_set() and reads < 1_000_000:
            data = target.read_bytes()
            reads += 1
            if data not in allowed:
                seen_bad.append(data[:40])

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(5):
            for data in versions if round_ % 2 == 0 else reversed(versions):
                files.write_atomically(target, data)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert reads > 0
    assert seen_bad == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["token.jwt"]


# several files


def test_folder_write_all_writes_every_file(tmp_path: Path, umask: int) -> None:
    with files.make_folder(tmp_path / "creds") as folder:
        wanted = {
            folder.path / "a.jwt": b"a",
            folder.path / "b.json": b'{"b": 1}',
            folder.path / "c": b"",
        }
        folder.write_all(wanted)
    for path, data in wanted.items():
        assert path.read_bytes() == data
        assert _mode(path) == 0o600
    assert sorted(folder.path.iterdir()) == sorted(wanted)


# through the checked folder's descriptor


def test_writes_land_in_the_folder_checked_even_once_its_name_points_elsewhere(
    tmp_path: Path,
) -> None:
    """What `Folder` writes and removes goes through the fd opened when it was checked: a
    folder swapped in under its name afterwards gets nothing, and loses nothing."""
    with files.make_folder(tmp_path / "creds") as folder:
        (tmp_path / "creds").rename(tmp_path / "checked")
        (tmp_path / "creds").mkdir(mode=0o700)
        (tmp_path / "creds" / "b.jwt").write_bytes(b"not ours")
        folder.write_all({folder.path / "a.jwt": b"a", folder.path / "b.jwt": b"b"})
        folder.create(folder.path / "key.pem", b"k", 0o600)
        folder.unlink([folder.path / "b.jwt"])
    assert sorted(p.name for p in (tmp_path / "checked").iterdir()) == ["a.jwt", "key.pem"]
    assert (tmp_path / "checked" / "a.jwt").read_bytes() == b"a"
    assert [p.name for p in (tmp_path / "creds").iterdir()] == ["b.jwt"]
    assert (tmp_path / "creds" / "b.jwt").read_bytes() == b"not ours"


def test_folder_create_refuses_an_existing_file_or_link(tmp_path: Path, umask: int) -> None:
    with files.make_folder(tmp_path / "keys") as folder:
        folder.create(folder.path / "public.pem", b"p", 0o644)
        assert _mode(folder.path / "public.pem") == 0o644
        (folder.path / "link").symlink_to(tmp_path / "elsewhere")
        for name in ("public.pem", "link"):
            with pytest.raises(FileExistsError):
                folder.create(folder.path / name, b"x", 0o600)
    assert (folder.path / "public.pem").read_bytes() == b"p"
    assert not (tmp_path / "elsewhere").exists()


def test_folder_write_all_failure_leaves_none_and_names_the_file(tmp_path: Path) -> None:
    with files.make_folder(tmp_path / "creds") as folder:
        (folder.path / "b.jwt").mkdir()  # rename cannot replace a folder: a real failure
        with pytest.raises(InjectorError) as error:
            folder.write_all({folder.path / "a.jwt": b"a", folder.path / "b.jwt": b"b"})
    assert str(folder.path / "b.jwt") in str(error.value)
    assert [p.name for p in folder.path.iterdir()] == ["b.jwt"]


def test_the_lock_is_dropped_by_unlock_and_a_second_holder_is_refused(tmp_path: Path) -> None:
    first = files.make_folder(tmp_path / "creds", lock=True)
    with pytest.raises(ConfigError, match="in use by another injector process"):
        files.make_folder(tmp_path / "creds", lock=True)
    first.unlock()
    with files.make_folder(tmp_path / "creds", lock=True):
        pass
    first.release()
