"""
Serve your trained network: TensorFlow Serving's REST API, and a page to draw digits on.

Train a stage and save its model, then serve it and open the address it prints:

    python3 mnist_3.1_convolutional_bigger_dropout.py --save-model models/3.1
    python3 serve.py --model models/3.1
    ...
    draw a digit: http://127.0.0.1:8501/

Draw a digit with the mouse (or a finger); the page shows the 28x28 image the network
sees, its ten probabilities and the digit it reads. Any program written for TensorFlow
Serving can ask too, e.g.

    curl -d '{"instances": [IMAGE]}' http://127.0.0.1:8501/v1/models/mnist:predict

where IMAGE is 28 lists of 28 lists of one grey level in [0, 1] (light ink on black).
The endpoints, the formats and the same folder served by TensorFlow Serving itself:
docs/serving.md. Ctrl-C stops the server.

Exit code: 0 when stopped by Ctrl-C (or SIGTERM); 2, with one `error:` line, when it
cannot serve (no model in DIR, the port taken, a bad flag).
"""

import argparse
import errno
import gc
import os
import re
import sys

from codelab import servedmodel

DEFAULT_PORT = 8501  # TensorFlow Serving's REST port
EVERY_INTERFACE = ("0.0.0.0", "::", "")


class ServeError(Exception):
    """The server cannot start; main prints the message (exit code 2)."""


def page_address(host, port, name):
    """The address to open in a browser on this machine."""
    if host in EVERY_INTERFACE:
        host = "::1" if host == "::" else "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + ("" if name == "mnist" else f"?model={name}")


def every_interface_warning(host):
    """The line printed when the server can be reached from other machines, else None."""
    if host not in EVERY_INTERFACE:
        return None
    shown = host or '""'
    return (f"warning: --host {shown} listens on every network interface: anyone who "
            f"can reach this machine can use the server (the default, 127.0.0.1, is this "
            f"machine only)")


def serve(args):
    """Load the model, then serve until Ctrl-C. Raises ServeError."""
    try:
        from codelab import restapi  # aiohttp: a requirement that older installs lack
    except ImportError as error:
        raise ServeError(f"serve.py needs {error.name}: pip install -r requirements.txt "
                         f"(or requirements-without-tensorflow.txt)") from None
    import trainer  # TensorFlow's options, its start-up notices hidden
    try:
        path = servedmodel.locate(args.model)  # a second, not TensorFlow's start, to find out
        trainer.import_tensorflow()
        model = servedmodel.ServedModel.load(path, args.name)
    except (servedmodel.ModelError, trainer.TrainingError) as error:
        raise ServeError(str(error)) from None
    # What is loaded now (TensorFlow, the model: some 300,000 objects) stays for good: kept
    # out of the garbage collector's passes, which a request's JSON (a list per pixel)
    # starts often. Walking them all made a 100-image request ten times slower.
    gc.freeze()

    def listening(host, port):  # said once it listens: not before a port in use is refused
        print(f"serving {model.path} as model {model.name!r}, version {model.version}", flush=True)
        warning = every_interface_warning(args.host)
        if warning:
            print(warning, flush=True)
        address = page_address(args.host, port, args.name)
        print(f"draw a digit: {address}\n"
              f"REST API:     {address.split('?')[0]}v1/models/{args.name} (docs/serving.md)\n"
              f"Ctrl-C stops the server", flush=True)

    app = restapi.RestApi(model).app()
    try:
        restapi.run(app, args.host, args.port, listening)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ServeError(f"--port {args.port}: the port is in use on {args.host} (another "
                             f"serve.py, or TensorFlow Serving?): stop that server, or choose "
                             f"another port, e.g. --port {args.port + 1}") from None
        where = f"{args.host or 'every interface'} port {args.port}"
        raise ServeError(f"cannot listen on {where} ({error.strerror or error}): check "
                         f"--host and --port") from None


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Serve a model saved by a stage's --save-model with TensorFlow Serving's "
        "REST API, and a page to draw digits on.",
        epilog="example: python3 serve.py --model models/3.1, then open http://127.0.0.1:8501/")
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="directory written by a stage's --save-model DIR (or the "
                        "SavedModel directory inside it)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only; "
                        "0.0.0.0: every interface)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default: {DEFAULT_PORT}, TensorFlow "
                        "Serving's REST port; 0: any free port)")
    parser.add_argument("--name", default="mnist",
                        help="the model's name in the addresses, /v1/models/NAME "
                        "(default: mnist)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port}: a port is a number from 0 to 65535")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", args.name):
        parser.error(f"--name {args.name!r}: use letters, digits, '.', '_' and '-' only")
    args.model = os.path.expanduser(args.model)
    try:
        serve(args)
    except ServeError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        pass
    print("server stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
