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

Paths are resolved here one component at a time, each opened without following a link
(``O_PATH | O_NOFOLLOW``), and every decision is made on what was opened: a link swapped
between a check and an open (a decoy, then ``/etc/shadow``) changes nothing.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from ._render.renamed import RENAMED
from ._transcript.limits import MAX_PROGRAM_BYTES

__all__ = ["FileRefused", "SiteFolder", "open_path", "read_program", "write_file"]

_MAX_LINKS = 40  # as the kernel's own path resolution
_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


class FileRefused(ValueError):
    """A file or folder sqlecho will not read or write; the message says why, in one line."""


class _Resolver:
    """Resolves one path as the kernel would, refusing a link whose target belongs to a user
    other than the link's owner (the rule of ``fs.protected_symlinks``, applied everywhere)."""

    def __init__(self, shown: Path) -> None:
        self.shown = shown
        self.links = 0

    def open(self, start: int, path: str, create: bool = False) -> int:
        """An ``O_PATH`` descriptor of ``path`` resolved from the folder open at ``start``
        (absolute paths from ``/``); links on the way are followed, each checked. ``create``:
        make missing folders (never at the target of a link)."""
        here = os.open("/", _PATH) if path.startswith("/") else os.dup(start)
        try:
            for part in (part for part in path.split("/") if part and part != "."):
                found = self._step(here, part, create)
                os.close(here)
                here = found
        except BaseException:
            os.close(here)
            raise
        return here

    def _step(self, here: int, part: str, create: bool) -> int:
        """``part`` of the folder open at ``here``, a link followed and checked."""
        try:
            entry = os.open(part, _PATH, dir_fd=here)
        except FileNotFoundError:
            if not create:
                raise
            os.mkdir(part, 0o755, dir_fd=here)
            entry = os.open(part, _PATH, dir_fd=here)
        try:
            link = os.fstat(entry)
            if not stat.S_ISLNK(link.st_mode):
                found, entry = entry, -1
                return found
            self.links += 1
            if self.links > _MAX_LINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
            target = self.open(here, os.readlink("", dir_fd=entry))
            owner = os.fstat(target).st_uid
            if owner != link.st_uid:
                os.close(target)
                raise FileRefused(
                    f"{self.shown}: the symbolic link {part!r} (of user {link.st_uid}) points at "
                    f"a file of another user ({owner}); not followed"
                )
            return target
        finally:
            if entry >= 0:
                os.close(entry)


def open_path(path: Path, *, create: bool = False) -> int:
    """An ``O_PATH`` descriptor of ``path``, resolved without trusting another user's links.

    Args:
        path: what to open (relative to the working folder, or absolute).
        create: make missing folders on the way (mode 755), ``path`` itself included.

    Raises:
        FileRefused: a link on the way points at another user's file.
        OSError: as ``open`` would (no such file, a loop of links...).
    """
    cwd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return _Resolver(path).open(cwd, os.fspath(path), create)
    finally:
        os.close(cwd)


def _reopen(fd: int, flags: int) -> int:
    """Open for real the very file that the ``O_PATH`` descriptor ``fd`` is."""
    return os.open(f"/proc/self/fd/{fd}", flags | os.O_CLOEXEC)


def _renamed_to(path: Path) -> str:
    """`` (this lesson is now lessons/08_...py)`` when ``path`` is a lesson's old name and the
    file of its new name is there; else nothing."""
    new = RENAMED.get(path.stem)
    if new is None or path.suffix != ".py" or not path.with_name(new + ".py").is_file():
        return ""
    return f" (this lesson is now {path.with_name(new + '.py')})"


def read_program(path: Path) -> str:
    """The program text of ``path``; :class:`FileRefused` says in one line why there is none."""
    try:
        found = open_path(path)
    except FileNotFoundError:
        raise FileRefused(f"no such file: {path}{_renamed_to(path)}") from None
    except OSError as exc:
        raise FileRefused(f"cannot read {path}: {exc.strerror}") from None
    try:
        mode = os.fstat(found).st_mode
        if stat.S_ISDIR(mode):
            raise FileRefused(f"{path} is a folder, not a Python file")
        if not stat.S_ISREG(mode):
            raise FileRefused(f"{path} is not a regular file (a pipe, a socket or a device is not read)")
        try:
            fd = _reopen(found, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as exc:
            raise FileRefused(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(found)
    try:
        if os.fstat(fd).st_size > MAX_PROGRAM_BYTES:
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


def _open_folder(path: Path, create: bool, doing: str) -> int:
    """A real (not ``O_PATH``) descriptor of the folder ``path``, resolved by :func:`open_path`;
    ``doing``: what could not be done, for the message."""
    try:
        found = open_path(path, create=create)
    except (FileExistsError, NotADirectoryError):
        raise FileRefused(f"{path} is a file, not a folder") from None
    except OSError as exc:
        raise FileRefused(f"cannot {doing}: {exc.strerror}") from None
    try:
        if not stat.S_ISDIR(os.fstat(found).st_mode):
            raise FileRefused(f"{path} is a file, not a folder")
        return _reopen(found, os.O_RDONLY | os.O_DIRECTORY)
    finally:
        os.close(found)


class SiteFolder:
    """The folder a site is written into, held open: created here (with its parents) or else
    belonging to the invoker; every file written into it is new and renamed into place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = _open_folder(path, True, f"make the folder {path}")
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
    fd = _open_folder(path.parent, False, f"write {path}")
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
