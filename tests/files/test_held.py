"""The held folder (files/held.py) once its job has let it go: every write is refused, and
nothing is written, neither in the folder nor at its path."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import pytest

from injector import files
from injector.errors import InjectorError
from tests.support.jobs import SWAPS, swap_away


def test_a_path_elsewhere_is_a_callers_mistake(tmp_path: Path) -> None:
    with (
        files.make_folder(tmp_path / "creds") as folder,
        pytest.raises(ValueError, match="not a file of the held folder"),
    ):
        folder.write(tmp_path / "other.jwt", b"x")
    assert not (tmp_path / "other.jwt").exists()


def test_every_write_after_release_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    folder = files.make_folder(tmp_path / "creds", lock=True)
    folder.unlock()
    folder.write(folder.path / "a.jwt", b"a")  # unlocked, still open
    folder.release()
    folder.release()  # idempotent
    attempts: dict[str, Callable[[], object]] = {
        "write": lambda: folder.write(folder.path / "a.jwt", b"late"),
        "create": lambda: folder.create(folder.path / "key.pem", b"late", 0o600),
        "unlink": lambda: folder.unlink([folder.path / "a.jwt"]),
    }
    for name, attempt in attempts.items():
        with pytest.raises(files.FolderReleased) as refused:
            attempt()
        assert refused.value.errno == errno.EBADF, name
        assert refused.value.strerror == "the job has ended and released its folder"
    with pytest.raises(InjectorError) as error:  # as any failed write of several files
        folder.write_all({folder.path / "b.jwt": b"late"})
    assert "released its folder" in str(error.value)
    assert str(folder.path / "b.jwt") in str(error.value)
    assert [p.name for p in folder.path.iterdir()] == ["a.jwt"]  # no temporary file either
    assert (folder.path / "a.jwt").read_bytes() == b"a"


def test_after_release_a_new_folder_at_the_path_gets_nothing(tmp_path: Path) -> None:
    """Refused, not retried by name: the path may now name a folder the job never checked."""
    folder = files.make_folder(tmp_path / "creds")
    folder.release()
    (tmp_path / "creds").rename(tmp_path / "checked")
    (tmp_path / "creds").mkdir(mode=0o700)
    with pytest.raises(files.FolderReleased):
        folder.write(folder.path / "a.jwt", b"late")
    assert list((tmp_path / "creds").iterdir()) == []
    assert list((tmp_path / "checked").iterdir()) == []


@pytest.mark.parametrize("how", SWAPS)
def test_the_end_of_a_job_empties_the_held_folder_and_spares_what_is_at_its_path(
    tmp_path: Path, how: str
) -> None:
    folder = files.make_folder(tmp_path / "creds", lock=True)
    folder.write_all({folder.path / "aws.jwt": b"token", folder.path / "gcp.json": b"{}"})
    held, elsewhere = swap_away(folder.path, how)
    (elsewhere / "theirs").write_text("kept")
    folder.remove_made()
    folder.release()
    assert sorted(p.name for p in held.iterdir()) == []  # the job's files went, wherever it is
    assert (elsewhere / "theirs").read_text() == "kept"  # and nothing of the neighbour's
    assert (tmp_path / "creds").exists()


def test_the_end_of_a_job_removes_the_folder_it_made(tmp_path: Path) -> None:
    folder = files.make_folder(tmp_path / "a" / "creds", lock=True)
    folder.write_all({folder.path / "aws.jwt": b"token"})
    (folder.path / "sub").mkdir()  # a folder in it too, should a cloud ever write one
    (folder.path / "sub" / "x").write_text("x")
    folder.remove_made()
    folder.release()
    assert not (tmp_path / "a").exists()


def _made_and_never_held(tmp_path: Path) -> files.Folder:
    """A folder this run made, with the parent it made on the way, whose check then failed:
    what folders.py leaves to `remove_made` before it ever holds the folder."""
    parent = tmp_path / "a"
    path = parent / "creds"
    path.mkdir(mode=0o700, parents=True)
    return files.Folder(path, (parent, path))


def test_a_never_held_folder_it_made_goes_while_empty(tmp_path: Path) -> None:
    _made_and_never_held(tmp_path).remove_made()
    assert list(tmp_path.iterdir()) == []


def test_a_never_held_folder_someone_filled_is_left_with_all_it_holds(tmp_path: Path) -> None:
    folder = _made_and_never_held(tmp_path)
    (folder.path / "theirs").write_text("kept")
    (folder.path / "sub").mkdir()
    (folder.path / "sub" / "theirs").write_text("kept")
    folder.remove_made()
    assert (folder.path / "theirs").read_text() == "kept"
    assert (folder.path / "sub" / "theirs").read_text() == "kept"


@pytest.mark.parametrize("how", SWAPS)
def test_a_never_held_folder_swapped_for_another_leaves_the_other_whole(
    tmp_path: Path, how: str
) -> None:
    folder = _made_and_never_held(tmp_path)
    _, elsewhere = swap_away(folder.path, how)
    (elsewhere / "theirs").write_text("kept")
    folder.remove_made()
    assert (elsewhere / "theirs").read_text() == "kept"
    assert folder.path.is_symlink() == (how == "symlink")
