"""A seccomp filter for the traced program: the system calls that break out of a sandbox fail.

The worker installs it on itself (``prctl(PR_SET_SECCOMP)``) before any program code runs,
inside bubblewrap and in the limits-only fallback alike; it is inherited by every process and
thread the program starts and cannot be removed. Denied calls fail with ``EPERM`` (Python raises
``PermissionError``), so the program gets an ordinary error on the step that tried, never a
crash. The one exception is ``clone3``, which fails with ``ENOSYS``: its flags live in memory a
filter cannot read, and ``ENOSYS`` makes the C library fall back to ``clone``, whose flags it can.

Denied, and why:

- mounting and file-system handles (``mount``, ``umount2``, the new mount API, ``pivot_root``,
  ``chroot``, ``open_by_handle_at``, ``name_to_handle_at``): the classic ways out of a mount
  namespace;
- new namespaces (``unshare``, ``setns``, ``clone`` with any ``CLONE_NEW*`` flag): a user
  namespace gives back every capability inside it, and with them the kernel's larger surface;
- reading or steering other processes (``ptrace``, ``process_vm_readv``/``writev``);
- kernel surface a program never needs (``bpf``, ``perf_event_open``, ``userfaultfd``,
  ``io_uring_*``, keyrings, modules, ``kexec``, swap, ``reboot``, ``acct``, ``quotactl``);
- memory that an address-space limit does not see: SysV shared memory (``shmget``, ``shmat``)
  and anonymous files (``memfd_create``, ``memfd_secret``).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import platform
import struct

__all__ = ["DENIED", "filter_program", "install"]

# struct sock_filter opcodes (linux/bpf_common.h) and seccomp return values (linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
# Offsets in struct seccomp_data: nr, arch, instruction pointer, args[6] (64-bit each).
_NR, _ARCH, _ARG0_LOW = 0, 4, 16  # the low half of args[0] on a little-endian machine
_X32_BIT = 0x40000000
_CLONE_NEW = (
    0x00000080  # CLONE_NEWTIME
    | 0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)

# Calls that got the same number on every architecture (the "generic" table, Linux 5.1+).
_COMMON = {
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
    "memfd_secret": 447,
}
# name -> number, per architecture: (AUDIT_ARCH_*, numbers, clone, clone3).
_TABLES: dict[str, tuple[int, dict[str, int], int, int]] = {
    "x86_64": (
        0xC000003E,
        {
            "mount": 165,
            "umount2": 166,
            "pivot_root": 155,
            "chroot": 161,
            "open_by_handle_at": 304,
            "name_to_handle_at": 303,
            "unshare": 272,
            "setns": 308,
            "ptrace": 101,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "bpf": 321,
            "perf_event_open": 298,
            "userfaultfd": 323,
            "add_key": 248,
            "request_key": 249,
            "keyctl": 250,
            "init_module": 175,
            "finit_module": 313,
            "delete_module": 176,
            "kexec_load": 246,
            "kexec_file_load": 320,
            "swapon": 167,
            "swapoff": 168,
            "reboot": 169,
            "acct": 163,
            "quotactl": 179,
            "shmget": 29,
            "shmat": 30,
            "memfd_create": 319,
            **_COMMON,
        },
        56,
        435,
    ),
    "aarch64": (
        0xC00000B7,
        {
            "mount": 40,
            "umount2": 39,
            "pivot_root": 41,
            "chroot": 51,
            "open_by_handle_at": 265,
            "name_to_handle_at": 264,
            "unshare": 97,
            "setns": 268,
            "ptrace": 117,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "bpf": 280,
            "perf_event_open": 241,
            "userfaultfd": 282,
            "add_key": 217,
            "request_key": 218,
            "keyctl": 219,
            "init_module": 105,
            "finit_module": 273,
            "delete_module": 106,
            "kexec_load": 104,
            "kexec_file_load": 294,
            "swapon": 224,
            "swapoff": 225,
            "reboot": 142,
            "acct": 89,
            "quotactl": 60,
            "shmget": 194,
            "shmat": 196,
            "memfd_create": 279,
            **_COMMON,
        },
        220,
        435,
    ),
}

DENIED: tuple[str, ...] = tuple(sorted(_TABLES["x86_64"][1]))
"""The system calls that fail with EPERM (plus ``clone`` with namespace flags, and ``clone3``)."""


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def filter_program(machine: str | None = None) -> bytes | None:
    """The filter as an array of ``struct sock_filter``; None where this architecture is unknown."""
    return _program_for(machine or platform.machine())


@functools.cache
def _program_for(machine: str) -> bytes | None:
    # Built once per architecture: the worker, sandbox_status() and the app page all ask.
    table = _TABLES.get(machine)
    if table is None:
        return None
    arch, numbers, clone, clone3 = table
    denied = sorted(set(numbers.values()))
    # Layout: [arch check][x32 check][one JEQ per denied call][clone][clone3][ALLOW][EPERM][ENOSYS][KILL]
    body: list[tuple[int, int, str | None, str | None]] = []  # (code, k, true target, false target)
    body.append((_LD_W_ABS, _ARCH, None, None))
    body.append((_JEQ_K, arch, None, "kill"))
    body.append((_LD_W_ABS, _NR, None, None))
    if arch == _TABLES["x86_64"][0]:
        body.append((_JGE_K, _X32_BIT, "eperm", None))  # the x32 ABI: same calls, other numbers
    body += [(_JEQ_K, number, "eperm", None) for number in denied]
    body.append((_JEQ_K, clone3, "enosys", None))
    body.append((_JEQ_K, clone, "clone", None))
    body.append((_RET_K, _RET_ALLOW, None, None))
    labels = {"clone": len(body)}
    body.append((_LD_W_ABS, _ARG0_LOW, None, None))
    body.append((_JSET_K, _CLONE_NEW, "eperm", None))
    body.append((_RET_K, _RET_ALLOW, None, None))
    labels["eperm"] = len(body)
    body.append((_RET_K, _RET_ERRNO | errno.EPERM, None, None))
    labels["enosys"] = len(body)
    body.append((_RET_K, _RET_ERRNO | errno.ENOSYS, None, None))
    labels["kill"] = len(body)
    body.append((_RET_K, _RET_KILL_PROCESS, None, None))
    program = b""
    for position, (code, k, true, false) in enumerate(body):
        jt = labels[true] - position - 1 if true else 0
        jf = labels[false] - position - 1 if false else 0
        assert 0 <= jt < 256 and 0 <= jf < 256, "a jump too far for classic BPF"
        program += _op(code, k, jt, jf)
    return program


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


def install() -> str | None:
    """Install the filter on this process (and all it starts later). None on success, else why not.

    ``no_new_privs`` is set first (the kernel requires it of a process without CAP_SYS_ADMIN,
    and it also keeps a set-user-id program from gaining anything).
    """
    program = filter_program()
    if program is None:
        return f"no seccomp filter for this architecture ({platform.machine()})"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"prctl(PR_SET_NO_NEW_PRIVS) failed: {errno.errorcode.get(ctypes.get_errno(), '?')}"
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        return f"prctl(PR_SET_SECCOMP) failed: {errno.errorcode.get(ctypes.get_errno(), '?')}"
    return None
