"""Class 1: the folders injector writes into, against a second local user (uid 65534).

Each test plants what a neighbour could (a link, a folder of theirs, a folder they can rename)
and shows injector refuses with exit 2, writes nothing there, and leaves the neighbour nothing
to read; the controls show a safe path still works and the exports name the real path.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.conftest import KeyFiles, run_injector
from tests.hostile.neighbour import NOBODY, as_nobody, files_nobody_can_read, shared

__all__ = ["shared"]  # the fixture, imported for pytest


def _plant_link(link: Path, target: Path) -> None:
    as_nobody("import os, sys; os.symlink(sys.argv[1], sys.argv[2])", str(target), str(link))
    assert link.is_symlink() and link.lstat().st_uid == NOBODY


def _their_folder(path: Path, mode: int = 0o777) -> None:
    as_nobody(f"import os, sys; os.mkdir(sys.argv[1]); os.chmod(sys.argv[1], {mode:#o})", str(path))
    assert path.stat().st_uid == NOBODY


def _private(path: Path) -> Path:
    path.mkdir()
    path.chmod(0o700)
    return path


def test_a_link_planted_in_a_shared_folder_is_refused(
    workspace: dict[str, str], shared: Path, tmp_path: Path
) -> None:
    """The issue's attack: the link points at a private folder of the victim, so `stat` saw a
    folder of theirs; the exports would name the link, which its owner can re-point."""
    mine = _private(tmp_path / "mine")
    _plant_link(shared / "creds", mine)
    result = run_injector("env", "--dir", str(shared / "creds"), env=workspace)
    assert result.returncode == 2, result.stderr
    assert f"--dir: {shared / 'creds'} is a symbolic link" in result.stderr
    assert result.stdout == ""
    assert list(mine.iterdir()) == []
    assert (shared / "creds").is_symlink()
    assert files_nobody_can_read(shared) == []


def test_a_folder_under_a_world_writable_folder_that_is_not_sticky_is_refused(
    workspace: dict[str, str], shared: Path
) -> None:
    open_folder = shared / "open"
    open_folder.mkdir()
    open_folder.chmod(0o777)  # root's, but anyone may rename what is in it
    result = run_injector("env", "--dir", str(open_folder / "creds"), env=workspace)
    assert result.returncode == 2, result.stderr
    assert f"{open_folder} is writable by others (mode 0777) and not sticky" in result.stderr
    assert list(open_folder.iterdir()) == []
    # Why: the neighbour can indeed rename a folder of root's away from there.
    _private(open_folder / "probe")
    as_nobody(
        "import os, sys; os.rename(sys.argv[1] + '/probe', sys.argv[1] + '/gone')", str(open_folder)
    )
    assert sorted(p.name for p in open_folder.iterdir()) == ["gone"]


def test_a_neighbours_folder_on_the_way_is_refused(workspace: dict[str, str], shared: Path) -> None:
    _their_folder(shared / "theirs", 0o755)
    result = run_injector("env", "--dir", str(shared / "theirs" / "creds"), env=workspace)
    assert result.returncode == 2, result.stderr
    assert f"{shared / 'theirs'} in it belongs to another user (uid {NOBODY})" in result.stderr
    assert list((shared / "theirs").iterdir()) == []


def test_a_neighbours_folder_as_the_target_is_refused(
    workspace: dict[str, str], shared: Path
) -> None:
    _their_folder(shared / "creds", 0o700)
    result = run_injector("env", "--dir", str(shared / "creds"), env=workspace)
    assert result.returncode == 2
    assert "belongs to another user" in result.stderr


def test_a_folder_of_ones_own_in_a_sticky_folder_works_and_nobody_can_read_it(
    workspace: dict[str, str], shared: Path
) -> None:
    for folder in (shared / "new", _private(shared / "mine")):
        result = run_injector("env", "--dir", str(folder), "--format", "json", env=workspace)
        assert result.returncode == 0, result.stderr
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert (folder / "aws.jwt").is_file()
    assert files_nobody_can_read(shared) == []


def test_the_exports_name_the_real_path_not_a_link_on_the_way(
    workspace: dict[str, str], tmp_path: Path
) -> None:
    real = _private(tmp_path / "real")
    (tmp_path / "alias").symlink_to(real)
    result = run_injector(
        "env", "--dir", str(tmp_path / "alias" / "creds"), "--format", "json", env=workspace
    )
    assert result.returncode == 0, result.stderr
    exports = json.loads(result.stdout)
    assert exports["AWS_WEB_IDENTITY_TOKEN_FILE"] == str(real / "creds" / "aws.jwt")
    assert exports["GOOGLE_APPLICATION_CREDENTIALS"] == str(real / "creds" / "gcp-credentials.json")


def test_the_default_folder_under_an_unsafe_tmpdir_is_refused(
    workspace: dict[str, str], shared: Path
) -> None:
    open_folder = shared / "tmp"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    result = run_injector("env", env={**workspace, "TMPDIR": str(open_folder)})
    assert result.returncode == 2, result.stderr
    assert "TMPDIR:" in result.stderr
    assert list(open_folder.iterdir()) == []


def test_the_hook_refuses_a_dot_terraform_that_is_a_link(
    workspace: dict[str, str], shared: Path, tmp_path: Path
) -> None:
    """A repository may commit `.terraform` as a link, to a folder its author controls."""
    working = tmp_path / "job"
    working.mkdir()
    _their_folder(shared / "tf", 0o777)
    (working / ".terraform").symlink_to(shared / "tf")
    result = run_injector("hook", env={**workspace, "workingDirectory": str(working)})
    assert result.returncode == 2, result.stderr
    assert f"workingDirectory: {working / '.terraform'} (on the way to" in result.stderr
    assert "is a symbolic link" in result.stderr
    assert list((shared / "tf").iterdir()) == []
    assert not (working / ".terrakube_temp_env").exists()
    assert files_nobody_can_read(shared) == []


def test_keygen_refuses_an_open_folder_and_a_link(tmp_path: Path, shared: Path) -> None:
    open_folder = tmp_path / "keys"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    result = run_injector("keygen", "--out", str(open_folder), env={})
    assert result.returncode == 2
    assert f"--out: {open_folder} is open to group or others (mode 0777)" in result.stderr
    assert list(open_folder.iterdir()) == []
    mine = _private(tmp_path / "mine")
    _plant_link(shared / "keys", mine)
    result = run_injector("keygen", "--out", str(shared / "keys"), env={})
    assert result.returncode == 2
    assert "is a symbolic link" in result.stderr
    assert list(mine.iterdir()) == []


def test_keygen_prints_the_real_paths(tmp_path: Path) -> None:
    real = _private(tmp_path / "real")
    (tmp_path / "alias").symlink_to(real)
    result = run_injector("keygen", "--out", str(tmp_path / "alias" / "k"), env={})
    assert result.returncode == 0, result.stderr
    assert f"DynamicCredentialPrivateKeyPath={real / 'k' / 'private.pem'}" in result.stdout


def test_publish_refuses_a_link_below_its_folder(
    tmp_path: Path, shared: Path, key_files: KeyFiles
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _their_folder(shared / "web", 0o777)
    (site / ".well-known").symlink_to(shared / "web")
    env = {
        "DynamicCredentialHostname": "issuer.example.com",
        "DynamicCredentialPublicKeyPath": str(key_files.public),
    }
    result = run_injector("publish", str(site), env=env)
    assert result.returncode == 1, result.stderr
    assert "cannot publish into" in result.stderr and "is a symbolic link" in result.stderr
    assert list((shared / "web").iterdir()) == []
    open_site = tmp_path / "open-site"
    open_site.mkdir()
    open_site.chmod(0o777)
    result = run_injector("publish", str(open_site), env=env)
    assert result.returncode == 1
    assert "not writable by group or others" in result.stderr
    assert list(open_site.iterdir()) == []
