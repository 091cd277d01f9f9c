"""serve.py for real: a stage trained with --save-model, served by serve.py in its own
process on a free port of 127.0.0.1, asked through TensorFlow Serving's REST API with
http.client, its page driven in a headless Chromium with real mouse and touch events.

The answers are checked against the same SavedModel called in this process, and the
page's preparation of a drawing against predict.py's prepare_digit on the same drawing.
The page tests need Debian's chromium and chromium-driver (.ci/run installs them).
"""

import http.client
import io
import json
import shutil
import signal
import threading
import time

import numpy as np
import pytest
from PIL import Image

import predict
import serve
from codelab import pagedriver, restapi, runfolder, servedmodel
from helpers import STAGE_1_0, train

needs_chromium = pytest.mark.skipif(pagedriver.chromium_missing() is not None,
                                    reason=str(pagedriver.chromium_missing()))


@pytest.fixture(scope="session")
def served_model_dir(small_mnist_dir, tmp_path_factory):
    """What a learner gets from `mnist_1.0_softmax.py --save-model DIR`, briefly trained."""
    folder = tmp_path_factory.mktemp("served") / "model"
    train(STAGE_1_0, small_mnist_dir, folder, "--iterations", "100", cwd=folder.parent)
    return folder


@pytest.fixture(scope="module")
def server(served_model_dir):
    with pagedriver.running_server(served_model_dir) as running:
        yield running


@pytest.fixture(scope="module")
def reference(served_model_dir):
    """The SavedModel's serving_default, called in this process: images -> probabilities."""
    import tensorflow as tf
    signature = tf.saved_model.load(str(served_model_dir / "saved_model" / "1")
                                    ).signatures["serving_default"]
    return lambda images: signature(images=tf.constant(images, tf.float32))["probabilities"].numpy()


@pytest.fixture(scope="module")
def images():
    """Five 28x28x1 images: faint noise with a bright stroke, different each time."""
    rng = np.random.default_rng(0)
    batch = rng.uniform(0, 0.1, (5, 28, 28, 1)).astype(np.float32)
    for number, image in enumerate(batch):
        image[6:22, 8 + 2 * number : 11 + 2 * number] = 1.0
    return batch


