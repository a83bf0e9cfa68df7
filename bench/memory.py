"""Memory benchmark: a fresh server's peak resident memory for one full-trace /train.

The server answers a 10-epoch /train first (so that lazily built code paths are in place), then
VmRSS is read, the notebook's network is trained for N epochs with the full trace, and VmHWM
(the process's peak resident set) is read. The ratio is the peak's growth over the idle process,
``VmHWM − VmRSS before``, divided by the size of the JSON answer: what the request itself costs
for each byte it returns.
"""

import httpx

from bench.common import MB, Result, Server, Target, proc_status_kb
from bench.end_to_end import post_train, train_body

TARGET = Target(3.0)


def peak_memory(epochs: int) -> Result:
    """Peak RSS growth of one full-trace /train against the size of its answer."""
    with Server() as server, httpx.Client(base_url=server.url, timeout=None) as http:
        post_train(http, train_body(10))
        before = proc_status_kb(server.pid, "VmRSS") * 1024
        answer = post_train(http, train_body(epochs))
        peak = proc_status_kb(server.pid, "VmHWM") * 1024
        after = proc_status_kb(server.pid, "VmRSS") * 1024
    growth, size = peak - before, len(answer)
    print(
        f"  memory, {epochs:,} epochs, full trace, one run on a fresh server: VmRSS before "
        f"{before / MB:.1f} MB, VmHWM (peak) {peak / MB:.1f} MB, VmRSS after "
        f"{after / MB:.1f} MB; answer {size / MB:.1f} MB; ratio = peak growth over the idle "
        f"process / JSON size = {growth / MB:.1f} / {size / MB:.1f} = {growth / size:.2f}"
    )
    return Result(
        f"peak RSS growth, /train {epochs:,} epochs, full trace",
        f"+{growth / MB:.0f} MB over idle (peak {peak / MB:.0f} MB)",
        f"{size / MB:.1f} MB of JSON returned",
        growth / size,
        TARGET,
    )
