"""The playground's speed in a real browser (issue 15), absolute figures with their targets:

    python -m bench.page              # needs Debian's Chromium, as the browser tests do

- load: from navigation to the first view drawn (``body[data-ready]``), fresh context each time:
  the page is then interactive, Train enabled (checked);
- stream: 10,000 epochs of the notebook's network through /train/stream, the longest a 20 ms
  timer on the page's main thread was kept waiting (the page stays responsive: under 100 ms);
- heatmap: the decision map of a 2-16-16-2 network (moons), epoch by epoch, from the /forward
  request (which answers every hidden unit's a too) to the painted canvas and unit maps;
- unit maps: the same for a 2-8-8-2 network, TF Playground's default size: one /forward over
  the grid with the layers, the decision map and all 16 hidden units' small maps redrawn;
- play: ▶ Play on the notebook's network until epoch 100,000, then Pause: the gaps between
  requestAnimationFrame callbacks during the open-ended run (largest and 99th percentile: frames
  under 100 ms apart), the long tasks (over 50 ms) the browser reports, and the curve's points
  (the trace thinned to a bound);
- spiral: 20,000 epochs of the spiral preset (its defaults: 2-16-16-3 tanh, softmax,
  cross-entropy, Adam at 0.02, 150 training samples) in batches of 10, TF Playground's default,
  from the click on Train to the run completed: the engine's mini-batch speed as a person sees it.

Medians over the repetitions, the machine and its load printed with them (the figures move
with the neighbours' load on a shared machine).
"""

import statistics
import sys
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import Server, machine
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

LAG_PROBE = """() => { window.lags = []; let due = performance.now() + 20;
    window.lagTimer = setInterval(() => { const now = performance.now();
        window.lags.push(now - due); due = now + 20; }, 20); }"""


def fresh(browser: Browser, url: str) -> Page:
    """The page in a new context, once its first view is drawn."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    return page


def load(browser: Browser, url: str, repeat: int) -> list[float]:
    """Milliseconds from navigation to the first view, each in a fresh context."""
    times = []
    for _ in range(repeat):
        page = fresh(browser, url)
        times.append(page.evaluate("performance.now()"))
        assert page.is_enabled("#train"), "the first view is drawn but Train is not enabled"
        page.context.close()
    return times


def stream(browser: Browser, url: str) -> tuple[float, float, str]:
    """The longest main-thread wait (ms) during a 10,000-epoch run, its seconds, its points."""
    page = fresh(browser, url)
    page.fill("#epochs", "10000")
    page.locator("#epochs").dispatch_event("change")
    page.wait_for_function(
        "document.querySelector('#epoch-counter').textContent.endsWith('/ 10000')"
    )
    page.evaluate(LAG_PROBE)
    started = page.evaluate("performance.now()")
    page.click("#train")
    page.wait_for_selector("#status[data-status=completed]", timeout=300_000)
    seconds = (page.evaluate("performance.now()") - started) / 1000
    lags: list[float] = page.evaluate("(clearInterval(window.lagTimer), window.lags)")
    points = page.get_attribute("#curve", "data-points") or "?"
    page.context.close()
    return max(lags), seconds, points


FRAME_PROBE = """() => { window.gaps = []; window.longTasks = [];
    new PerformanceObserver((list) => window.longTasks.push(
        ...list.getEntries().map((e) => e.duration))).observe({ type: "longtask" });
    let last = performance.now();
    const frame = (now) => { window.gaps.push(now - last); last = now;
        if (!window.framesDone) requestAnimationFrame(frame); };
    requestAnimationFrame(frame); }"""


def play(browser: Browser, url: str, epochs: int) -> dict[str, float]:
    """An open-ended run played past ``epochs`` epochs, then paused: its seconds, the largest and
    99th-percentile gap between animation frames (ms) and the long tasks while it ran (before
    the pause), the curve's points."""
    page = fresh(browser, url)
    page.evaluate(FRAME_PROBE)
    started = page.evaluate("performance.now()")
    page.click("#play")
    page.wait_for_function(
        "epochs => Number((/epoch (\\d+)/.exec(document.querySelector('#epoch-counter')"
        ".textContent) || [0, 0])[1]) >= epochs",
        arg=epochs,
        timeout=900_000,
        polling=500,
    )
    seconds = (page.evaluate("performance.now()") - started) / 1000
    gaps: list[float] = page.evaluate("(window.framesDone = true, window.gaps.slice(1))")
    long_tasks: list[float] = page.evaluate("window.longTasks")
    page.click("#pause")
    page.wait_for_selector("#status[data-status=paused]", timeout=60_000)
    points = float(page.get_attribute("#curve", "data-points") or "nan")
    page.context.close()
    gaps.sort()
    return {
        "seconds": seconds,
        "max": gaps[-1],
        "p99": gaps[int(0.99 * (len(gaps) - 1))],
        "frames": len(gaps),
        "long_tasks": len(long_tasks),
        "longest_task": max(long_tasks, default=0.0),
        "points": points,
    }


