"""
Does the live dashboard slow learning down, and does it look live?
=================================================================

Runs a real stage script in fresh processes, each in a real Tk window on a private X
display (Xvfb) or headless, and prints what it measured.

Cost (--stage): the stage run headless and with its window, alternately, --repeat times
each. Compares the stage's own "trained N steps in T s" line (medians), counts the
dashboard's redraws (full paints, one-panel repaints, quick ones) and gives the median
time of a quick redraw (the data-only repaint, blitting) in the real window.

    python3 benchmarks/bench_dashboard.py --stage mnist_2.2_five_layers_relu_lrdecay_dropout.py

Liveness (--live): the stage in its window while ffmpeg records the screen at 10 frames
a second; counts the frames that differ from the one before (what a viewer sees move),
per second of training, over the whole run or over --record-seconds of it. Also saves a
screenshot one second into training (--first-second PATH) to look at.

    python3 benchmarks/bench_dashboard.py --live mnist_1.0_softmax.py
    python3 benchmarks/bench_dashboard.py --live mnist_2.2_five_layers_relu_lrdecay_dropout.py \\
        --iterations 3000 --record-seconds 15

Keys (--keys): the stage in its window; xdotool presses 1 and 0 in turn (--presses
times, from step 100 on, at varied moments of the loop); for each press, the time
from the key sent to the new layout painted into the window (the child notes when
the key arrives and when the layout is on the canvas and the window updated). The
first press of each layout paints it in full; later ones put back its kept picture.

    python3 benchmarks/bench_dashboard.py --keys mnist_3.1_convolutional_bigger_dropout.py \\
        --iterations 3000

Needs Xvfb and ffmpeg (apt install xvfb ffmpeg).
"""

import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCREEN = (1400, 850)

# The child process: `python3 -c CHILD_CODE script stage-flags...`. It runs the stage as
# `python3 script flags` would, times each redraw of the dashboard by kind, does not
# wait for the window to be closed at the end, and prints a summary line.
CHILD_CODE = f"import sys; sys.path.insert(0, {HERE!r}); import bench_dashboard; bench_dashboard.stage_child()"


def stage_child():
    import runpy
    sys.path.insert(0, ROOT)
    from dashboard.screen import Screen
    screen = Screen  # the part of the dashboard that paints: its redraws are timed
    times = {"full": [], "quick": []}
    original_redraw = screen.redraw

    def timed_redraw(self, *args, **kwargs):
        began = time.perf_counter()
        full = original_redraw(self, *args, **kwargs)
        times["full" if full else "quick"].append(time.perf_counter() - began)
        return full

    screen.redraw = timed_redraw
    import tensorflowvisu
    tensorflowvisu.MnistDataVis.wait_until_closed = lambda self: None
    if os.environ.get("BENCH_KEYS"):
        note_keys(screen)
    script, *flags = sys.argv[1:]
    sys.argv = [script, *flags]
    sys.path[0] = os.path.dirname(script)     # as for `python3 script`
    runpy.run_path(script, run_name="__main__")
    quick_ms = statistics.median(times["quick"]) * 1000 if times["quick"] else float("nan")
    print(f"dashboard: {len(times['full'])} full, {len(times['quick'])} quick redraws, "
          f"quick median {quick_ms:.1f} ms, full median "
          f"{statistics.median(times['full'] or [float('nan')]) * 1000:.0f} ms")


def note_keys(screen):
    """On stderr: `key ARRIVED SHOWN` (wall-clock seconds) for each layout key: when
    the window delivered it, and when its layout was painted and the window updated."""
    from dashboard.controls import Controls
    arrived = []
    on_key = Controls.on_key

    def noting_on_key(self, event):
        if event.key in tensorflowvisu_layouts():
            arrived.append(time.time())
        return on_key(self, event)

    def noting(method):
        def call(self, *args, **kwargs):
            result = method(self, *args, **kwargs)
            if arrived and not self.layout_changed:
                print(f"key {arrived[0]:.4f} {time.time():.4f}", file=sys.stderr, flush=True)
                arrived.clear()
            return result
        return call

    Controls.on_key = noting_on_key
    screen.redraw = noting(screen.redraw)
    screen.show_layout = noting(screen.show_layout)


def tensorflowvisu_layouts():
    return sys.modules["tensorflowvisu"].PANEL_LAYOUTS


class Xvfb:
    """A private X display for the window runs."""

    def __enter__(self):
        if shutil.which("Xvfb") is None:
            sys.exit("needs Xvfb (apt install xvfb)")
        read, write = os.pipe()
        self.server = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0",
             f"{SCREEN[0]}x{SCREEN[1]}x24"], pass_fds=(write,),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as pipe:
            self.display = ":" + pipe.readline().strip()
        return self

    def __exit__(self, *exc):
        self.server.terminate()
        self.server.wait()


