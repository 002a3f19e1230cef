"""Files the kit's commands write (fixtures, reports): whole or not at all."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

#: A new file's mode before the umask, as `open(path, "w")` gives it (0644 under the usual umask 022).
_NEW_FILE_MODE = 0o666


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file beside it, synced, then renamed over it.

    A kill or a full disk at any moment leaves either the old file or the new one, never a part.
    Missing parent folders are created. A new file gets the user's umask (0644 typically, so a CI
    artifact step or a teammate can read it); a file written over keeps its mode.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _create_beside(path)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            if path.exists():
                os.fchmod(stream.fileno(), path.stat().st_mode & 0o7777)
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _create_beside(path: Path) -> tuple[int, Path]:
    # Not tempfile.mkstemp: it creates 0600 whatever the umask, and the file is renamed into place.
    while True:
        temporary = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _NEW_FILE_MODE), temporary
        except FileExistsError:
            continue


def check_writable(path: Path) -> str | None:
    """Why `path` cannot be written (a folder, a read-only place), or None when it can."""
    if path.is_dir():
        return f"{path} is a folder"
    folder = path.parent
    while not folder.exists():
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write in {folder}"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path} is read-only"
    return None
