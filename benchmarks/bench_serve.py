"""Benchmark: serve.py's REST API against the same SavedModel called in this process.

    python3 benchmarks/bench_serve.py                 # stage 3.1's network, trained 20 steps
    python3 benchmarks/bench_serve.py --stage 1.0     # another stage's network
    python3 benchmarks/bench_serve.py --model DIR     # a --save-model folder of yours

For 1 image and for 100 images per request, in the same run:
  in-process: the SavedModel's serving_default called here, numpy in, numpy out;
  HTTP, 1 client: serve.py in its own process on 127.0.0.1, one kept-alive connection
      sending POST /v1/models/mnist:predict one after the other (the JSON body written
      once beforehand: what a client spends writing it is not the server's);
  HTTP, 8 clients: the same number of requests from 8 threads at once, for requests
      per second under load.
Each reports requests per second and the p50 / p99 latency. The goal: the HTTP
overhead (HTTP p50 minus in-process p50) at most 2x the model call, for one image.
How long training ran does not change the speed, so the network is trained a few steps.
"""

import argparse
import http.client
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import runs  # noqa: E402
from codelab import pagedriver, stages  # noqa: E402

GOAL = 2.0  # HTTP overhead, in model calls, for one image


def percentiles(latencies):
    """(requests per second over the run, p50 ms, p99 ms) of sequential latencies."""
    latencies = np.asarray(latencies)
    return len(latencies) / latencies.sum(), 1000 * np.percentile(latencies, 50), \
        1000 * np.percentile(latencies, 99)


def in_process(model_dir, images, repeats):
    import trainer
    trainer.import_tensorflow()  # its options, as serve.py has them; the start-up notices hidden
    import tensorflow as tf
    from codelab import runfolder
    signature = tf.saved_model.load(str(runfolder.find_saved_model(model_dir))
                                    ).signatures["serving_default"]
    call = lambda: signature(images=tf.constant(images))["probabilities"].numpy()  # noqa: E731
    for _ in range(20):
        call()
    latencies = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)
    return percentiles(latencies)


def http_client(server, body, repeats, latencies):
    connection = http.client.HTTPConnection(server.host, server.port, timeout=120)
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            connection.request("POST", "/v1/models/mnist:predict", body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {answer[:300]}")
    finally:
        connection.close()


def over_http(server, images, repeats, clients):
    body = json.dumps({"instances": images.tolist()}).encode()
    http_client(server, body, 5, [])  # warm
    latencies = []
    threads = [threading.Thread(target=http_client, args=(server, body, repeats, latencies))
               for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    _, p50, p99 = percentiles(latencies)
    return len(latencies) / seconds, p50, p99


def trained_model(stage, folder):
    script = dict(stages.STAGES)[stage]
    print(f"training {script} for 20 steps into {folder} ...", flush=True)
    run = runs.run_script(script, ["--headless", "--iterations", "20", "--save-model",
                                    str(folder)])
    if not run.ok:
        sys.exit(f"error: {script} failed")
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", metavar="DIR", help="a --save-model folder (default: train "
                        "--stage's network a few steps)")
    parser.add_argument("--stage", default="3.1", choices=[s for s, _ in stages.STAGES],
                        help="the stage to train when no --model is given (default: 3.1)")
    parser.add_argument("--repeats", type=int, default=500,
                        help="calls and requests for 1 image; a tenth of that for 100 images "
                        "(default: 500)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as temporary:
        model_dir = args.model or trained_model(args.stage, Path(temporary) / "model")
        rng = np.random.default_rng(0)
        rows = []
        with pagedriver.running_server(model_dir) as server:
            for size, repeats in ((1, args.repeats), (100, max(10, args.repeats // 10))):
                # grey levels of 8-bit images, as a client sends them
                images = np.round(rng.uniform(0, 255, (size, 28, 28, 1))).astype(np.float32) / 255
                print(f"{size} image(s) per request: {repeats} calls in-process, {repeats} "
                      f"requests from 1 client, {repeats} from 8 clients", flush=True)
                model = in_process(model_dir, images, repeats)
                one = over_http(server, images, repeats, clients=1)
                eight = over_http(server, images, max(1, repeats // 8), clients=8)
                overhead = (one[1] - model[1]) / model[1]
                rows.append((size, model, one, eight, overhead))
    print(f"\n{runs.machine()}; model: {args.model or 'stage ' + args.stage}\n")
    table = []
    for size, model, one, eight, overhead in rows:
        for name, (rate, p50, p99) in (("in-process", model), ("HTTP, 1 client", one),
                                       ("HTTP, 8 clients", eight)):
            table.append((size, name, f"{rate:.0f}", f"{p50:.2f}", f"{p99:.2f}"))
    print(runs.markdown_table(["images per request", "", "requests/s", "p50 ms", "p99 ms"],
                               table))
    for size, model, one, eight, overhead in rows:
        verdict = "" if size != 1 else (" (goal: at most %.0fx: %s)" %
                                        (GOAL, "met" if overhead <= GOAL else "NOT met"))
        print(f"{size} image(s): HTTP overhead {one[1] - model[1]:.2f} ms = "
              f"{overhead:.1f}x the model call{verdict}")


if __name__ == "__main__":
    main()
