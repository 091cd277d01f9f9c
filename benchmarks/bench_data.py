"""Benchmark: how fast mnistdata loads all 70,000 images, and how much memory they take.

    python3 benchmarks/bench_data.py                 # a fresh temporary data folder
    python3 benchmarks/bench_data.py --data-dir DIR  # or a folder of your choice

Each load runs in a fresh Python process, as a stage script would:
  cold:   nothing decoded yet in the data folder (reads the source, writes the cache);
  cached: the same again, now that the decoded copy is there.
Targets: a cached load under 1 s; the loaded arrays under 300 MB.
Memory is reported twice: the bytes of the arrays handed back, and how much the
process's peak memory (max RSS, Linux/macOS) grew during the load, temporaries included.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIME_TARGET_S = 1.0
MEMORY_TARGET_MB = 300

# Run in a child process: import, load once, report figures as one JSON line.
CHILD = """
import json, sys, time
try:
    import resource
    def peak_kb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
except ImportError:  # Windows: no resource module, no memory figure
    def peak_kb(): return 0
t0 = time.perf_counter()
import mnistdata
t1 = time.perf_counter()
rss_before = peak_kb()
t2 = time.perf_counter()
mnist = mnistdata.read_data_sets(sys.argv[1], one_hot=True, reshape=False, dataset=sys.argv[2])
t3 = time.perf_counter()
rss_after = peak_kb()  # peak resident memory, kB on Linux
arrays = [mnist.train.images, mnist.train.labels, mnist.test.images, mnist.test.labels]
print(json.dumps({
    "import_s": t1 - t0, "load_s": t3 - t2,
    "n_images": mnist.train.num_examples + mnist.test.num_examples,
    "arrays_mb": sum(a.nbytes for a in arrays) / 1e6,
    "peak_growth_mb": (rss_after - rss_before) / 1e3,
}))
"""


def load_in_fresh_process(data_dir, dataset):
    result = subprocess.run([sys.executable, "-c", CHILD, data_dir, dataset], cwd=REPO,
                            capture_output=True, text=True, check=True)
    source_line, figures = result.stdout.strip().splitlines()[-2:]
    return source_line, json.loads(figures)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="data folder to use (default: a fresh temporary one)")
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion"])
    parser.add_argument("--repeat", type=int, default=3, help="cached loads to time (best is kept)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-data-") as temp_dir:
        data_dir = args.data_dir or temp_dir
        print(f"data folder: {data_dir}")
        runs = [("cold" if i == 0 else "cached", *load_in_fresh_process(data_dir, args.dataset))
                for i in range(1 + args.repeat)]

    for label, source_line, f in runs:
        print(f"{label:6s} load {f['load_s']:.3f} s (+ import {f['import_s']:.3f} s), "
              f"{f['n_images']} images, arrays {f['arrays_mb']:.1f} MB, "
              f"peak memory growth while loading {f['peak_growth_mb']:.0f} MB"
              f"\n       {source_line}")
    best_cached = min(f["load_s"] for label, _, f in runs if label == "cached")
    arrays_mb = runs[-1][2]["arrays_mb"]
    print(f"cached load: best {best_cached:.3f} s (target < {TIME_TARGET_S} s): "
          f"{'OK' if best_cached < TIME_TARGET_S else 'TOO SLOW'}")
    print(f"loaded arrays: {arrays_mb:.1f} MB (target < {MEMORY_TARGET_MB} MB): "
          f"{'OK' if arrays_mb < MEMORY_TARGET_MB else 'TOO BIG'}")


if __name__ == "__main__":
    main()