def redraws(page: Page, repeat: int) -> list[float]:
    """Train the page's network, then move the slider ``repeat`` times over the run: the map's
    draw time (ms) at each epoch selected."""
    page.click("#train")
    page.wait_for_selector("#status[data-status=completed]", timeout=300_000)
    last = int(page.get_attribute("#scrubber", "max") or 0)
    times = []
    for index in range(repeat):
        page.evaluate("document.body.removeAttribute('data-epoch')")
        page.locator("#scrubber").fill(str(index * last // repeat))
        page.wait_for_selector("body[data-epoch]")
        times.append(float(page.get_attribute("#heatmap", "data-draw-ms") or "nan"))
    page.context.close()
    return times


def heatmap(browser: Browser, url: str, repeat: int) -> list[float]:
    """Redraw times (ms) of the moons map with two hidden layers of 16, at recorded epochs."""
    page = fresh(browser, url)
    page.select_option("#preset", "moons")
    page.wait_for_selector("body[data-prepared=moons]")
    page.click("#add-layer")
    page.wait_for_selector("body[data-prepared=moons]")
    for field in ("#units-0", "#units-1"):
        page.fill(field, "16")
        page.locator(field).dispatch_event("change")
        page.wait_for_selector("body[data-prepared=moons]")
    return redraws(page, repeat)


def unit_maps(browser: Browser, url: str, repeat: int) -> list[float]:
    """Redraw times (ms) of the moons map and its 16 unit maps (2-8-8-2), at recorded epochs."""
    page = fresh(browser, url)
    page.select_option("#preset", "moons")
    page.wait_for_selector("body[data-prepared=moons]")
    page.click("#add-layer")  # a second hidden layer as the first: 8 tanh units
    page.wait_for_selector("body[data-prepared=moons]")
    page.wait_for_function(
        "document.querySelectorAll('#network .node.mapped:not(.input)').length === 16"
    )
    return redraws(page, repeat)


def spiral(browser: Browser, url: str) -> tuple[float, str]:
    """Seconds of a 20,000-epoch spiral run in batches of 10, and its curve's points."""
    page = fresh(browser, url)
    page.select_option("#preset", "spiral")
    page.wait_for_selector("body[data-prepared=spiral]")
    for field, value in (("#epochs", "20000"), ("#batch-size", "10")):
        page.fill(field, value)
        page.locator(field).dispatch_event("change")
    page.wait_for_function(
        "document.querySelector('#epoch-counter').textContent.endsWith('/ 20000')"
    )
    started = page.evaluate("performance.now()")
    page.click("#train")
    page.wait_for_selector("#status[data-status=completed]", timeout=900_000)
    seconds = (page.evaluate("performance.now()") - started) / 1000
    points = page.get_attribute("#curve", "data-points") or "?"
    page.context.close()
    return seconds, points


def main() -> None:
    """Run the six measurements against a fresh one-worker server and print them."""
    with Server() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        url = f"{server.url}/"
        fresh(browser, url).context.close()  # the server's first answers are slower
        loads = load(browser, url, 9)
        lag, seconds, points = stream(browser, url)
        played = play(browser, url, 100_000)
        maps = heatmap(browser, url, 15)
        units = unit_maps(browser, url, 15)
        spiral_seconds, spiral_points = spiral(browser, url)
        browser.close()
    print(machine())
    print(
        "load to first view, interactive (Train enabled): median "
        f"{statistics.median(loads):.0f} ms (target ≤ 1000 ms), "
        f"min {min(loads):.0f}, max {max(loads):.0f}"
    )
    print(
        f"10,000-epoch stream: {seconds:.2f} s, {points} curve points, longest main-thread "
        f"wait {lag:.0f} ms (target < 100 ms)"
    )
    print(
        f"100,000-epoch play: {played['seconds']:.1f} s, frames {played['max']:.0f} ms apart at "
        f"most, p99 {played['p99']:.0f} ms (target < 100 ms; {played['frames']:.0f} frames), "
        f"{played['long_tasks']:.0f} long tasks (longest {played['longest_task']:.0f} ms), "
        f"{played['points']:.0f} curve points"
    )
    print(
        f"2-16-16-2 heatmap redraw: median {statistics.median(maps):.0f} ms (target < 100 ms), "
        f"min {min(maps):.0f}, max {max(maps):.0f}"
    )
    print(
        f"2-8-8-2 decision map and its 16 unit maps redrawn: median "
        f"{statistics.median(units):.0f} ms (target < 150 ms), min {min(units):.0f}, "
        f"max {max(units):.0f}"
    )
    print(
        f"20,000-epoch spiral run in batches of 10: {spiral_seconds:.1f} s "
        f"({spiral_seconds / 20:.2f} ms/epoch), {spiral_points} curve points"
    )


if __name__ == "__main__":
    main()
