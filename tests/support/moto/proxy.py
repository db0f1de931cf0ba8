"""A small asyncio HTTP/1.1 reverse proxy in front of moto that records calls and injects faults.

Standard library only.  Each client connection is served by its own task and may carry any
number of keep-alive requests; each forwarded request uses a fresh upstream connection
(`Connection: close`), so concurrency is bounded only by moto's threaded server.

Control endpoints (never forwarded, never recorded), all JSON:
  GET    /__health                      {"ok": true}
  GET    /__calls[?region=R&service=S&operation=O]   recorded calls, oldest first
  DELETE /__calls[?region=R...]         forget matching calls -> {"deleted": n}
  POST   /__faults  {"operation", "region"?, "service"?, "fault", "count"?, "skip"?, "delay_ms"?,
                     "status"?, "code"?, "message"?}         -> the stored rule with its "id"
                     ("skip": N lets the first N matching calls through untouched)
  GET    /__faults                      rules still armed
  DELETE /__faults[?region=R]           disarm (all, or one region's) -> {"deleted": n}
  POST   /__points  {"region", "call", "when"?, "action"?, "count"?}  a kill or fault point at
                     the region's Nth AWS call from now -> the stored point with its "id"
  GET    /__points[?region=R]           points with their state (armed, held, fired, released)
  DELETE /__points[?region=R]           release held requests (never answered) and disarm
  POST   /__config  {"region", "settleReads"?, "pageSize"?}  (extensions.configure)
  POST   /__state   {"region", "connection"|"connector"|"apiDestination", ...}  (extensions.set_state)
  POST   /__ratelimit {"region"?, "rate": N|null, "burst"?}  EventBridge token bucket -> the setting
  GET    /__ratelimit                   every region's setting
See docs/testing.md for the semantics.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import extensions

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
    "upgrade", "content-length", "expect",
}
FAULT_KINDS = {"throttle", "server_error", "drop", "access_denied", "delay", "error"}
POINT_WHEN = {"before", "after"}
POINT_ACTIONS = {"hold", "throttle", "server_error", "drop", "access_denied", "error"}
TARGET_PREFIXES = {"TransferService": "transfer", "AWSEvents": "events"}


class Request:
    def __init__(self, method: str, target: str, version: str, headers: list[tuple[str, str]], body: bytes):
        self.method, self.target, self.version = method, target, version
        self.headers, self.body = headers, body
        self.lower = {k.lower(): v for k, v in headers}

    def keep_alive(self) -> bool:
        conn = self.lower.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return conn == "keep-alive"
        return conn != "close"

    def aws_identity(self) -> tuple[str | None, str | None, str | None]:
        """(service, operation, region) from X-Amz-Target (or a query-protocol form's Action)
        and the SigV4 credential scope."""
        service = region = operation = None
        target = self.lower.get("x-amz-target")
        if target and "." in target:
            prefix, operation = target.split(".", 1)
            service = TARGET_PREFIXES.get(prefix)
        auth = self.lower.get("authorization", "")
        if "Credential=" in auth:
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0].strip().split("/")
            if len(scope) == 5:
                region, service = scope[2], scope[3]
        if service == "s3" and operation is None:
            operation = self.s3_operation()
        elif operation is None and "x-www-form-urlencoded" in self.lower.get("content-type", ""):
            # The query protocol (STS): the operation is the form's `Action`.
            actions = parse_qs(self.body.decode("utf-8", "replace")).get("Action")
            operation = actions[0] if actions else None
        return service, operation, region

    def s3_operation(self) -> str:
        """The S3 REST operation of a path-style request (`/bucket/key`)."""
        path = urlsplit(self.target).path.strip("/")
        if "/" in path:
            return {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject",
                    "DELETE": "DeleteObject"}.get(self.method, f"{self.method}Object")
        if path:
            return {"GET": "ListObjects", "PUT": "CreateBucket", "HEAD": "HeadBucket",
                    "DELETE": "DeleteBucket"}.get(self.method, f"{self.method}Bucket")
        return "ListBuckets"


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise
        return None  # the client closed an idle keep-alive connection
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    lower = {k.lower(): v for k, v in headers}
    if lower.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in lower.get("transfer-encoding", "").lower():
        body = await read_chunked(reader)
    else:
        body = await reader.readexactly(int(lower.get("content-length", "0") or 0))
    return Request(method, target, version.strip(), headers, body)


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return body
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def decode_chunked(data: bytes) -> bytes:
    body = b""
    while True:
        line, _, data = data.partition(b"\r\n")
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return body
        body, data = body + data[:size], data[size + 2 :]


def response_bytes(status: int, reason: str, headers: list[tuple[str, str]], body: bytes, keep_alive: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() not in HOP_BY_HOP]
    lines += [f"Content-Length: {len(body)}", f"Connection: {'keep-alive' if keep_alive else 'close'}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_response(status: int, payload: Any, keep_alive: bool) -> bytes:
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
    return response_bytes(
        status, reasons.get(status, "OK"), [("Content-Type", "application/json")],
        json.dumps(payload).encode(), keep_alive,
    )


def fault_response(service: str | None, fault: dict[str, Any], operation: str | None, region: str | None) -> tuple[int, str, bytes]:
    """(status, error code, body) of an injected AWS JSON-1.1 error."""
    kind = fault["fault"]
    if kind in ("throttle", "rate_limit"):
        status, code, message = 400, "ThrottlingException", "Rate exceeded"
    elif kind == "server_error":
        status = 500
        code = "InternalServiceError" if service == "transfer" else "InternalFailure"
        message = "The request processing has failed because of an unknown error, exception or failure."
    elif kind == "access_denied":
        status, code = 400, "AccessDeniedException"
        prefix = service or "aws"
        message = (
            f"User: arn:aws:iam::{extensions.DEFAULT_ACCOUNT_ID}:user/testing is not authorized to perform: "
            f"{prefix}:{operation} on resource: arn:aws:{prefix}:{region}:{extensions.DEFAULT_ACCOUNT_ID}:*"
        )
    else:  # "error": a custom one
        status = int(fault.get("status", 400))
        code = fault.get("code", "ValidationException")
        message = fault.get("message", f"Injected {code}")
    if service == "s3":  # S3 answers in XML, with its own codes and statuses
        status, code = {"throttle": (503, "SlowDown"), "server_error": (500, "InternalError"),
                        "access_denied": (403, "AccessDenied")}.get(kind, (status, code))
        if kind == "access_denied":
            message = "Access Denied"
        xml = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        return status, code, xml.encode()
    message_key = "Message" if service == "transfer" else "message"
    return status, code, json.dumps({"__type": code, message_key: message}).encode()


class EventsRateLimit:
    """Token buckets of EventBridge operations, one per region, like AWS's per-account-and-Region
    control-plane rate: `rate` requests per second, `burst` (default: one second's worth) at once.
    A setting without a region is the default of every region that has none of its own."""

    def __init__(self, default_rate: float | None = None):
        self.settings: dict[str | None, dict[str, Any]] = {}
        self.buckets: dict[str | None, list[float]] = {}  # region -> [tokens, last refill]
        if default_rate:
            self.configure({"rate": default_rate})

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        region, rate = spec.get("region"), spec.get("rate")
        self.buckets = {r: b for r, b in self.buckets.items() if region is not None and r != region}
        if rate is None or float(rate) <= 0:
            self.settings.pop(region, None)
            return {"region": region, "rate": None}
        burst = float(spec.get("burst") or rate)
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.settings[region] = {"region": region, "rate": float(rate), "burst": burst}
        return self.settings[region]

    def allow(self, service: str | None, region: str | None) -> bool:
        """Takes a token for an EventBridge request of `region`; False when there is none."""
        setting = self.settings.get(region) or self.settings.get(None)
        if service != "events" or setting is None:
            return True
        now = time.monotonic()
        tokens, last = self.buckets.get(region, [setting["burst"], now])
        tokens = min(setting["burst"], tokens + (now - last) * setting["rate"])
        allowed = tokens >= 1
        self.buckets[region] = [tokens - 1 if allowed else tokens, now]
        return allowed


class Proxy:
    def __init__(self, upstream_host: str, upstream_port: int, events_rate: float | None = None):
        self.rate_limit = EventsRateLimit(events_rate)
        self.upstream = (upstream_host, upstream_port)
        self.calls: list[dict[str, Any]] = []
        self.faults: list[dict[str, Any]] = []
        self.seq = 0
        self.fault_id = 0
        self.points: list[dict[str, Any]] = []
        self.point_id = 0
        self.releases: dict[int, asyncio.Event] = {}
        self.server: asyncio.base_events.Server | None = None

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self.serve_client, host, port, limit=1 << 20, backlog=256)
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server:
            self.server.close()

    async def serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader, writer)
                if request is None:
                    break
                if not await self.handle(request, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    # ---- one request; returns whether the connection stays open -------------------------
    async def handle(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        keep_alive = request.keep_alive()
        if request.target.startswith("/__"):
            writer.write(self.control(request, keep_alive))
            await writer.drain()
            return keep_alive

        service, operation, region = request.aws_identity()
        self.seq += 1
        call: dict[str, Any] = {
            "seq": self.seq, "service": service, "operation": operation, "region": region,
            "status": None, "fault": None, "error": None, "time": round(time.time(), 3),
        }
        self.calls.append(call)
        point = self.take_point(operation, region, call)
        if point:
            return await self.at_point(point, request, call, writer, keep_alive)
        fault = self.take_fault(service, operation, region)
        if not fault and not self.rate_limit.allow(service, region):
            fault = {"fault": "rate_limit"}
        if fault:
            call["fault"] = fault["fault"]
            if fault.get("delay_ms"):
                await asyncio.sleep(fault["delay_ms"] / 1000)
            if fault["fault"] not in ("drop", "delay"):
                status, code, body = fault_response(service, fault, operation, region)
                call.update(status=status, error=code)
                headers = [
                    ("Content-Type", "application/xml" if service == "s3" else "application/x-amz-json-1.1"),
                    ("x-amzn-RequestId", str(uuid.uuid4())),
                    ("x-amzn-ErrorType", code),
                ]
                reason = {403: "Forbidden", 503: "Slow Down"}.get(
                    status, "Internal Server Error" if status >= 500 else "Bad Request")
                writer.write(response_bytes(status, reason, headers, body, keep_alive))
                await writer.drain()
                return keep_alive

        status, reason, headers, body = await self.forward_recorded(request, call)
        if fault and fault["fault"] == "drop":
            return False  # moto made the change; the client never hears about it
        writer.write(response_bytes(status, reason, headers, body, keep_alive))
        await writer.drain()
        return keep_alive

    async def forward_recorded(self, request: Request, call: dict[str, Any]) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Forwards `request` to moto and records its status and error code in `call`."""
        try:
            status, reason, headers, body = await self.forward(request)
        except OSError as e:
            status, reason, headers = 502, "Bad Gateway", [("Content-Type", "application/x-amz-json-1.1")]
            body = json.dumps({"__type": "InternalFailure", "message": f"proxy: moto unreachable: {e}"}).encode()
        call["status"] = status
        if status >= 300:
            call["error"] = self.error_code(headers, body)
        return status, reason, headers, body

    async def forward(self, request: Request) -> tuple[int, str, list[tuple[str, str]], bytes]:
        reader, writer = await asyncio.open_connection(*self.upstream, limit=1 << 20)
        try:
            lines = [f"{request.method} {request.target} HTTP/1.1"]
            lines += [f"{k}: {v}" for k, v in request.headers if k.lower() not in HOP_BY_HOP]
            lines += [f"Content-Length: {len(request.body)}", "Connection: close"]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body)
            await writer.drain()
            raw = await reader.read()  # until moto closes the connection
        finally:
            writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        _, status, reason = (status_line.split(" ", 2) + [""])[:3]
        headers = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in header_lines if h)]
        if any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
            body = decode_chunked(body)
        return int(status), reason, headers, body

    @staticmethod
    def error_code(headers: list[tuple[str, str]], body: bytes) -> str | None:
        for k, v in headers:
            if k.lower() == "x-amzn-errortype":
                return v.split(":", 1)[0]
        if body.lstrip().startswith(b"<"):  # S3's XML errors
            text = body.decode("utf-8", "replace")
            start, end = text.find("<Code>"), text.find("</Code>")
            return text[start + 6 : end] if 0 <= start < end else None
        try:
            return str(json.loads(body).get("__type")).split("#")[-1]
        except (ValueError, AttributeError):
            return None

    # ---- faults ------------------------------------------------------------------------
    def take_fault(self, service: str | None, operation: str | None, region: str | None) -> dict[str, Any] | None:
        for rule in self.faults:
            if rule["operation"] not in ("*", operation):
                continue
            if rule.get("region") and rule["region"] != region:
                continue
            if rule.get("service") and rule["service"] != service:
                continue
            if rule["skip"] > 0:
                rule["skip"] -= 1
                return None
            if rule["count"] > 0:
                rule["count"] -= 1
                if rule["count"] == 0:
                    self.faults.remove(rule)
            return dict(rule)
        return None

    def add_fault(self, spec: dict[str, Any]) -> dict[str, Any]:
        if spec.get("fault") not in FAULT_KINDS:
            raise ValueError(f"fault must be one of {sorted(FAULT_KINDS)}")
        if not spec.get("operation"):
            raise ValueError("operation is required (an operation name such as CreateConnector, or *)")
        self.fault_id += 1
        rule = {
            "id": self.fault_id,
            "operation": spec["operation"],
            "region": spec.get("region"),
            "service": spec.get("service"),
            "fault": spec["fault"],
            "count": int(spec.get("count", 1)),  # a negative count never runs out
            "skip": int(spec.get("skip", 0)),
            "delay_ms": int(spec.get("delay_ms", 0)),
        }
        for key in ("status", "code", "message"):
            if key in spec:
                rule[key] = spec[key]
        if rule["count"] != 0:
            self.faults.append(rule)
        return rule

    # ---- points: the Nth call of a region, held (for a kill) or failed ------------------
    def take_point(self, operation: str | None, region: str | None, call: dict[str, Any]) -> dict[str, Any] | None:
        """Counts this call against the armed points of its region; returns the one it fires.

        A point fires at its `call`th call of the region after it was armed, and for `count`
        calls in a row from there when they are the same operation (the SDK's retries).
        """
        for point in self.points:
            if point["region"] != region or point["state"] not in ("armed", "firing"):
                continue
            point["seen"] += 1
            if point["seen"] < point["call"]:
                continue
            if point["state"] == "firing" and operation != point["operation"]:
                point["state"] = "fired"
                continue
            point["state"] = "firing"
            point["operation"] = operation
            point["seqs"].append(call["seq"])
            point["remaining"] -= 1
            if point["remaining"] <= 0:
                point["state"] = "fired"
            return point
        return None

    async def at_point(self, point: dict[str, Any], request: Request, call: dict[str, Any],
                       writer: asyncio.StreamWriter, keep_alive: bool) -> bool:
        """Acts on a fired point; returns whether the client connection stays open.

        `before`: moto never sees the request. `after`: moto performs it first, and what the
        client gets (nothing, or an error) replaces moto's answer.
        """
        service, operation, region = request.aws_identity()
        action, when = point["action"], point["when"]
        call["fault"] = f"{action}-{when}"
        if when == "after":
            await self.forward_recorded(request, call)
        if action == "hold":
            point["state"] = "held"
            event = self.releases.setdefault(point["id"], asyncio.Event())
            await event.wait()
            return False  # released: the client (killed by now) never gets an answer
        if action == "drop":
            return False
        status, code, body = fault_response(service, {"fault": action, **point}, operation, region)
        call.update(status=status, error=code)
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", str(uuid.uuid4())),
            ("x-amzn-ErrorType", code),
        ]
        reason = "Internal Server Error" if status >= 500 else "Bad Request"
        writer.write(response_bytes(status, reason, headers, body, keep_alive))
        await writer.drain()
        return keep_alive

    def add_point(self, spec: dict[str, Any]) -> dict[str, Any]:
        if not spec.get("region"):
            raise ValueError("region is required: a point counts the calls of one region")
        call = int(spec.get("call", 0))
        if call < 1:
            raise ValueError("call must be 1 or more (the Nth AWS call of the region from now)")
        when = spec.get("when", "before")
        if when not in POINT_WHEN:
            raise ValueError(f"when must be one of {sorted(POINT_WHEN)}")
        action = spec.get("action", "hold")
        if action not in POINT_ACTIONS:
            raise ValueError(f"action must be one of {sorted(POINT_ACTIONS)}")
        self.point_id += 1
        point = {
            "id": self.point_id, "region": spec["region"], "call": call, "when": when,
            "action": action, "count": int(spec.get("count", 1)), "state": "armed",
            "seen": 0, "operation": None, "seqs": [],
        }
        point["remaining"] = point["count"]
        for key in ("status", "code", "message"):
            if key in spec:
                point[key] = spec[key]
        self.points.append(point)
        return point

    def release_points(self, region: str | None) -> int:
        """Wakes the held requests of `region` (all regions when None) and disarms its points."""
        released = 0
        for point in [p for p in self.points if region is None or p["region"] == region]:
            if point["state"] == "held":
                released += 1
            point["state"] = "released" if point["state"] == "held" else point["state"]
            self.releases.setdefault(point["id"], asyncio.Event()).set()
            self.points.remove(point)
        return released

    # ---- control plane -----------------------------------------------------------------
    def control(self, request: Request, keep_alive: bool) -> bytes:
        url = urlsplit(request.target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        method, path = request.method, url.path.rstrip("/")

        def matches(call: dict[str, Any]) -> bool:
            return all(call.get(k) == query[k] for k in ("region", "service", "operation") if k in query)

        try:
            body = json.loads(request.body or b"{}")
            if path == "/__health" and method == "GET":
                return json_response(200, {"ok": True}, keep_alive)
            if path == "/__calls" and method == "GET":
                return json_response(200, [c for c in self.calls if matches(c)], keep_alive)
            if path == "/__calls" and method == "DELETE":
                before = len(self.calls)
                self.calls = [c for c in self.calls if not matches(c)]
                return json_response(200, {"deleted": before - len(self.calls)}, keep_alive)
            if path == "/__faults" and method == "POST":
                return json_response(200, self.add_fault(body), keep_alive)
            if path == "/__faults" and method == "GET":
                return json_response(200, self.faults, keep_alive)
            if path == "/__faults" and method == "DELETE":
                before = len(self.faults)
                region = query.get("region")
                self.faults = [f for f in self.faults if region and f.get("region") != region]
                return json_response(200, {"deleted": before - len(self.faults)}, keep_alive)
            if path == "/__points" and method == "POST":
                return json_response(200, self.add_point(body), keep_alive)
            if path == "/__points" and method == "GET":
                region = query.get("region")
                return json_response(200, [p for p in self.points if not region or p["region"] == region], keep_alive)
            if path == "/__points" and method == "DELETE":
                return json_response(200, {"released": self.release_points(query.get("region"))}, keep_alive)
            if path == "/__config" and method == "POST":
                return json_response(200, extensions.configure(body), keep_alive)
            if path == "/__ratelimit" and method == "POST":
                return json_response(200, self.rate_limit.configure(body), keep_alive)
            if path == "/__ratelimit" and method == "GET":
                return json_response(200, list(self.rate_limit.settings.values()), keep_alive)
            if path == "/__state" and method == "POST":
                return json_response(200, extensions.set_state(body), keep_alive)
        except (ValueError, KeyError, LookupError, TypeError) as e:
            return json_response(400, {"error": f"{type(e).__name__}: {e}"}, keep_alive)
        return json_response(404, {"error": f"no control endpoint {method} {url.path}"}, keep_alive)
