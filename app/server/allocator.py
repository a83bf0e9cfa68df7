"""The process's memory allocator: freed memory is kept for the next request, in one arena, and
handed back to the kernel when the process falls idle.

glibc's malloc returns large freed blocks to the kernel at once (and maps blocks above a few MB
on their own, unmapping them when freed), so every training run of a large network faults its
buffers in afresh: tens of MB zeroed by the kernel page by page, a large share of a short run's
time on a virtual machine. Keeping up to :data:`KEEP_FREED` of freed memory at the top of the
arena lets the next run reuse it. The peak memory of a request does not change.

Every thread allocates from the one main arena. By default glibc gives each busy thread an arena
of its own (up to 8 per core), and the memory such an arena keeps is never handed back: its
64 MiB heaps are trimmed only past :data:`KEEP_FREED`, which they cannot reach, and
``malloc_trim`` trims the main arena's top only (measured: after 4 concurrent 45 MB /train
answers, 133 MB free but held in the worker threads' arenas, for good). The compute threads
allocate their arrays while they hold the GIL, so one arena makes them wait little (measured:
two rounds of those 4 requests took 5.5 s in one arena, 7.0 s in several). ``mallopt``'s limit
holds only for threads that first allocate after it, so ``python -m app.server`` also runs under
``MALLOC_ARENA_MAX=1``, which glibc reads before the first allocation. :func:`give_back_freed`
returns what the arena keeps, for a process that has fallen idle.
"""

import ctypes

MiB = 1024 * 1024
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
KEEP_FREED = 64 * MiB
"""Free memory at the top of the arena that is kept rather than returned to the kernel."""
OWN_MAPPING = 32 * MiB
"""Blocks from this size up get a mapping of their own (glibc's largest allowed threshold)."""


def keep_freed_memory() -> bool:
    """Set glibc's thresholds and its one arena; False where the C library has no ``mallopt``
    (not glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return (
        bool(mallopt(M_ARENA_MAX, 1))
        and bool(mallopt(M_MMAP_THRESHOLD, OWN_MAPPING))
        and bool(mallopt(M_TRIM_THRESHOLD, KEEP_FREED))
    )


def give_back_freed() -> bool:
    """Hand the free memory the allocator keeps back to the kernel (``malloc_trim(0)``: the top
    of the main arena, and the free pages inside every arena); False where there is no
    ``malloc_trim`` (not glibc) or nothing was handed back."""
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    return bool(malloc_trim(0))
