"""serve.py's HTTP side: TensorFlow Serving's REST API for one ServedModel, and the
draw-a-digit page (the files in codelab/page/), on aiohttp.

    GET  /                                      the page (its files under /page/)
    GET  /v1/models/NAME[/versions/N]           status ({"model_version_status": [...]})
    GET  /v1/models/NAME[/versions/N]/metadata  the signatures
    POST /v1/models/NAME[/versions/N]:predict   {"instances": ...} or {"inputs": ...}

Every refusal is JSON, {"error": "..."}: 400 for a request the model cannot take, 404
for an unknown address, model name or version, 405 for a wrong method, 413 for a body
over MAX_BODY. Why aiohttp (and not http.server, waitress or tornado): docs/serving.md.

The event loop reads requests and writes answers; the model runs in a small pool of
threads (TensorFlow releases the GIL while it computes), so a slow request never stops
the server from answering the others.
"""

import asyncio
import concurrent.futures
import contextlib
import signal
import sys
from pathlib import Path

from aiohttp import web

from codelab.servedmodel import BadRequest

PAGE = Path(__file__).resolve().parent / "page"
MAX_BODY = 16 * 2**20  # bytes: about 2,000 MNIST images per request, written as JSON
MODEL_THREADS = 4  # predictions computed at once; more requests wait for a free thread
NAME = r"{name:[^/:]+}"  # a model name: no slash, no colon (":predict" follows it)
VERSION = r"{version:\d+}"


class RestApi:
    """The request handlers for one model; app() puts them on their addresses."""

    def __init__(self, model, threads=MODEL_THREADS):
        self.model = model
        self.pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="model")

    def app(self):
        app = web.Application(client_max_size=MAX_BODY, middlewares=[json_errors])
        app.router.add_get("/", self.page)
        app.router.add_static("/page/", PAGE)
        for model in (f"/v1/models/{NAME}", f"/v1/models/{NAME}/versions/{VERSION}"):
            app.router.add_get(model, self.status)
            app.router.add_get(model + "/metadata", self.metadata)
            app.router.add_post(model + ":predict", self.predict)
        app.on_cleanup.append(self.close)
        return app

    async def close(self, app):
        self.pool.shutdown(wait=True)  # the predictions under way finish first

    def check_model(self, request):
        name = request.match_info["name"]
        if name != self.model.name:
            raise BadRequest(f"no model named {name!r} here: this server serves "
                             f"{self.model.name!r} (GET /v1/models/{self.model.name})", status=404)
        self.model.check_version(request.match_info.get("version"))

    async def page(self, request):
        return web.FileResponse(PAGE / "index.html")

    async def status(self, request):
        self.check_model(request)
        return web.json_response(self.model.status())

    async def metadata(self, request):
        self.check_model(request)
        return web.json_response(self.model.metadata())

    async def predict(self, request):
        self.check_model(request)
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise body_too_large()  # said before the body is read
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:  # a body sent without its length
            raise body_too_large() from None
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(self.pool, self.model.predict, body)
        return web.json_response(answer)


def body_too_large():
    return BadRequest(f"the request body is over {MAX_BODY // 2**20} MiB: send fewer "
                      f"examples per request", status=413)


@web.middleware
async def json_errors(request, handler):
    """Every refusal as TF Serving writes it: {"error": "..."} with its HTTP status."""
    try:
        return await handler(request)
    except BadRequest as error:
        return error_response(str(error), error.status)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        message = {404: f"nothing at {request.path}: the API is at /v1/models/NAME, "
                        f"/v1/models/NAME/metadata and /v1/models/NAME:predict",
                   405: f"{request.method} is not allowed at {request.path}: predict with "
                        f"POST, read status and metadata with GET"}.get(error.status, error.reason)
        return error_response(message, error.status)
    except Exception as error:  # a fault of the server's, not the client's: say it, go on
        print(f"error: {request.method} {request.path}: {type(error).__name__}: {error}",
              file=sys.stderr, flush=True)
        return error_response(f"internal error ({type(error).__name__}: {error})", 500)


def error_response(message, status):
    return web.json_response({"error": message}, status=status)


def run(app, host, port, listening):
    """Serve `app` on host:port until SIGTERM (returns) or Ctrl-C (KeyboardInterrupt);
    listening(host, port) is called once it listens (port 0: a free port). Raises OSError if
    it cannot listen there."""
    asyncio.run(serve_until_stopped(app, host, port, listening))


async def serve_until_stopped(app, host, port, listening):
    stopped = asyncio.Event()
    with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C only
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        listening(bound_host, bound_port)
        await stopped.wait()
    finally:
        await runner.cleanup()