def stage_command(script, mode, iterations):
    command = [sys.executable, "-c", CHILD_CODE, script]
    if iterations:
        command += ["--iterations", str(iterations)]
    return command + (["--headless"] if mode == "headless" else [])


def stage_env(mode, display):
    if mode == "headless":
        return dict(os.environ, MPLBACKEND="Agg")
    return dict(os.environ, MPLBACKEND="TkAgg", DISPLAY=display)


def parse_run(stdout, stderr, returncode, mode):
    trained = re.search(r"^trained (\d+) steps in ([\d.]+) s", stdout, re.M)
    draws = re.search(r"^dashboard: (\d+) full, (\d+) quick redraws, quick median ([\d.na]+) ms",
                      stdout, re.M)
    if returncode or not (trained and draws):
        sys.exit(f"the {mode} run failed (exit status {returncode}):\n"
                 f"{stdout[-2000:]}{stderr[-3000:]}")
    return {"steps": int(trained[1]), "training": float(trained[2]), "full": int(draws[1]),
            "quick": int(draws[2]), "quick ms": float(draws[3])}


def run_stage(script, mode, iterations, display):
    start = time.perf_counter()
    done = subprocess.run(stage_command(script, mode, iterations), capture_output=True,
                          text=True, cwd=ROOT, env=stage_env(mode, display))
    result = parse_run(done.stdout, done.stderr, done.returncode, mode)
    result["process"] = time.perf_counter() - start
    return result


def compare(script, args):
    print(f"{os.path.basename(script)}, {args.iterations or 'default'} steps, "
          f"{args.repeat} run(s) of each, {os.cpu_count()} CPUs, real Tk window on Xvfb")
    runs = {"headless": [], "window": []}
    with Xvfb() as x:
        for _ in range(args.repeat):          # alternate, so that load changes hit both
            for mode in runs:
                result = run_stage(script, mode, args.iterations, x.display)
                runs[mode].append(result)
                print(f"  {mode:8s} training {result['training']:6.1f} s, process "
                      f"{result['process']:6.1f} s, redraws: {result['full']} full, "
                      f"{result['quick']} quick (median {result['quick ms']:.1f} ms)", flush=True)
    for what in ("training", "process"):
        headless, window = (statistics.median(r[what] for r in runs[mode]) for mode in runs)
        ratio = window / headless
        print(f"median {what:8s}: headless {headless:.1f} s, window {window:.1f} s, "
              f"ratio {ratio:.3f} ({(ratio - 1) * 100:+.1f} %)")
    redraws = sum(r["full"] + r["quick"] for r in runs["window"]) / args.repeat
    training = statistics.median(r["training"] for r in runs["window"])
    print(f"window: {redraws:.0f} redraws a run, {redraws / training:.1f} a second of training")


def record_screen(display, seconds, path):
    """ffmpeg x11grab at 10 frames a second into raw grey frames (half size)."""
    width, height = SCREEN[0] // 2, SCREEN[1] // 2
    return subprocess.Popen(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "x11grab", "-framerate", "10",
         "-video_size", f"{SCREEN[0]}x{SCREEN[1]}", "-i", display, "-t", str(seconds),
         "-vf", f"scale={width}:{height}:flags=neighbor", "-f", "rawvideo",
         "-pix_fmt", "gray", path]), (height, width)


