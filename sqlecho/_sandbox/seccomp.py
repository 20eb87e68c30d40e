"""A seccomp filter for the traced program: only the system calls it needs are allowed.

The worker installs it on itself (``prctl(PR_SET_SECCOMP)``) before any program code runs,
inside bubblewrap and in the limits-only fallback alike; it is inherited by every process and
thread the program starts and cannot be removed.

It is an allow list, built with libseccomp (Debian's ``libseccomp2``, the library Docker and
nsjail use), which knows every architecture's numbers by name. What a Python program with
SQLite, asyncio, threads and sockets to a local database needs is ``ALLOWED`` (Docker's
default profile was the anchor, minus what a lesson never needs). Everything else fails:

- the calls that break out of a sandbox (``DENIED``: mounting, file-system handles, new
  namespaces, tracing other processes, ``bpf``, ``io_uring``, keyrings, modules, SysV shared
  memory, anonymous files...) fail with ``EPERM`` (Python raises ``PermissionError``), as do
  ``clone`` calls that ask for a new namespace;
- any other call, including one a newer kernel adds after this list was written, fails with
  ``ENOSYS`` ("not implemented"), the answer the C library expects from an older kernel, so it
  falls back to an older call where there is one (``clone3`` becomes ``clone``, whose flags a
  filter can read);
- ``socket`` opens only ``AF_UNIX``, ``AF_INET`` and ``AF_INET6`` sockets, ``socketpair`` only
  ``AF_UNIX`` ones; any other family (``AF_VSOCK``, which no namespace confines,
  ``AF_PACKET``, ``AF_ALG``, ``AF_NETLINK``...) fails with ``EAFNOSUPPORT``. The C library's
  name lookup asks netlink which address families the machine has and does without the
  answer when it cannot ask.

A call from another architecture's table (32-bit or x32 code on x86_64) kills the process.
The program the kernel gets is built once per architecture and process, and kept.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
from collections.abc import Sequence

__all__ = [
    "ALLOWED",
    "DENIED",
    "LIBRARY",
    "SOCKET_FAMILIES",
    "FilterUnavailable",
    "filter_program",
    "has_filter",
    "install",
    "load_libseccomp",
]

ALLOWED: tuple[str, ...] = (
    # Files and folders.
    "access", "chdir", "chmod", "chown", "close", "close_range", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir",
    "fchmod", "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "flock",
    "fstat", "fstatfs", "fsync", "ftruncate", "getcwd", "getdents", "getdents64", "getxattr",
    "fgetxattr", "lgetxattr", "listxattr", "flistxattr", "llistxattr", "lchown", "link",
    "linkat", "lseek", "lstat", "mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "open",
    "openat", "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2",
    "read", "readahead", "readlink", "readlinkat", "readv", "rename", "renameat", "renameat2",
    "rmdir", "sendfile", "splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "tee", "truncate", "umask", "unlink", "unlinkat", "utime",
    "utimensat", "utimes", "futimesat", "vmsplice", "write", "writev", "ioctl",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
    # Memory.
    "brk", "madvise", "membarrier", "mincore", "mlock", "mlock2", "mlockall", "mmap", "mprotect",
    "mremap", "msync", "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "mseal", "map_shadow_stack",
    # Processes, threads, signals, the program's own ids and limits.
    "arch_prctl", "capget", "capset", "clone", "execve", "execveat", "exit", "exit_group",
    "fork", "vfork", "futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue",
    "get_robust_list", "set_robust_list", "set_tid_address", "get_thread_area",
    "set_thread_area", "getcpu", "getegid", "geteuid", "getgid", "getgroups", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "getresgid", "getresuid", "getrlimit",
    "getrusage", "getsid", "gettid", "getuid", "ioprio_get", "ioprio_set", "kill", "tgkill",
    "tkill", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64",
    "restart_syscall", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
    "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
    "setfsgid", "setfsuid", "setgid", "setgroups", "setpgid", "setpriority", "setregid",
    "setresgid", "setresuid", "setreuid", "setrlimit", "setsid", "setuid", "sigaltstack",
    "signalfd", "signalfd4", "sysinfo", "times", "uname", "wait4", "waitid", "uretprobe",
    # Time.
    "alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "getitimer", "gettimeofday",
    "nanosleep", "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime",
    # Waiting for many things at once (asyncio, threads).
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "eventfd", "eventfd2", "pause", "pipe", "pipe2", "poll", "ppoll", "pselect6", "select",
    # Sockets (``socket`` and ``socketpair`` are allowed for some families only: see _FAMILY_RULES).
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
    "listen", "recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt",
    "shutdown",
    # Randomness.
    "getrandom",
)  # fmt: skip
"""The system calls a traced program may make, by name (a name this machine's kernel or
libseccomp does not know is left out)."""

DENIED: tuple[str, ...] = (
    # Mounting and file-system handles: the classic ways out of a mount namespace.
    "mount", "umount2", "pivot_root", "chroot", "open_by_handle_at", "name_to_handle_at",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # New namespaces: a user namespace gives back every capability inside it.
    "unshare", "setns",
    # Reading or steering other processes.
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    # Kernel surface a program never needs.
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "add_key", "request_key", "keyctl", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "swapon", "swapoff", "reboot", "acct",
    "quotactl",
    # Memory that an address-space limit does not see.
    "shmget", "shmat", "memfd_create", "memfd_secret",
)  # fmt: skip
"""Calls refused with EPERM by name (any other call outside ``ALLOWED`` gets ENOSYS)."""

SOCKET_FAMILIES: dict[str, int] = {"AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10}
"""The socket families a program may open (Linux numbers, the same on every architecture)."""

# A clone() with any of these flags makes a new namespace (linux/sched.h).
_CLONE_NEW = {
    "CLONE_NEWTIME": 0x00000080,
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
# AUDIT_ARCH_* (linux/audit.h), which libseccomp takes as its architecture tokens.
_ARCHES = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

# libseccomp's constants (seccomp.h).
_ACT_KILL_PROCESS = 0x80000000
_ACT_ALLOW = 0x7FFF0000
_FLTATR_ACT_BADARCH = 2
_FLTATR_CTL_OPTIMIZE = 8  # 2: a binary tree of the allowed numbers (fewer jumps per call)
_CMP_LT, _CMP_EQ, _CMP_GT, _CMP_MASKED_EQ = 2, 4, 6, 7
_NR_SCMP_ERROR = -1


def _act_errno(number: int) -> int:
    return 0x00050000 | (number & 0xFFFF)


class FilterUnavailable(Exception):
    """The filter cannot be built here (libseccomp is missing or refused a rule)."""


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


LIBRARY = "libseccomp.so.2"
"""The shared library the filter is built with (Debian's and Ubuntu's ``libseccomp2``)."""


@functools.cache
def load_libseccomp(name: str = LIBRARY) -> ctypes.CDLL:
    """libseccomp, its functions typed for ctypes.

    Raises:
        FilterUnavailable: it is not installed (the message says how to install it).
    """
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        raise FilterUnavailable(
            "libseccomp is not installed (on Debian and Ubuntu: apt-get install libseccomp2)"
        ) from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_arch_remove.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_arch_native.restype = ctypes.c_uint32
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


# (name, action, comparisons on the arguments): the rules beyond the plain allow list.
_Rule = tuple[str, int, Sequence[tuple[int, int, int, int]]]


def _family_rules() -> list[_Rule]:
    """socket(): the allowed families; every other value of the first argument gets
    EAFNOSUPPORT (libseccomp compares all 64 bits: a family with high bits set is refused)."""
    refused = _act_errno(errno.EAFNOSUPPORT)
    allowed = sorted(SOCKET_FAMILIES.values())
    rules: list[_Rule] = [("socket", _ACT_ALLOW, [(0, _CMP_EQ, family, 0)]) for family in allowed]
    gaps = [value for value in range(allowed[-1]) if value not in allowed]
    rules += [("socket", refused, [(0, _CMP_EQ, value, 0)]) for value in gaps]
    rules.append(("socket", refused, [(0, _CMP_GT, allowed[-1], 0)]))
    unix = SOCKET_FAMILIES["AF_UNIX"]
    rules.append(("socketpair", _ACT_ALLOW, [(0, _CMP_EQ, unix, 0)]))
    rules.append(("socketpair", refused, [(0, _CMP_LT, unix, 0)]))
    rules.append(("socketpair", refused, [(0, _CMP_GT, unix, 0)]))
    return rules


def _clone_rules() -> list[_Rule]:
    """clone(): allowed without namespace flags (the flags are its first argument on x86_64 and
    aarch64), refused with EPERM with any of them. clone3 is left to the default (ENOSYS)."""
    every = sum(_CLONE_NEW.values())
    rules: list[_Rule] = [("clone", _ACT_ALLOW, [(0, _CMP_MASKED_EQ, every, 0)])]
    rules += [
        ("clone", _act_errno(errno.EPERM), [(0, _CMP_MASKED_EQ, bit, bit)]) for bit in _CLONE_NEW.values()
    ]
    return rules


def has_filter(machine: str | None = None) -> bool:
    """Whether there is a filter for this architecture (x86_64 and aarch64)."""
    return (machine or platform.machine()) in _ARCHES


def filter_program(machine: str | None = None) -> bytes | None:
    """The filter as an array of ``struct sock_filter``; None where this architecture is unknown.

    Raises:
        FilterUnavailable: libseccomp is missing, or could not build the filter.
    """
    return _program_for(machine or platform.machine())


@functools.cache
def _program_for(machine: str) -> bytes | None:
    # Built once per architecture and process: the worker, sandbox_status() and the app page ask.
    arch = _ARCHES.get(machine)
    if arch is None:
        return None
    lib = load_libseccomp()
    context = lib.seccomp_init(_act_errno(errno.ENOSYS))
    if not context:
        raise FilterUnavailable("libseccomp could not start a filter")
    try:
        native = lib.seccomp_arch_native()
        if native != arch:  # a new filter has the native architecture only
            _check(lib.seccomp_arch_add(context, arch), f"add the architecture {machine}")
            _check(lib.seccomp_arch_remove(context, native), "remove the native architecture")
        _check(
            lib.seccomp_attr_set(context, _FLTATR_ACT_BADARCH, _ACT_KILL_PROCESS), "set its bad-arch action"
        )
        lib.seccomp_attr_set(context, _FLTATR_CTL_OPTIMIZE, 2)  # libseccomp < 2.5: a linear list
        rules: list[_Rule] = [(name, _ACT_ALLOW, ()) for name in ALLOWED if name != "clone"]
        rules += [(name, _act_errno(errno.EPERM), ()) for name in DENIED]
        rules += _clone_rules() + _family_rules()
        for name, action, comparisons in rules:
            if lib.seccomp_syscall_resolve_name_arch(arch, name.encode()) < 0:
                continue  # unknown to this libseccomp, or not a call on this architecture
            # The rule takes the native number; libseccomp translates it for the filter's arch.
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number == _NR_SCMP_ERROR:
                continue
            array = (_ArgCmp * max(1, len(comparisons)))(*(_ArgCmp(*c) for c in comparisons))
            _check(
                lib.seccomp_rule_add_array(context, action, number, len(comparisons), array),
                f"add a rule for {name}",
            )
        # A pipe holds it whole: the kernel takes at most 4096 instructions (32 KiB).
        read_end, write_end = os.pipe()
        try:
            _check(lib.seccomp_export_bpf(context, write_end), "export the filter")
            os.close(write_end)
            write_end = -1
            program = b"".join(iter(lambda: os.read(read_end, 1 << 16), b""))
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
    finally:
        lib.seccomp_release(context)
    if not program or len(program) % 8:
        raise FilterUnavailable("libseccomp exported no filter")
    return program


def _check(result: int, doing: str) -> None:
    if result < 0:
        raise FilterUnavailable(f"libseccomp could not {doing}: {os.strerror(-result)}")


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
    try:
        program = filter_program()
    except FilterUnavailable as exc:
        return str(exc)
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
