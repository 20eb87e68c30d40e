"""The worker's supervisor: holds the server's channel, forwards what the tracer says, reports
how the program's process ended.

Run by path with ``python -S -I`` (no site, no sqlecho import: it starts in a few milliseconds
and shares no memory with the worker it watches)::

    python -S -I _supervisor.py RESULT_FD SOURCE_FD CHILD_PID

It is the parent of the worker process that runs the program (the worker forked, and this side
replaced itself with this small program), already a user other than the program's, with the
seccomp filter inherited. The program never holds RESULT_FD: it writes to SOURCE_FD, and only
lines that begin like a tracer's message are forwarded; "exit" is this process's alone. When
the worker has ended, ``{"exit": STATUS}`` follows (``os.waitstatus_to_exitcode``: negative
for a signal), exact where bubblewrap would report 128 + N.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import selectors
import sys
from pathlib import Path


def _protocol() -> tuple[bytes, ...]:
    """``protocol.FORWARDED``, loaded by path: this program imports no package."""
    spec = importlib.util.spec_from_file_location("sqlecho_protocol", Path(__file__).with_name("protocol.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.FORWARDED)


FORWARDED = _protocol()
_LONGEST = max(len(prefix) for prefix in FORWARDED)
_PR_SET_DUMPABLE = 4


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Relay:
    """Forwards allowed lines from the worker, streaming long ones instead of holding them."""

    def __init__(self, out: int) -> None:
        self.out = out
        self.head = b""  # the start of the current line, until its kind is known
        self.forwarding: bool | None = None  # None: not known yet for the current line

    def feed(self, data: bytes) -> None:
        while data:
            if self.forwarding is None:
                newline = data.find(b"\n")
                piece = data if newline < 0 else data[: newline + 1]
                self.head += piece
                data = data[len(piece) :]
                if newline < 0 and len(self.head) < _LONGEST:
                    return
                self.forwarding = self.head.startswith(FORWARDED)
                if self.forwarding:
                    _write(self.out, self.head)
                if self.head.endswith(b"\n"):
                    self.forwarding = None
                self.head = b""
                continue
            newline = data.find(b"\n")
            piece = data if newline < 0 else data[: newline + 1]
            data = data[len(piece) :]
            if self.forwarding:
                _write(self.out, piece)
            if newline >= 0:
                self.forwarding = None


def main(argv: list[str]) -> int:
    out, source, child = (int(value) for value in argv[1:4])
    # Keep other processes of this user out of /proc/<pid> (and its file descriptors).
    ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    relay = Relay(out)
    ended = os.pidfd_open(child)
    os.set_blocking(source, False)
    with selectors.DefaultSelector() as selector:
        selector.register(source, selectors.EVENT_READ)
        selector.register(ended, selectors.EVENT_READ)
        reading = True
        while reading:
            finished = any(key.fd == ended for key, _mask in selector.select())
            # Once the worker is gone, read what it left and stop: a grandchild may hold the pipe.
            while True:
                try:
                    data = os.read(source, 1 << 16)
                except BlockingIOError:
                    break
                if not data:
                    reading = False
                    break
                relay.feed(data)
            reading = reading and not finished
    _, status = os.waitpid(child, 0)
    _write(out, b'{"exit":%d}\n' % os.waitstatus_to_exitcode(status))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError:
        sys.exit(86)  # the server's end of the channel is gone: nothing left to tell
