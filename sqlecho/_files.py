"""Files the command line reads and writes on behalf of whoever runs it, often root.

A grader runs ``check`` as root on students' repositories; a teacher runs ``export`` into a
shared folder. Whatever sits in those folders was put there by someone else, so:

- :func:`read_program` reads a program only from a regular file of bounded size
  (:data:`~sqlecho._transcript.limits.MAX_PROGRAM_BYTES`), never from a FIFO or a device, and
  never through a symbolic link whose target belongs to a user other than the link's owner (a
  student's ``prog.py -> /etc/shadow``);
- :class:`SiteFolder` writes only into a folder it creates or that belongs to the invoker, each
  file as a new temporary file (``O_CREAT | O_EXCL | O_NOFOLLOW``) renamed into place: a link
  planted where a page goes is replaced, never followed.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from ._transcript.limits import MAX_PROGRAM_BYTES

__all__ = ["FileRefused", "SiteFolder", "check_links", "read_program", "write_file"]


class FileRefused(ValueError):
    """A file or folder sqlecho will not read or write; the message says why, in one line."""


def check_links(path: Path) -> None:
    """Refuse ``path`` if a symbolic link on the way to it (any component) points at something
    that belongs to a user other than the link's owner (the rule the kernel's
    ``fs.protected_symlinks`` applies in sticky folders, applied everywhere)."""
    here = Path(os.path.abspath(path))
    for step in (*reversed(here.parents), here):
        try:
            link = os.lstat(step)
        except OSError:
            return  # missing from here on: nothing further to follow
        if not stat.S_ISLNK(link.st_mode):
            continue
        try:
            target = os.stat(step)
        except OSError:
            continue  # a dangling link: opening it fails by itself
        if target.st_uid != link.st_uid:
            raise FileRefused(
                f"{path}: the symbolic link {step} (of user {link.st_uid}) points at a file of "
                f"another user ({target.st_uid}); not followed"
            )


def read_program(path: Path) -> str:
    """The program text of ``path``; :class:`FileRefused` says in one line why there is none."""
    check_links(path)
    try:
        seen = os.stat(path)
    except FileNotFoundError:
        raise FileRefused(f"no such file: {path}") from None
    except OSError as exc:
        raise FileRefused(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISDIR(seen.st_mode):
        raise FileRefused(f"{path} is a folder, not a Python file")
    if not stat.S_ISREG(seen.st_mode):
        raise FileRefused(f"{path} is not a regular file (a pipe, a socket or a device is not read)")
    try:
        # Non-blocking: had a FIFO been swapped in since the check, the open does not wait.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise FileRefused(f"cannot read {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != (seen.st_dev, seen.st_ino) or not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{path} changed while it was being opened; not read")
        if info.st_size > MAX_PROGRAM_BYTES:
            raise FileRefused(_too_big(path))
        data = b""
        while len(data) <= MAX_PROGRAM_BYTES and (chunk := os.read(fd, 1 << 20)):
            data += chunk
    finally:
        os.close(fd)
    if len(data) > MAX_PROGRAM_BYTES:
        raise FileRefused(_too_big(path))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(f"{path} is not Python source (not UTF-8 text)") from None
    if "\x00" in text:
        raise FileRefused(f"{path} is not Python source (binary data)")
    if path.suffix not in (".py", ".pyw"):
        try:
            compile(text, str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            raise FileRefused(f"{path} is not Python source") from None
    return text


def _too_big(path: Path) -> str:
    return f"{path} is larger than a program may be ({MAX_PROGRAM_BYTES // 1024} KiB)"


class SiteFolder:
    """The folder a site is written into, held open: created here (with its parents) or else
    belonging to the invoker; every file written into it is new and renamed into place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        check_links(path)
        try:
            os.makedirs(path, mode=0o755, exist_ok=True)
        except FileExistsError:
            raise FileRefused(f"{path} is a file, not a folder") from None
        except OSError as exc:
            raise FileRefused(f"cannot make the folder {path}: {exc.strerror}") from None
        check_links(path)  # again: a link planted while the folders were being made
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except NotADirectoryError:
            raise FileRefused(f"{path} is a file, not a folder") from None
        except OSError as exc:
            raise FileRefused(f"cannot open the folder {path}: {exc.strerror}") from None
        owner = os.fstat(self.fd).st_uid
        if owner != os.geteuid():
            os.close(self.fd)
            raise FileRefused(
                f"{path} belongs to another user ({owner}); export writes only into a folder of "
                f"your own or one it makes"
            )

    def write(self, name: str, data: bytes) -> Path:
        """Write ``data`` as the file ``name`` in the folder (replacing one of that name, or a
        link, without following it); its path."""
        _write_in(self.fd, self.path, name, data)
        return self.path / name

    def close(self) -> None:
        os.close(self.fd)


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path`` through a new file renamed into place: a link planted at
    ``path`` is replaced, never followed (nor one on the way to another user's folder)."""
    check_links(path.parent)
    try:
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise FileRefused(f"cannot write {path}: {exc.strerror}") from None
    try:
        _write_in(fd, path.parent, path.name, data)
    finally:
        os.close(fd)


def _write_in(folder: int, where: Path, name: str, data: bytes) -> None:
    """Write ``data`` as ``name`` in the folder open at ``folder`` (``where``, for messages)."""
    temporary = f".{name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        out = os.open(temporary, flags, 0o644, dir_fd=folder)
    except OSError as exc:
        raise FileRefused(f"cannot write {where / name}: {exc.strerror}") from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(out, view) :]
        finally:
            os.close(out)
        os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except OSError as exc:
        try:
            os.unlink(temporary, dir_fd=folder)
        except OSError:
            pass
        raise FileRefused(f"cannot write {where / name}: {exc.strerror}") from None
