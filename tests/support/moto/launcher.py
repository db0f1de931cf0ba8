#!/usr/bin/env python3
"""Starts moto (with outbound's extensions) and the fault-injecting proxy in front of it.

    python launcher.py --ready-file PATH [--log-file PATH] [--no-stdin-watch]
                       [--moto-port N] [--proxy-port N] [--events-rate N]

Both servers listen on 127.0.0.1 (ephemeral ports by default).  Once both listen, PATH is
written atomically (temp file + rename) with
    {"moto": "http://127.0.0.1:P1", "proxy": "http://127.0.0.1:P2", "pid": N}
The launcher exits when its standard input reaches end-of-file (so a test process that dies
never leaves it behind: keep the write end of a pipe open for as long as you need it), on
SIGTERM or SIGINT.  On exit it removes PATH.  It prints nothing once started; --log-file
collects moto's and the launcher's log.  See docs/testing.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import threading
import traceback
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ready-file", required=True, help="where to write the endpoints JSON once ready")
    parser.add_argument("--log-file", help="append logs here (default: discard)")
    parser.add_argument("--no-stdin-watch", action="store_true", help="do not exit when stdin closes")
    parser.add_argument("--moto-port", type=int, default=0)
    parser.add_argument("--proxy-port", type=int, default=0)
    parser.add_argument(
        "--events-rate", type=float, default=float(os.environ.get("OUTBOUND_PROXY_EVENTS_RATE") or 0),
        help="throttle EventBridge operations above N per second per region (default: off; "
        "also OUTBOUND_PROXY_EVENTS_RATE)",
    )
    return parser.parse_args()


def setup_environment(log_file: str | None) -> None:
    # Never talk to real AWS, whatever the caller's environment holds.
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        # Backends for any region name, not only the ones botocore knows (docs/testing.md).
        MOTO_ALLOW_NONEXISTENT_REGION="true",
    )
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def start_moto(port: int) -> Any:
    """moto's WSGI app on a threaded werkzeug server, every request under extensions.LOCK."""
    import extensions
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    extensions.install()
    app = DomainDispatcherApplication(create_backend_app)
    log = logging.getLogger("moto-app")

    def locked_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with extensions.LOCK:
            try:
                result = app(environ, start_response)
                try:
                    return [b"".join(result)]
                finally:
                    getattr(result, "close", lambda: None)()
            except Exception as e:  # surface emulator bugs to the client instead of an HTML page
                log.error("unhandled error:\n%s", traceback.format_exc())
                body = json.dumps({"__type": "InternalFailure", "message": f"moto: {type(e).__name__}: {e}"})
                start_response(
                    "500 Internal Server Error",
                    [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", "InternalFailure")],
                    sys.exc_info(),
                )
                return [body.encode()]

    class Handler(MotoRequestHandler):
        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            log.info('"%s" %s', self.requestline, code)

    server = make_server(HOST, port, locked_app, threaded=True, request_handler=Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    return server


def warm_up(moto_port: int) -> None:
    """Load the events, secretsmanager and transfer backends now rather than in a test's first call."""
    import http.client

    for target, service in (("AWSEvents.ListConnections", "events"), ("TransferService.ListConnectors", "transfer")):
        conn = http.client.HTTPConnection(HOST, moto_port, timeout=60)
        conn.request(
            "POST", "/", body=b"{}",
            headers={
                "X-Amz-Target": target,
                "Content-Type": "application/x-amz-json-1.1",
                "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/{service}/aws4_request, "
                "SignedHeaders=host, Signature=0",
            },
        )
        conn.getresponse().read()
        conn.close()


def write_ready_file(path: str, payload: dict[str, Any]) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    try:
        while os.read(0, 65536):
            pass
    except OSError:
        pass
    loop.call_soon_threadsafe(stop.set)


async def serve(args: argparse.Namespace, moto_port: int) -> None:
    import proxy

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if not args.no_stdin_watch:
        threading.Thread(target=watch_stdin, args=(loop, stop), name="stdin-watch", daemon=True).start()

    front = proxy.Proxy(HOST, moto_port, events_rate=args.events_rate or None)
    proxy_port = await front.start(HOST, args.proxy_port)
    write_ready_file(
        args.ready_file,
        {"moto": f"http://{HOST}:{moto_port}", "proxy": f"http://{HOST}:{proxy_port}", "pid": os.getpid()},
    )
    logging.getLogger("launcher").info("ready: moto %s, proxy %s", moto_port, proxy_port)
    # From here on nothing may write to the caller's stdout/stderr (it may be a test's pipe
    # that nobody reads); the log goes to --log-file.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    await stop.wait()
    await front.close()


def main() -> int:
    args = parse_args()
    sys.path.insert(0, HERE)
    setup_environment(args.log_file)
    moto_server = start_moto(args.moto_port)
    moto_port = moto_server.server_address[1]
    warm_up(moto_port)
    try:
        asyncio.run(serve(args, moto_port))
    finally:
        try:
            os.remove(args.ready_file)
        except OSError:
            pass
        moto_server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