def ask(server, method, path, body=None, headers=None):
    """One request on a new connection: (HTTP status, the answer as JSON)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=120)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


PREDICT = "/v1/models/mnist:predict"


# ------------------------------------------------------------------ REST: answers

def test_status_is_tensorflow_servings(server):
    expected = {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}
    assert ask(server, "GET", "/v1/models/mnist") == (200, expected)
    assert ask(server, "GET", "/v1/models/mnist/versions/1") == (200, expected)


def test_metadata_is_the_signature_def(server, served_model_dir):
    import tensorflow as tf
    status, answer = ask(server, "GET", "/v1/models/mnist/metadata")
    assert status == 200
    assert answer["model_spec"] == {"name": "mnist", "signature_name": "", "version": "1"}
    definition = answer["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert definition["method_name"] == "tensorflow/serving/predict"
    # against the signature as TensorFlow loads it here
    signature = tf.saved_model.load(str(served_model_dir / "saved_model" / "1")
                                    ).signatures["serving_default"]

    def dims(shape):
        return [str(-1 if size is None else size) for size in shape.as_list()]

    for given, specs in ((definition["inputs"], signature.structured_input_signature[1]),
                         (definition["outputs"], signature.structured_outputs)):
        assert set(given) == set(specs)
        for name, spec in specs.items():
            assert given[name]["dtype"] == "DT_FLOAT"
            assert [d["size"] for d in given[name]["tensor_shape"]["dim"]] == dims(spec.shape)
    assert [d["size"] for d in definition["inputs"]["images"]["tensor_shape"]["dim"]] == \
        ["-1", "28", "28", "1"]
    assert ask(server, "GET", "/v1/models/mnist/versions/1/metadata") == (200, answer)


def test_predict_row_format(server, reference, images):
    expected = reference(images)
    status, answer = ask(server, "POST", PREDICT, {"instances": images.tolist()})
    assert status == 200 and list(answer) == ["predictions"]
    np.testing.assert_allclose(answer["predictions"], expected, rtol=1e-5, atol=1e-6)
    # each instance as an object of named inputs, and the signature named
    status, answer = ask(server, "POST", "/v1/models/mnist/versions/1:predict",
                         {"signature_name": "serving_default",
                          "instances": [{"images": image} for image in images.tolist()]})
    assert status == 200
    np.testing.assert_allclose(answer["predictions"], expected, rtol=1e-5, atol=1e-6)


def test_predict_columnar_format(server, reference, images):
    expected = reference(images[:2])
    for inputs in (images[:2].tolist(), {"images": images[:2].tolist()}):
        status, answer = ask(server, "POST", PREDICT, {"inputs": inputs})
        assert status == 200 and list(answer) == ["outputs"]
        np.testing.assert_allclose(answer["outputs"], expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ REST: refusals

IMAGE = np.zeros((28, 28, 1)).tolist()


def with_pixel(value):
    """An image (as JSON text) whose first pixel is `value`, written as JSON text."""
    return json.dumps({"instances": [IMAGE]}).replace("[[[0.0]", f"[[[{value}]", 1)


BAD_REQUESTS = {  # id: (body, words the error must hold)
    "not-json": ("this is not JSON", "not JSON"),
    "not-utf8": (b"\xff\xfe{}", "not JSON"),
    "not-an-object": ("[1, 2]", "must be a JSON object"),
    "empty-object": ({}, 'exactly one of "instances"'),
    "both-formats": ({"instances": [IMAGE], "inputs": [IMAGE]}, 'exactly one of "instances"'),
    "unknown-key": ({"instance": [IMAGE]}, "unknown key 'instance'"),
    "instances-not-a-list": ({"instances": "seven"}, '"instances" must be a list'),
    "no-instances": ({"instances": []}, "no instances"),
    "no-inputs": ({"inputs": []}, "no examples"),
    "no-channel": ({"instances": [np.zeros((28, 28)).tolist()]},
                   "has shape [1, 28, 28], where the signature takes [-1, 28, 28, 1]"),
    "wrong-size": ({"inputs": np.zeros((2, 14, 14, 1)).tolist()}, "has shape [2, 14, 14, 1]"),
    "ragged": ({"instances": [IMAGE, IMAGE[:27]]}, "do not all have the same length"),
    "text": (with_pixel('"0.5"'), "holds text"),
    "booleans": ({"instances": [[[[True]] * 28] * 28]}, "holds true/false"),
    "null": (with_pixel("null"), "null or mixed values"),
    "nan": (with_pixel("NaN"), "NaN in the request"),
    "infinity": (with_pixel("-Infinity"), "-Infinity in the request"),
    "overflow": (with_pixel("1e999"), "a number too large for float32"),
    "float32-overflow": (with_pixel("1e39"), "a number too large for float32"),
    "deep": ("[" * 100000 + "]" * 100000, "nested too deeply"),
    "unknown-signature": ({"signature_name": "classify", "instances": [IMAGE]},
                          "no signature 'classify' in model 'mnist'; it has: serving_default"),
    "signature-not-text": ({"signature_name": 7, "instances": [IMAGE]}, "must be a string"),
    "unknown-input": ({"instances": [{"pixels": IMAGE}]}, "there is no input 'pixels'"),
    "missing-input": ({"inputs": {}}, "input 'images' is missing"),
    "mixed-instances": ({"instances": [{"images": IMAGE}, IMAGE]}, "mixes objects"),
}


@pytest.mark.parametrize("body, words", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_a_bad_request_gets_400_and_says_what_is_wrong(server, body, words):
    status, answer = ask(server, "POST", PREDICT, body)
    assert status == 400 and list(answer) == ["error"], (status, answer)
    assert words in answer["error"], answer
    assert ask(server, "GET", "/v1/models/mnist")[0] == 200  # and it goes on serving


@pytest.mark.parametrize("method, path, status, words", [
    ("GET", "/v1/models/digits", 404, "no model named 'digits' here: this server serves 'mnist'"),
    ("POST", "/v1/models/digits:predict", 404, "no model named 'digits'"),
    ("GET", "/v1/models/mnist/versions/2", 404, "has no version 2: this server serves version 1"),
    ("POST", "/v1/models/mnist/versions/7:predict", 404, "has no version 7"),
    ("GET", "/v2/anything", 404, "nothing at /v2/anything"),
    ("GET", PREDICT, 405, "GET is not allowed"),
    ("POST", "/v1/models/mnist", 405, "POST is not allowed"),
], ids=["model", "model-predict", "version", "version-predict", "address", "get-predict",
        "post-status"])
def test_wrong_addresses_and_methods_are_refused_in_json(server, method, path, status, words):
    body = json.dumps({"instances": [IMAGE]}) if method == "POST" else None
    answer = ask(server, method, path, body)
    assert answer[0] == status and words in answer[1]["error"], answer


@pytest.mark.parametrize("chunked", [False, True], ids=["with-length", "chunked"])
def test_a_body_too_large_gets_413(server, chunked):
    size = restapi.MAX_BODY + 1000
    connection = http.client.HTTPConnection(server.host, server.port, timeout=120)
    try:
        if chunked:  # its length not said: found out while reading
            pieces = (b" " * 65536 for _ in range(size // 65536 + 1))
            connection.request("POST", PREDICT, body=pieces, encode_chunked=True)
        else:
            connection.request("POST", PREDICT, body=b" " * size)
        response = connection.getresponse()
        status, answer = response.status, json.loads(response.read())
    except (BrokenPipeError, ConnectionResetError):  # the server may close while we send
        pytest.fail("the server closed the connection without answering 413")
    finally:
        connection.close()
    assert status == 413 and "over 16 MiB: send fewer examples" in answer["error"]
    assert ask(server, "GET", "/v1/models/mnist")[0] == 200


# ------------------------------------------------------------------ load

def test_eight_clients_of_200_requests_each_leak_nothing(server, reference, images):
    import psutil
    process = psutil.Process(server.process.pid)
    body = json.dumps({"instances": images[:1].tolist()})
    expected = reference(images[:1])[0]
    errors = []

    def client(requests):
        connection = http.client.HTTPConnection(server.host, server.port, timeout=120)
        try:
            for _ in range(requests):  # one kept-alive connection, as a real client has
                connection.request("POST", PREDICT, body=body,
                                   headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = json.loads(response.read())
                if response.status != 200 or not np.allclose(answer["predictions"][0], expected,
                                                              rtol=1e-5, atol=1e-6):
                    errors.append((response.status, answer))
        except Exception as error:  # noqa: BLE001  (any failure is the test's)
            errors.append(repr(error))
        finally:
            connection.close()

    def run(requests):
        clients = [threading.Thread(target=client, args=(requests,)) for _ in range(8)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=300)
        assert not any(thread.is_alive() for thread in clients), "the clients did not finish"
        time.sleep(1)  # the server closes its side of the connections
        return process.num_threads(), process.num_fds(), process.memory_info().rss

    threads, fds, memory = run(20)  # warm: the model's threads started, buffers allocated
    started = time.perf_counter()
    threads_after, fds_after, memory_after = run(200)
    seconds = time.perf_counter() - started
    assert not errors, errors[:3]
    assert threads_after <= threads + 2, (threads, threads_after)
    assert fds_after <= fds + 2, (fds, fds_after)
    assert memory_after - memory < 50 * 2**20, (memory, memory_after)
    print(f"1600 requests in {seconds:.1f} s ({1600 / seconds:.0f}/s); threads {threads} -> "
          f"{threads_after}, fds {fds} -> {fds_after}, memory {memory / 2**20:.0f} -> "
          f"{memory_after / 2**20:.0f} MiB")


# ------------------------------------------------------------------ the command line

def test_ctrl_c_stops_it_cleanly_and_name_names_the_model(served_model_dir):
    server = pagedriver.Server(served_model_dir, "--name", "digits")
    try:
        assert server.url.endswith("/?model=digits")
        assert ask(server, "GET", "/v1/models/digits")[0] == 200
        assert ask(server, "GET", "/v1/models/mnist")[0] == 404
        assert any(line.startswith(f"serving {served_model_dir / 'saved_model' / '1'} as model "
                                   f"'digits', version 1") for line in server.lines), server.lines
        assert not any(line.startswith("warning:") for line in server.lines)
    finally:
        code, out, err = server.stop(signal.SIGINT)
    assert code == 0 and out.strip().splitlines()[-1] == "server stopped", (code, out, err)
    assert "Traceback" not in err and "Error" not in err, err


def test_sigterm_stops_it_too(served_model_dir):
    server = pagedriver.Server(served_model_dir)
    code, out, err = server.stop(signal.SIGTERM)
    assert code == 0 and "server stopped" in out and "Traceback" not in err, (code, out, err)


def test_a_port_in_use_is_one_clear_line(served_model_dir, server):
    result = run_serve("--model", served_model_dir, "--port", server.port)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: --port {server.port}: the port is in use on 127.0.0.1 (another "
                      f"serve.py, or TensorFlow Serving?): stop that server, or choose another "
                      f"port, e.g. --port {server.port + 1}"], result.stderr
    assert "serving" not in result.stdout, result.stdout  # it never served


def run_serve(*args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, str(pagedriver.REPO / "serve.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_no_model_is_one_clear_line_before_tensorflow_loads(tmp_path):
    started = time.perf_counter()
    result = run_serve("--model", tmp_path / "nowhere")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: no saved model in {tmp_path / 'nowhere'}: train a "
                                    "stage with --save-model first"), result.stderr
    assert time.perf_counter() - started < 30  # TensorFlow was not loaded to say it
    run = tmp_path / "models" / "3.1"  # a folder inside a run: the run is named
    (run / "saved_model" / "1" / "variables").mkdir(parents=True)
    (run / "saved_model" / "1" / "saved_model.pb").write_bytes(b"")
    result = run_serve("--model", run / "saved_model" / "1" / "variables")
    assert result.returncode == 2 and result.stderr == (
        f"error: no saved model in {run / 'saved_model' / '1' / 'variables'}, but in the folder "
        f"above it: --model {run / 'saved_model' / '1'}\n"), result.stderr


@pytest.mark.parametrize("flags, words", [
    (["--port", "70000"], "--port 70000: a port is a number from 0 to 65535"),
    (["--name", "my/model"], "--name 'my/model': use letters, digits"),
], ids=["port", "name"])
def test_bad_flags(tmp_path, flags, words):
    result = run_serve("--model", tmp_path, *flags)
    assert result.returncode == 2 and words in result.stderr, result.stderr


def test_every_interface_is_warned_of_and_the_address_is_one_to_open():
    assert serve.every_interface_warning("127.0.0.1") is None
    assert serve.every_interface_warning("localhost") is None
    for host in ("0.0.0.0", "::", ""):
        assert serve.every_interface_warning(host).startswith("warning: --host ")
        assert "every network interface" in serve.every_interface_warning(host)
    assert serve.page_address("0.0.0.0", 8501, "mnist") == "http://127.0.0.1:8501/"
    assert serve.page_address("::", 8501, "digits") == "http://[::1]:8501/?model=digits"
    assert serve.page_address("127.0.0.1", 9000, "mnist") == "http://127.0.0.1:9000/"
    assert serve.DEFAULT_PORT == 8501  # TensorFlow Serving's REST port


def test_the_earlier_flat_layout_is_still_read(served_model_dir, tmp_path):
    """Folders saved before the numbered version folder: DIR/saved_model/saved_model.pb."""
    old = tmp_path / "old"
    shutil.copytree(served_model_dir / "saved_model" / "1", old / "saved_model")
    shutil.copy(served_model_dir / "stage.json", old / "stage.json")
    assert runfolder.find_saved_model(old) == old / "saved_model"
    assert predict.find_saved_model(str(old)) == str(old / "saved_model")
    # and the new one, whichever folder is named
    new = served_model_dir / "saved_model" / "1"
    for named in (served_model_dir, served_model_dir / "saved_model", new):
        assert runfolder.find_saved_model(named) == new
    model = servedmodel.ServedModel.load(servedmodel.locate(old), "mnist")
    assert model.version == 1 and set(model.signatures) == {"serving_default"}


# ------------------------------------------------------------------ the page

@pytest.fixture(scope="module")
def browser():
    if pagedriver.chromium_missing():
        pytest.skip(pagedriver.chromium_missing())
    with pagedriver.chromium() as running:
        yield running


def page_against_predict_py(browser, reference):
    """The page's 28x28 image and answer against predict.py's preparation of its drawing."""
    seen = pagedriver.seen_image(browser)
    drawing = Image.open(io.BytesIO(pagedriver.pad_png(browser)))
    prepared = predict.prepare_digit(drawing)
    assert np.abs(seen.astype(int) - np.round(prepared[:, :, 0] * 255)).max() <= 2
    rows, cols = np.nonzero(seen > 127)
    assert max(np.ptp(rows), np.ptp(cols)) >= 17  # a digit fitted into 20x20, not a speck
    probabilities = reference(prepared[np.newaxis])[0]
    np.testing.assert_allclose(pagedriver.bar_values(browser), 100 * probabilities, atol=0.2)
    return int(np.argmax(probabilities))


@needs_chromium
def test_the_page_reads_a_digit_drawn_with_the_mouse_as_predict_py_does(server, browser,
                                                                         reference):
    browser.get(server.url)
    assert pagedriver.wait_for_answer(browser) == ""  # a blank pad: no answer
    pagedriver.draw(browser, pagedriver.SEVEN)
    digit = pagedriver.wait_for_answer(browser)
    assert digit == str(page_against_predict_py(browser, reference))
    status = browser.find_element("id", "status")
    assert status.text == "model mnist, version 1: available" and "error" not in \
        status.get_attribute("class")


@needs_chromium
def test_a_finger_draws_too_and_clear_clears(server, browser, reference):
    browser.get(server.url)
    pagedriver.wait_for_answer(browser)
    pagedriver.draw(browser, pagedriver.ONE, touch=True)
    digit = pagedriver.wait_for_answer(browser)
    assert digit == str(page_against_predict_py(browser, reference))
    browser.find_element("id", "clear").click()
    assert pagedriver.wait_for_answer(browser) == ""
    assert pagedriver.seen_image(browser).max() == 0
    assert pagedriver.bar_values(browser) == [None] * 10


@needs_chromium
def test_the_page_loads_only_from_the_server(server, browser):
    browser.get(server.url)
    pagedriver.wait_for_answer(browser)
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    origin = server.url.rstrip("/")
    assert loaded and all(name.startswith(origin + "/") for name in loaded), loaded
    assert {name[len(origin):].split("?")[0] for name in loaded} >= {
        "/page/style.css", "/page/prepare.js", "/page/app.js", "/v1/models/mnist",
        "/v1/models/mnist/metadata"}
    for path in restapi.PAGE.iterdir():  # nothing fetched from elsewhere, even unused
        assert "http:" not in path.read_text() and "https:" not in path.read_text(), path


@needs_chromium
def test_the_page_says_when_the_model_is_not_there(server, browser):
    browser.get(server.url + "?model=digits")
    status = browser.find_element("id", "status")
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 30).until(lambda _: "error" in status.get_attribute("class"))
    assert status.text.startswith("cannot reach model digits: no model named 'digits' here")
