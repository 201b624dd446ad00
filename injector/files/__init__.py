"""Folders and files, safe against a hostile neighbour: one private (or public) folder walk
(`folders`) that ends holding the folder it checked (`held`, which writes through that folder's
descriptor), and one reader and atomic writer (`content`), used by every command."""

from injector.files.content import (
    FILE_MODE,
    MAX_READ_BYTES,
    read_file,
    write_atomically,
)
from injector.files.folders import (
    FOLDER_MODE,
    PUBLIC_FOLDER_MODE,
    check_file_path,
    check_folder,
    make_folder,
    real_path,
)
from injector.files.held import Folder, FolderReleased

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "MAX_READ_BYTES",
    "PUBLIC_FOLDER_MODE",
    "Folder",
    "FolderReleased",
    "check_file_path",
    "check_folder",
    "make_folder",
    "read_file",
    "real_path",
    "write_atomically",
]