def liveness(script, args):
    if shutil.which("ffmpeg") is None:
        sys.exit("needs ffmpeg (apt install ffmpeg)")
    raw = os.path.join(HERE, ".screen.raw")
    with Xvfb() as x:
        child = subprocess.Popen(stage_command(script, "window", args.iterations),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 cwd=ROOT, env=stage_env("window", x.display))
        lines = []
        started = threading.Event()

        def read():
            for line in child.stdout:
                lines.append(line)
                if line.startswith("step 0:"):
                    started.set()
        reader = threading.Thread(target=read)
        reader.start()
        started.wait(timeout=300)
        seconds = args.record_seconds or 600
        recorder, (height, width) = record_screen(x.display, seconds, raw)
        began = time.perf_counter()
        if args.first_second:
            time.sleep(1.0)
            subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "x11grab",
                            "-video_size", f"{SCREEN[0]}x{SCREEN[1]}", "-i", x.display,
                            "-frames:v", "1", args.first_second], check=True)
        if args.record_seconds:
            recorder.wait()
            recorded = time.perf_counter() - began
        child.wait()
        reader.join()
        if not args.record_seconds:
            recorded = time.perf_counter() - began
            recorder.terminate()
            recorder.wait()
    stdout, stderr = "".join(lines), child.stderr.read()
    result = parse_run(stdout, stderr, child.returncode, "window")
    frames = np.fromfile(raw, np.uint8)
    os.remove(raw)
    frames = frames[:frames.size // (height * width) * height * width].reshape(-1, height, width)
    changed = 1 + int(np.count_nonzero(np.any(frames[1:] != frames[:-1], axis=(1, 2))))
    span = min(recorded, result["training"]) if args.record_seconds else result["training"]
    print(f"{os.path.basename(script)}, {result['steps']} steps in {result['training']:.1f} s "
          f"of training, in a real Tk window on Xvfb, screen recorded at 10 frames/s")
    print(f"  recorded {len(frames)} frames over {recorded:.1f} s: {changed} differ from the "
          f"one before: {changed / max(recorded, 1e-9):.1f} visible updates a second")
    if not args.record_seconds:
        print(f"  the whole run: {changed} distinct pictures ({changed / span:.1f} a second "
              f"of training)")
    print(f"  dashboard: {result['full']} full, {result['quick']} quick redraws, quick median "
          f"{result['quick ms']:.1f} ms")


def key_latency(script, args):
    if shutil.which("xdotool") is None:
        sys.exit("needs xdotool (apt install xdotool)")
    with Xvfb() as x:
        env = dict(stage_env("window", x.display), BENCH_KEYS="1")
        child = subprocess.Popen(stage_command(script, "window", args.iterations),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 cwd=ROOT, env=env)
        lines, errors = [], []
        started = threading.Event()

        def read(stream, into, start=None):
            for line in stream:
                into.append(line)
                if start and line.startswith(start):
                    started.set()
        readers = [threading.Thread(target=read, args=(child.stdout, lines, "step 100:")),
                   threading.Thread(target=read, args=(child.stderr, errors))]
        for reader in readers:
            reader.start()
        started.wait(timeout=300)
        xdo = lambda *words: subprocess.run(["xdotool", *words], env=env, check=True,
                                            capture_output=True, text=True).stdout.strip()
        window = xdo("search", "--sync", "--name", "^MNIST").split()[0]
        xdo("windowfocus", "--sync", window)
        sent = []
        for press in range(args.presses):
            time.sleep(0.7 + (press * 0.137) % 0.5)      # varied moments of the loop
            sent.append(time.time())
            xdo("key", "1" if press % 2 == 0 else "0")
        time.sleep(3)
        child.wait()
        for reader in readers:
            reader.join()
    shown = [tuple(map(float, line.split()[1:])) for line in errors if line.startswith("key ")]
    answers = [min(((arrived, done) for arrived, done in shown if arrived >= when),
                   default=(math.nan, math.nan)) for when in sent]
    latencies = [done - when for when, (_, done) in zip(sent, answers)]
    later = [value for value in latencies[2:] if value == value]
    waits = [arrived - when for when, (arrived, _) in zip(sent, answers)][2:]
    paints = [done - arrived for arrived, done in answers][2:]
    print(f"{os.path.basename(script)} in a real Tk window on Xvfb: {len(sent)} layout keys "
          f"(1 and 0 in turn)")
    print(f"  first of each layout (painted in full): "
          f"{', '.join(f'{value:.2f} s' for value in latencies[:2])}")
    print(f"  later ones (kept pictures): median {statistics.median(later):.2f} s, "
          f"90th percentile {np.percentile(later, 90):.2f} s, max {max(later):.2f} s")
    print(f"  of which: waiting for the window to be answered (the training call under "
          f"way) median {np.nanmedian(waits):.2f} s, painting median {np.nanmedian(paints):.2f} s")
    print(f"  all: {' '.join(f'{value:.2f}' for value in latencies)}")
    print(f"  load average while measured: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--stage", metavar="SCRIPT", help="cost: headless against window")
    what.add_argument("--live", metavar="SCRIPT", help="liveness: visible updates a second")
    what.add_argument("--keys", metavar="SCRIPT", help="layout keys: time to show them")
    parser.add_argument("--iterations", type=int, help="training steps (default: the stage's)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind (--stage)")
    parser.add_argument("--record-seconds", type=float,
                        help="record this long from the first step (default: the whole run)")
    parser.add_argument("--presses", type=int, default=20, help="layout keys pressed (--keys)")
    parser.add_argument("--first-second", metavar="PNG",
                        help="save a screenshot one second into training (--live)")
    args = parser.parse_args()
    name = args.stage or args.live or args.keys
    script = os.path.abspath(name if os.path.exists(name) else os.path.join(ROOT, name))
    if not os.path.isfile(script):
        sys.exit(f"no stage script {name} (here or in {ROOT})")
    (compare if args.stage else liveness if args.live else key_latency)(script, args)


if __name__ == "__main__":
    main()
