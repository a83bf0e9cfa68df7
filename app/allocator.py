"""The process's memory allocator: freed memory is kept for the next request, not handed back.

glibc's malloc returns large freed blocks to the kernel at once (and maps blocks above a few MB
on their own, unmapping them when freed), so every training run of a large network faults its
buffers in afresh: tens of MB zeroed by the kernel page by page, a large share of a short run's
time on a virtual machine. Keeping up to :data:`KEEP_FREED` of freed memory per allocator arena lets
the next run reuse it. The peak memory of a request does not change; an idle process may hold
that much more.
"""

import ctypes

MiB = 1024 * 1024
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
KEEP_FREED = 64 * MiB
"""Free memory at the top of an arena that is kept rather than returned to the kernel."""
OWN_MAPPING = 32 * MiB
"""Blocks from this size up get a mapping of their own (glibc's largest allowed threshold)."""


def keep_freed_memory() -> bool:
    """Set glibc's thresholds; False where the C library has no ``mallopt`` (not glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, OWN_MAPPING)) and bool(
        mallopt(M_TRIM_THRESHOLD, KEEP_FREED)
    )
