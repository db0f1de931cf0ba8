"""In-process extensions to moto 5.2.5 for the AWS operations outbound uses.

Importing this module replaces moto's handlers for these operations with ones that follow
the AWS documentation more closely (docs/testing.md lists every difference and why):

  transfer: CreateConnector DescribeConnector UpdateConnector DeleteConnector ListConnectors
            TagResource UntagResource ListTagsForResource
            ImportCertificate DescribeCertificate UpdateCertificate DeleteCertificate
            ListCertificates CreateProfile DescribeProfile UpdateProfile DeleteProfile
            ListProfiles (moto has neither certificates nor profiles)
  events:   CreateConnection DescribeConnection UpdateConnection DeleteConnection
            ListConnections DeauthorizeConnection CreateApiDestination DescribeApiDestination
            UpdateApiDestination DeleteApiDestination ListApiDestinations

The data still lives in moto's per-account, per-region backends (`events_backends`,
`transfer_backends`), so moto's own reset (`POST /moto-api/reset`) clears it too.

Every handler first validates its input against the botocore service model the way AWS
does (required members, lengths, patterns, enums, ranges), answering `ValidationException`
with AWS's message format.  The Rust SDK does no client-side validation, so without this
moto would accept anything.

`LOCK` serialises all moto requests (the launcher wraps moto's WSGI app in it) and the
control operations at the bottom of this file.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
from typing import Any, Callable

import botocore.session
import regex  # a moto dependency; unlike `re` it supports a match timeout
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.events.models import Connection, Destination, events_backends
from moto.events.responses import EventsHandler
from moto.moto_api._internal import mock_random
from moto.secretsmanager import secretsmanager_backends
from moto.transfer.models import transfer_backends
from moto.transfer.responses import TransferResponse
from moto.utilities.utils import CamelToUnderscoresWalker, get_partition

LOCK = threading.RLock()

# --------------------------------------------------------------------------------------
# Per-region knobs, set through the proxy's POST /__config (see proxy.py).  The defaults
# follow what real AWS recorded (docs/testing.md cites each source).
#   oauthReads:  how many DescribeConnection calls still see an OAuth connection
#                AUTHORIZING after its creation or a re-authorizing update (AWS: still
#                AUTHORIZING at the Describe right after creation).  0 = AUTHORIZED at the
#                first Describe.  BASIC and API_KEY connections are AUTHORIZED at once.
#   settleReads: how many Describe calls see a connector PENDING after its creation, or a
#                connection DEAUTHORIZING after DeauthorizeConnection.  0 = settle at once.
#   destinationsFollowConnection: an API destination whose connection is AUTHORIZING is
#                INACTIVE (AWS-recorded); false = always ACTIVE unless forced by /__state.
#   pageSize:    page size of List* calls that send no Limit/MaxResults (None = AWS max).
#   writeTimeSkewMs: a test switch, not an AWS behaviour: the LastModifiedTime that the
#                answers of the connection and API destination writes (Create, Update,
#                Deauthorize, Delete) carry is this many milliseconds after the one List and
#                Describe show (0 = the same).  Whether AWS's write answers and reads always
#                agree is not documented (docs/architecture.md): outbound must be right
#                either way, and this proves it.
# --------------------------------------------------------------------------------------
_REGION_CONFIG: dict[str, dict[str, Any]] = {}
KNOBS = {"oauthReads": 1, "settleReads": 0, "destinationsFollowConnection": True, "pageSize": None,
         "writeTimeSkewMs": 0}


def region_config(region: str) -> dict[str, Any]:
    return _REGION_CONFIG.setdefault(region, dict(KNOBS))


def _now(previous: float | None = None) -> float:
    """Epoch seconds with millisecond precision (as AWS returns them), strictly after
    `previous` so that every change moves LastModifiedTime."""
    t = round(time.time(), 3)
    if previous is not None and t <= previous:
        t = round(previous + 0.001, 3)
    return t


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------
class ApiError(JsonRESTError):
    """An AWS JSON-1.1 error: body {"__type": code, <message_key>: message, **extra}."""

    def __init__(self, service: str, code: str, message: str, status: int = 400, **extra: Any):
        super().__init__(code, message)
        self.code = status
        message_key = "Message" if service == "transfer" else "message"
        self.description = json.dumps({"__type": code, message_key: message, **extra})


def _not_found_connector(connector_id: str) -> ApiError:
    return ApiError(
        "transfer",
        "ResourceNotFoundException",
        f"Unknown connector: {connector_id}",
        Resource=connector_id,
        ResourceType="Connector",
    )


# --------------------------------------------------------------------------------------
# Input validation against the botocore model (AWS "Coral" style messages)
# --------------------------------------------------------------------------------------
_session = botocore.session.get_session()
_models: dict[str, Any] = {}


def validate(service: str, operation: str, params: dict[str, Any]) -> None:
    if service not in _models:
        _models[service] = _session.get_service_model(service)
    shape = _models[service].operation_model(operation).input_shape
    problems: list[str] = []
    _check(shape, params, "", problems)
    if problems:
        n = len(problems)
        plural = "s" if n > 1 else ""
        raise ApiError(
            service,
            "ValidationException",
            f"{n} validation error{plural} detected: " + "; ".join(problems),
        )


def _check(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    secret = bool(meta.get("sensitive"))

    def fail(constraint: str) -> None:
        shown = "" if secret else f" '{value}'"
        problems.append(f"Value{shown} at '{path}' failed to satisfy constraint: Member must {constraint}")

    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return fail("be a structure")
        for name in shape.required_members:
            if value.get(name) is None:
                member_path = f"{path}.{_lower(name)}" if path else _lower(name)
                problems.append(f"Value null at '{member_path}' failed to satisfy constraint: Member must not be null")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _check(member, value[name], f"{path}.{_lower(name)}" if path else _lower(name), problems)
    elif kind in ("list", "map"):
        if not isinstance(value, (list, dict)):
            return fail(f"be a {kind}")
        _check_length(meta, len(value), fail)
        if kind == "list":
            for i, item in enumerate(value, 1):
                _check(shape.member, item, f"{path}.{i}.member", problems)
    elif kind == "string":
        if not isinstance(value, str):
            return fail("be a string")
        if shape.enum and value not in shape.enum:
            return fail(f"satisfy enum value set: [{', '.join(shape.enum)}]")
        _check_length(meta, len(value), fail)
        pattern = meta.get("pattern")
        if pattern and not _matches(pattern, value):
            fail(f"satisfy regular expression pattern: {pattern}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return fail("be an integer")
        if "min" in meta and value < meta["min"]:
            fail(f"have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            fail(f"have value less than or equal to {meta['max']}")


def _check_length(meta: dict[str, Any], length: int, fail: Callable[[str], None]) -> None:
    if "min" in meta and length < meta["min"]:
        fail(f"have length greater than or equal to {meta['min']}")
    if "max" in meta and length > meta["max"]:
        fail(f"have length less than or equal to {meta['max']}")


def _matches(pattern: str, value: str) -> bool:
    try:
        return regex.fullmatch(pattern, value, timeout=0.5) is not None
    except TimeoutError:  # pathological backtracking: do not block the emulator on it
        return True


def _lower(name: str) -> str:
    return name[:1].lower() + name[1:]


# --------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------
def _params(handler: Any) -> dict[str, Any]:
    body = handler.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return json.loads(body or "{}")


def _ok(payload: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    return 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(payload)


def _prune(value: Any) -> Any:
    """Drop None members, as AWS omits unset optional members."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _paginate(
    service: str,
    region: str,
    items: list[Any],
    key: Callable[[Any], str],
    limit: int | None,
    token: str | None,
    default_max: int,
) -> tuple[list[Any], str | None]:
    """Pages sorted by `key`; NextToken encodes the last key returned."""
    items = sorted(items, key=key)
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
        except (ValueError, KeyError, TypeError):
            code = "InvalidNextTokenException" if service == "transfer" else "ValidationException"
            raise ApiError(service, code, "The nextToken is not valid.") from None
        items = [item for item in items if key(item) > after]
    size = limit or region_config(region)["pageSize"] or default_max
    page = items[:size]
    next_token = None
    if len(items) > size:
        next_token = base64.urlsafe_b64encode(json.dumps({"after": key(page[-1])}).encode()).decode()
    return page, next_token


def _transition(obj: Any, attr: str, transitional: str, final: str, reason: str | None, reads: int) -> None:
    """Set `attr` to `transitional` for the next `reads` Describe calls, then to `final`."""
    if reads > 0:
        setattr(obj, attr, transitional)
        obj.ext_reason = None
        obj.ext_pending = [reads, final, reason]
    else:
        setattr(obj, attr, final)
        obj.ext_reason = reason
        obj.ext_pending = None


def _observe(obj: Any, attr: str) -> tuple[str, str | None]:
    """What one Describe call sees; advances a pending transition."""
    shown = getattr(obj, attr), obj.ext_reason
    pending = getattr(obj, "ext_pending", None)
    if pending:
        pending[0] -= 1
        if pending[0] <= 0:
            setattr(obj, attr, pending[1])
            obj.ext_reason = pending[2]
            obj.ext_pending = None
    return shown


# --------------------------------------------------------------------------------------
# EventBridge connections
# --------------------------------------------------------------------------------------
AUTH_BLOCKS = {
    "BASIC": "BasicAuthParameters",
    "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters",
    "API_KEY": "ApiKeyAuthParameters",
}
HTTP_LISTS = ("HeaderParameters", "QueryStringParameters", "BodyParameters")


def _connection(handler: Any, name: str, describe: bool = False) -> Connection:
    conn = handler.events_backend.connections.get(name)
    if conn is None:
        # DescribeConnection's message is AWS-recorded; the other operations' are not.
        prefix = "Failed to describe the connection(s). " if describe else ""
        raise ApiError("events", "ResourceNotFoundException", f"{prefix}Connection '{name}' does not exist.")
    return conn


def _check_auth_blocks(auth_type: str, auth: dict[str, Any], must_have: bool) -> None:
    wanted = AUTH_BLOCKS[auth_type]
    for block in AUTH_BLOCKS.values():
        if block in auth and block != wanted:
            raise ApiError("events", "ValidationException", f"{block} cannot be used with AuthorizationType {auth_type}.")
    if must_have and wanted not in auth:
        raise ApiError("events", "ValidationException", f"AuthorizationType {auth_type} requires AuthParameters.{wanted}.")


def _credentials_complete(conn: Connection) -> bool:
    block = conn.auth_parameters.get(AUTH_BLOCKS[conn.authorization_type]) or {}
    if conn.authorization_type == "API_KEY":
        return bool(block.get("ApiKeyName") and block.get("ApiKeyValue"))
    if conn.authorization_type == "BASIC":
        return bool(block.get("Username") and block.get("Password"))
    client = block.get("ClientParameters") or {}
    return bool(client.get("ClientID") and client.get("ClientSecret") and block.get("AuthorizationEndpoint"))


def _authorize(conn: Connection, region: str) -> str:
    """(Re-)authorize after create/update with auth parameters; returns the state to report.

    AWS-recorded: BASIC and API_KEY answer AUTHORIZED and are AUTHORIZED at the next
    Describe; OAuth answers AUTHORIZING (AWS fetches a token asynchronously) and is still
    AUTHORIZING at the Describe right after, so it settles after `oauthReads` Describes."""
    if not _credentials_complete(conn):
        conn.state = "DEAUTHORIZED"
        conn.ext_reason = "Authorization parameters are incomplete; send the credentials again to authorize."
        conn.ext_pending = None
        return conn.state
    oauth = conn.authorization_type == "OAUTH_CLIENT_CREDENTIALS"
    reads = region_config(region)["oauthReads"] if oauth else 0
    _transition(conn, "state", "AUTHORIZING", "AUTHORIZED", None, reads)
    # Recorded: an OAuth connection still AUTHORIZING already shows LastAuthorizedTime.
    conn.ext_last_authorized = _now()
    return "AUTHORIZING" if oauth else "AUTHORIZED"


def _secret_value(auth: dict[str, Any]) -> dict[str, Any]:
    """The connection's Secrets Manager secret, in the lower_snake shape AWS recorded:
    BASIC {username, password}, API_KEY {api_key_name, api_key_value}, OAuth {client_id,
    client_secret, authorization_endpoint, http_method}, plus invocation_http_parameters
    when sent.  Only `{}` was recorded for the HTTP parameters: their inner shape (and the
    OAuth ones') is moto's snake_case conversion, an assumption."""
    out: dict[str, Any] = {}
    for block, value in auth.items():
        if block == "InvocationHttpParameters":
            out["invocation_http_parameters"] = CamelToUnderscoresWalker.parse(value)
        elif block == "OAuthParameters":
            client = value.get("ClientParameters") or {}
            out.update(_prune({"client_id": client.get("ClientID"), "client_secret": client.get("ClientSecret")}))
            out.update(_prune({
                "authorization_endpoint": value.get("AuthorizationEndpoint"),
                "http_method": value.get("HttpMethod"),
                "oauth_http_parameters": CamelToUnderscoresWalker.parse(value["OAuthHttpParameters"])
                if "OAuthHttpParameters" in value else None,
            }))
        else:
            out.update(CamelToUnderscoresWalker.parse(value))
    return out


def _write_secret(conn: Connection, region: str, account: str, new_version: bool) -> None:
    """Writes the connection's auth parameters to its secret (AWS-recorded shape and name).

    At creation the secret moto made (`events!connection/<name>/<uuid>/auth`, moto's shape)
    is replaced by one named as AWS names it, `events!connection/<name>/<uuid>` with a uuid
    of its own.  On update a new AWSCURRENT version is written (AWS-recorded: UpdateConnection
    rewrites the secret, with a new VersionId)."""
    secrets = secretsmanager_backends[account][region]
    text = json.dumps(_secret_value(conn.auth_parameters))
    if new_version:
        secrets.put_secret_value(conn.secret_arn, text, None, None, ["AWSCURRENT"])
        return
    secrets.delete_secret(conn.secret_arn, recovery_window_in_days=None, force_delete_without_recovery=True)
    secret = secrets.create_managed_secret(
        service_name="events",
        secret_id=f"events!connection/{conn.name}/{mock_random.uuid4()}",
        secret_string=text,
        description=f"Auth parameters for EventBridge connection {conn.name}",
    )
    conn.secret_arn = secret.arn


def _merge_http(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    # Each list that is sent replaces the stored list; lists not sent are kept.
    return {**(old or {}), **new}


def _merge_auth(stored: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(stored)
    for block in ("BasicAuthParameters", "ApiKeyAuthParameters"):
        if block in update:
            out[block] = {**out.get(block, {}), **update[block]}
    if "OAuthParameters" in update:
        oauth = dict(out.get("OAuthParameters", {}))
        for key, value in update["OAuthParameters"].items():
            if key == "ClientParameters":
                oauth[key] = {**oauth.get(key, {}), **value}
            elif key == "OAuthHttpParameters":
                oauth[key] = _merge_http(oauth.get(key), value)
            else:
                oauth[key] = value
        out["OAuthParameters"] = oauth
    if "InvocationHttpParameters" in update:
        out["InvocationHttpParameters"] = _merge_http(out.get("InvocationHttpParameters"), update["InvocationHttpParameters"])
    return out


def _public_http(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for list_name in HTTP_LISTS:
        if list_name in params:
            out[list_name] = [
                _prune({
                    "Key": p.get("Key"),
                    "Value": None if p.get("IsValueSecret") else p.get("Value"),
                    "IsValueSecret": bool(p.get("IsValueSecret", False)),
                })
                for p in params[list_name]
            ]
    return out


def _public_auth(auth: dict[str, Any]) -> dict[str, Any]:
    """AuthParameters as DescribeConnection shows them: never a secret value."""
    out: dict[str, Any] = {}
    if "ApiKeyAuthParameters" in auth:
        out["ApiKeyAuthParameters"] = _prune({"ApiKeyName": auth["ApiKeyAuthParameters"].get("ApiKeyName")})
    if "BasicAuthParameters" in auth:
        out["BasicAuthParameters"] = _prune({"Username": auth["BasicAuthParameters"].get("Username")})
    if "OAuthParameters" in auth:
        oauth = auth["OAuthParameters"]
        out["OAuthParameters"] = _prune({
            "ClientParameters": {"ClientID": (oauth.get("ClientParameters") or {}).get("ClientID")},
            "AuthorizationEndpoint": oauth.get("AuthorizationEndpoint"),
            "HttpMethod": oauth.get("HttpMethod"),
            "OAuthHttpParameters": _public_http(oauth["OAuthHttpParameters"]) if "OAuthHttpParameters" in oauth else None,
        })
    if "InvocationHttpParameters" in auth:
        out["InvocationHttpParameters"] = _public_http(auth["InvocationHttpParameters"])
    return out


def _strip_credentials(auth: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(auth)
    out.get("ApiKeyAuthParameters", {}).pop("ApiKeyValue", None)
    out.get("BasicAuthParameters", {}).pop("Password", None)
    out.get("OAuthParameters", {}).get("ClientParameters", {}).pop("ClientSecret", None)
    return out


def _written_time(region: str, t: float | None) -> float | None:
    """LastModifiedTime as a write's answer carries it (see writeTimeSkewMs)."""
    skew = region_config(region)["writeTimeSkewMs"]
    return t if t is None or not skew else round(t + skew / 1000, 3)


def _connection_summary(conn: Connection, state: str, authorized: bool = True) -> dict[str, Any]:
    return _prune({
        "ConnectionArn": conn.arn,
        "ConnectionState": state,
        "CreationTime": conn.creation_time,
        "LastModifiedTime": _written_time(conn.region, conn.ext_last_modified),
        "LastAuthorizedTime": conn.ext_last_authorized if authorized else None,
    })


def create_connection(self: EventsHandler) -> Any:
    params = _params(self)
    validate("events", "CreateConnection", params)
    name, auth_type, auth = params["Name"], params["AuthorizationType"], params["AuthParameters"]
    backend = self.events_backend
    if name in backend.connections:
        raise ApiError("events", "ResourceAlreadyExistsException", f"Connection {name} already exists.")
    _check_auth_blocks(auth_type, auth, must_have=True)
    conn = Connection(name, self.current_account, self.region, params.get("Description"), auth_type, copy.deepcopy(auth))
    conn.creation_time = conn.ext_last_modified = _now()
    conn.ext_last_authorized = None
    conn.ext_kms_key = params.get("KmsKeyIdentifier") or None
    conn.ext_reason = None
    state = _authorize(conn, self.region)
    _write_secret(conn, self.region, self.current_account, new_version=False)
    backend.connections[name] = conn
    return _ok(_connection_summary(conn, state, authorized=False))


def update_connection(self: EventsHandler) -> Any:
    params = _params(self)
    validate("events", "UpdateConnection", params)
    conn = _connection(self, params["Name"])
    new_type = params.get("AuthorizationType") or conn.authorization_type
    auth = params.get("AuthParameters")
    type_changes = new_type != conn.authorization_type
    if auth is not None or type_changes:
        _check_auth_blocks(new_type, auth or {}, must_have=type_changes)
    if "Description" in params:
        conn.description = params["Description"] or None  # "" clears the description
    if "KmsKeyIdentifier" in params:
        conn.ext_kms_key = params["KmsKeyIdentifier"] or None
    state = conn.state
    if auth is not None:
        stored = conn.auth_parameters
        if type_changes:  # the previous type's credentials go away
            stored = {k: v for k, v in stored.items() if k not in AUTH_BLOCKS.values()}
        conn.authorization_type = new_type
        conn.auth_parameters = _merge_auth(stored, auth)
        state = _authorize(conn, self.region)
        _write_secret(conn, self.region, self.current_account, new_version=True)
    conn.ext_last_modified = _now(conn.ext_last_modified)
    return _ok(_connection_summary(conn, state))


def deauthorize_connection(self: EventsHandler) -> Any:
    params = _params(self)
    validate("events", "DeauthorizeConnection", params)
    conn = _connection(self, params["Name"])
    conn.auth_parameters = _strip_credentials(conn.auth_parameters)
    reads = region_config(self.region)["settleReads"]
    _transition(conn, "state", "DEAUTHORIZING", "DEAUTHORIZED", "Connection was deauthorized by DeauthorizeConnection.", reads)
    conn.ext_last_modified = _now(conn.ext_last_modified)
    return _ok(_connection_summary(conn, "DEAUTHORIZING"))


def describe_connection(self: EventsHandler) -> Any:
    params = _params(self)
    validate("events", "DescribeConnection", params)
    conn = _connection(self, params["Name"], describe=True)
    state, reason = _observe(conn, "state")
    return _ok(_prune({
        "ConnectionArn": conn.arn,
        "Name": conn.name,
        "Description": conn.description or None,
        "ConnectionState": state,
        "StateReason": reason,
        "AuthorizationType": conn.authorization_type,
        "SecretArn": conn.secret_arn,
        "KmsKeyIdentifier": conn.ext_kms_key,
        "AuthParameters": _public_auth(conn.auth_parameters),
        "CreationTime": conn.creation_time,
        "LastModifiedTime": conn.ext_last_modified,
        "LastAuthorizedTime": conn.ext_last_authorized,
    }))


def delete_connection(self: EventsHandler) -> Any:
    params = _params(self)
    validate("events", "DeleteConnection", params)
    conn = _connection(self, params["Name"])
    self.events_backend.delete_connection(conn.name)  # also deletes its Secrets Manager secret
    return _ok(_connection_summary(conn, "DELETING"))


def list_connections(self: EventsHandler) -> Any:
    params = _params(self)
    validate("events", "ListConnections", params)
    items = [
        c for c in self.events_backend.connections.values()
        if c.name.startswith(params.get("NamePrefix") or "")
        and (not params.get("ConnectionState") or c.state == params["ConnectionState"])
    ]
    page, token = _paginate("events", self.region, items, lambda c: c.name, params.get("Limit"), params.get("NextToken"), 100)
    return _ok(_prune({
        "Connections": [
            _prune({
                "ConnectionArn": c.arn,
                "Name": c.name,
                "ConnectionState": c.state,
                "StateReason": c.ext_reason,
                "AuthorizationType": c.authorization_type,
                "CreationTime": c.creation_time,
                "LastModifiedTime": c.ext_last_modified,
                "LastAuthorizedTime": c.ext_last_authorized,
            })
            for c in page
        ],
        "NextToken": token,
    }))


# --------------------------------------------------------------------------------------
# EventBridge API destinations
# --------------------------------------------------------------------------------------
def _destination(handler: Any, name: str, describe: bool = False) -> Destination:
    dest = handler.events_backend.destinations.get(name)
    if dest is None:
        # DescribeApiDestination's message is AWS-recorded; the other operations' are not.
        prefix = "Failed to describe the api-destination(s). " if describe else ""
        raise ApiError("events", "ResourceNotFoundException", f"{prefix}An api-destination '{name}' does not exist.")
    return dest


def _destination_state(backend: Any, region: str, d: Destination, observe: bool = False) -> str:
    """A state forced with /__state wins (a Describe, `observe`, advances its `reads`);
    otherwise INACTIVE while the connection is AUTHORIZING (AWS-recorded on create,
    describe, list and update), else ACTIVE.  What a DEAUTHORIZED or deleted connection
    does to its destinations is not known (docs/testing.md): ACTIVE."""
    forced = _observe(d, "ext_forced")[0] if observe else getattr(d, "ext_forced", None)
    if forced:
        return forced
    if region_config(region)["destinationsFollowConnection"]:
        conn = next((c for c in backend.connections.values() if c.arn == d.connection_arn), None)
        if conn is not None and conn.state == "AUTHORIZING":
            return "INACTIVE"
    return "ACTIVE"


def _check_connection_arn(handler: Any, arn: str) -> None:
    if not any(c.arn == arn for c in handler.events_backend.connections.values()):
        name = arn.split(":connection/", 1)[-1].split("/", 1)[0]
        raise ApiError("events", "ResourceNotFoundException", f"Connection '{name}' does not exist.")


def _check_https(endpoint: str) -> None:
    if not endpoint.lower().startswith("https://"):
        raise ApiError("events", "ValidationException", "Invocation endpoint must be an HTTPS URL.")


def _destination_view(d: Destination, state: str) -> dict[str, Any]:
    return _prune({
        "ApiDestinationArn": d.arn,
        "Name": d.name,
        "Description": d.description or None,
        "ApiDestinationState": state,
        "ConnectionArn": d.connection_arn,
        "InvocationEndpoint": d.invocation_endpoint,
        "HttpMethod": d.http_method,
        "InvocationRateLimitPerSecond": d.invocation_rate_limit_per_second,
        "CreationTime": d.creation_time,
        "LastModifiedTime": d.ext_last_modified,
    })


def _destination_summary(d: Destination, state: str) -> dict[str, Any]:
    return {
        "ApiDestinationArn": d.arn,
        "ApiDestinationState": state,
        "CreationTime": d.creation_time,
        "LastModifiedTime": _written_time(d.region, d.ext_last_modified),
    }


def create_api_destination(self: EventsHandler) -> Any:
    params = _params(self)
    validate("events", "CreateApiDestination", params)
    name = params["Name"]
    backend = self.events_backend
    if name in backend.destinations:
        raise ApiError("events", "ResourceAlreadyExistsException", f"An api-destination '{name}' already exists.")
    _check_https(params["InvocationEndpoint"])
    _check_connection_arn(self, params["ConnectionArn"])
    dest = Destination(
        name=name,
        account_id=self.current_account,
        region_name=self.region,
        description=params.get("Description") or None,
        connection_arn=params["ConnectionArn"],
        invocation_endpoint=params["InvocationEndpoint"],
        invocation_rate_limit_per_second=params.get("InvocationRateLimitPerSecond", 300),
        http_method=params["HttpMethod"],
    )
    dest.creation_time = dest.ext_last_modified = _now()
    dest.ext_forced = dest.ext_reason = dest.ext_pending = None
    backend.destinations[name] = dest
    return _ok(_destination_summary(dest, _destination_state(backend, self.region, dest)))


def update_api_destination(self: EventsHandler) -> Any:
    params = _params(self)
    validate("events", "UpdateApiDestination", params)
    dest = _destination(self, params["Name"])
    if "ConnectionArn" in params:
        _check_connection_arn(self, params["ConnectionArn"])
        dest.connection_arn = params["ConnectionArn"]
    if "InvocationEndpoint" in params:
        _check_https(params["InvocationEndpoint"])
        dest.invocation_endpoint = params["InvocationEndpoint"]
    if "Description" in params:
        dest.description = params["Description"] or None  # "" clears the description
    if "HttpMethod" in params:
        dest.http_method = params["HttpMethod"]
    if "InvocationRateLimitPerSecond" in params:
        dest.invocation_rate_limit_per_second = params["InvocationRateLimitPerSecond"]
    dest.ext_last_modified = _now(dest.ext_last_modified)
    return _ok(_destination_summary(dest, _destination_state(self.events_backend, self.region, dest)))


def describe_api_destination(self: EventsHandler) -> Any:
    params = _params(self)
    validate("events", "DescribeApiDestination", params)
    dest = _destination(self, params["Name"], describe=True)
    return _ok(_destination_view(dest, _destination_state(self.events_backend, self.region, dest, observe=True)))


def delete_api_destination(self: EventsHandler) -> Any:
    params = _params(self)
    validate("events", "DeleteApiDestination", params)
    dest = _destination(self, params["Name"])
    del self.events_backend.destinations[dest.name]
    return _ok({})


def list_api_destinations(self: EventsHandler) -> Any:
    params = _params(self)
    validate("events", "ListApiDestinations", params)
    items = [
        d for d in self.events_backend.destinations.values()
        if d.name.startswith(params.get("NamePrefix") or "")
        and (not params.get("ConnectionArn") or d.connection_arn == params["ConnectionArn"])
    ]
    page, token = _paginate("events", self.region, items, lambda d: d.name, params.get("Limit"), params.get("NextToken"), 100)
    views = []
    for d in page:
        view = _destination_view(d, _destination_state(self.events_backend, self.region, d))
        view.pop("Description", None)  # the list shape has no Description
        views.append(view)
    return _ok(_prune({"ApiDestinations": views, "NextToken": token}))


# --------------------------------------------------------------------------------------
# Transfer Family connectors and tags
# --------------------------------------------------------------------------------------
CONNECTOR_FIELDS = ("Url", "AccessRole", "LoggingRole", "As2Config", "SftpConfig", "SecurityPolicyName", "EgressConfig", "IpAddressType")
_connector_seq = 0


class ExtConnector:
    """A connector as DescribeConnector returns it; stored in moto's backend.connectors."""

    def __init__(self, region: str, account: str, params: dict[str, Any]):
        global _connector_seq
        _connector_seq += 1
        self.seq = _connector_seq
        self.connector_id = f"c-{mock_random.get_random_hex(17)}"
        self.arn = f"arn:{get_partition(region)}:transfer:{region}:{account}:connector/{self.connector_id}"
        self.fields = {k: copy.deepcopy(params[k]) for k in CONNECTOR_FIELDS if k in params}
        self.tags: list[dict[str, str]] = []
        self.status = "ACTIVE"
        self.ext_reason: str | None = None  # ErrorMessage
        self.ext_pending: list[Any] | None = None

    def describe(self) -> dict[str, Any]:
        status, error = _observe(self, "status")
        fields = copy.deepcopy(self.fields)
        if "SftpConfig" in fields:
            fields["SftpConfig"].setdefault("MaxConcurrentConnections", 1)
        return _prune({
            "Arn": self.arn,
            "ConnectorId": self.connector_id,
            **fields,
            "Tags": self.tags or None,
            "ServiceManagedEgressIpAddresses": None if "EgressConfig" in fields else ["127.0.0.1", "127.0.0.2"],
            "EgressType": "VPC_LATTICE" if "EgressConfig" in fields else "SERVICE_MANAGED",
            "Status": status,
            "ErrorMessage": error,
        })


def _connector(handler: Any, connector_id: str) -> ExtConnector:
    connector = handler.transfer_backend.connectors.get(connector_id)
    if not isinstance(connector, ExtConnector):
        raise _not_found_connector(connector_id)
    return connector


def _check_one_config(fields: dict[str, Any]) -> None:
    if ("As2Config" in fields) == ("SftpConfig" in fields):
        raise ApiError("transfer", "InvalidRequestException", "Exactly one of As2Config or SftpConfig must be specified.")


def _merge_tags(current: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    merged = {t["Key"]: t["Value"] for t in current}
    merged.update({t["Key"]: t["Value"] for t in new})
    if len(merged) > 50:
        raise ApiError("transfer", "InvalidRequestException", "A resource can have at most 50 tags.")
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def create_connector(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "CreateConnector", params)
    _check_one_config(params)
    connector = ExtConnector(self.region, self.current_account, params)
    connector.tags = _merge_tags([], params.get("Tags") or [])
    _transition(connector, "status", "PENDING", "ACTIVE", None, region_config(self.region)["settleReads"])
    self.transfer_backend.connectors[connector.connector_id] = connector
    return _ok({"ConnectorId": connector.connector_id})


def describe_connector(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "DescribeConnector", params)
    return _ok({"Connector": _connector(self, params["ConnectorId"]).describe()})


def update_connector(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "UpdateConnector", params)
    connector = _connector(self, params["ConnectorId"])
    for block in ("As2Config", "SftpConfig"):
        if block in params and block not in connector.fields:
            raise ApiError("transfer", "InvalidRequestException", f"{block} cannot be set on this connector.")
    for key in CONNECTOR_FIELDS:
        if key not in params:
            continue
        if key in ("As2Config", "SftpConfig"):
            # Members that are sent replace the stored ones; members not sent are kept.
            connector.fields[key] = {**connector.fields[key], **copy.deepcopy(params[key])}
        else:
            connector.fields[key] = copy.deepcopy(params[key])
    return _ok({"ConnectorId": connector.connector_id})


def delete_connector(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "DeleteConnector", params)
    connector = _connector(self, params["ConnectorId"])
    del self.transfer_backend.connectors[connector.connector_id]
    return _ok({})


def list_connectors(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "ListConnectors", params)
    items = [c for c in self.transfer_backend.connectors.values() if isinstance(c, ExtConnector)]
    page, token = _paginate(
        "transfer", self.region, items, lambda c: f"{c.seq:012d}", params.get("MaxResults"), params.get("NextToken"), 1000
    )
    listed = [{"Arn": c.arn, "ConnectorId": c.connector_id, "Url": c.fields.get("Url")} for c in page]
    return _ok(_prune({"Connectors": [_prune(x) for x in listed], "NextToken": token}))


# --------------------------------------------------------------------------------------
# Transfer Family AS2 certificates and profiles (moto 5.2.5 has neither).  Each behaviour
# follows shared/aws-research/as2-certificates-profiles.md; docs/testing.md cites them and
# lists what is assumed.  Nothing AWS does not document is enforced here: no key-size,
# key-match or expiry checks on import, no PENDING_ROTATION rule, no usage or profile-type
# checks, no refusal to delete a certificate or profile in use.
# --------------------------------------------------------------------------------------
_as2_seq = 0


def _store(backend: Any, name: str) -> dict[str, Any]:
    """A dict kept on moto's per-region Transfer backend (so moto's reset clears it)."""
    if not hasattr(backend, name):
        setattr(backend, name, {})
    return getattr(backend, name)


def _x509(pem: str) -> Any:
    """The certificate of a PEM text, parsed with `cryptography` (C1, C4: PEM text)."""
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(pem.encode("latin-1"))
    except (ValueError, UnicodeEncodeError):
        raise ApiError("transfer", "InvalidRequestException", "Certificate is not a valid PEM-encoded X.509 certificate.") from None


def _epoch(value: Any) -> float | None:
    return None if value is None else float(value)


class ExtCertificate:
    """A certificate as DescribeCertificate returns it (C9); the key is kept only as a flag."""

    def __init__(self, region: str, account: str, params: dict[str, Any]):
        global _as2_seq
        _as2_seq += 1
        self.seq = _as2_seq
        self.certificate_id = f"cert-{mock_random.get_random_hex(17)}"
        self.arn = f"arn:{get_partition(region)}:transfer:{region}:{account}:certificate/{self.certificate_id}"
        cert = _x509(params["Certificate"])
        if params.get("CertificateChain"):
            _x509(params["CertificateChain"])
        self.usage = params["Usage"]
        self.body = params["Certificate"]  # stored verbatim and returned (C9, C10)
        self.chain = params.get("CertificateChain")
        self.has_key = bool(params.get("PrivateKey"))  # never returned (C9)
        self.not_before = cert.not_valid_before_utc.timestamp()
        self.not_after = cert.not_valid_after_utc.timestamp()
        self.serial = format(cert.serial_number, "x")[:48]  # format: unknown (lowercase hex here)
        # S1: the dates default to NotBefore / NotAfter.
        self.active = _epoch(params.get("ActiveDate")) or self.not_before
        self.inactive = _epoch(params.get("InactiveDate")) or self.not_after
        self.description = params.get("Description")
        self.tags: list[dict[str, str]] = []

    def status(self) -> str:
        # S2: ACTIVE or INACTIVE by the active dates; PENDING_ROTATION is not invented (S3).
        now = time.time()
        return "ACTIVE" if self.active <= now < self.inactive else "INACTIVE"

    def listed(self) -> dict[str, Any]:
        return _prune({
            "Arn": self.arn,
            "CertificateId": self.certificate_id,
            "Usage": self.usage,
            "Status": self.status(),
            "ActiveDate": self.active,
            "InactiveDate": self.inactive,
            "Type": "CERTIFICATE_WITH_PRIVATE_KEY" if self.has_key else "CERTIFICATE",
            "Description": self.description,
        })

    def describe(self) -> dict[str, Any]:
        return _prune({
            **self.listed(),
            "Certificate": self.body,
            "CertificateChain": self.chain,
            "Serial": self.serial,
            "NotBeforeDate": self.not_before,
            "NotAfterDate": self.not_after,
            "Tags": self.tags or None,
        })


class ExtProfile:
    """An AS2 profile as DescribeProfile returns it (P1-P9)."""

    def __init__(self, region: str, account: str, params: dict[str, Any]):
        global _as2_seq
        _as2_seq += 1
        self.seq = _as2_seq
        self.profile_id = f"p-{mock_random.get_random_hex(17)}"
        self.arn = f"arn:{get_partition(region)}:transfer:{region}:{account}:profile/{self.profile_id}"
        self.profile_type = params["ProfileType"]
        self.as2_id = params["As2Id"]
        self.certificate_ids = list(params.get("CertificateIds") or [])
        self.tags: list[dict[str, str]] = []

    def listed(self) -> dict[str, Any]:
        return {"Arn": self.arn, "ProfileId": self.profile_id, "As2Id": self.as2_id, "ProfileType": self.profile_type}

    def describe(self) -> dict[str, Any]:
        return _prune({**self.listed(), "CertificateIds": self.certificate_ids or None, "Tags": self.tags or None})


def _not_found(kind: str, resource_id: str) -> ApiError:
    # ResourceNotFoundException is modeled on every operation here; its message is unknown.
    return ApiError("transfer", "ResourceNotFoundException", f"Unknown {kind.lower()}: {resource_id}", Resource=resource_id, ResourceType=kind)


def _certificate(handler: Any, certificate_id: str) -> ExtCertificate:
    found = _store(handler.transfer_backend, "ext_certificates").get(certificate_id)
    if found is None:
        raise _not_found("Certificate", certificate_id)
    return found


def _profile(handler: Any, profile_id: str) -> ExtProfile:
    found = _store(handler.transfer_backend, "ext_profiles").get(profile_id)
    if found is None:
        raise _not_found("Profile", profile_id)
    return found


def _check_certificate_ids(handler: Any, ids: list[str]) -> None:
    # P5 [I]: CreateProfile/UpdateProfile model ResourceNotFoundException, read as the answer
    # for an unknown certificate id.
    for certificate_id in ids:
        _certificate(handler, certificate_id)


def import_certificate(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "ImportCertificate", params)
    cert = ExtCertificate(self.region, self.current_account, params)
    cert.tags = _merge_tags([], params.get("Tags") or [])
    _store(self.transfer_backend, "ext_certificates")[cert.certificate_id] = cert
    return _ok({"CertificateId": cert.certificate_id})


def describe_certificate(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "DescribeCertificate", params)
    return _ok({"Certificate": _certificate(self, params["CertificateId"]).describe()})


def update_certificate(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "UpdateCertificate", params)
    cert = _certificate(self, params["CertificateId"])
    # C12: only the dates and the description; members not sent are kept (S6: unknown).
    if "ActiveDate" in params:
        cert.active = _epoch(params["ActiveDate"])
    if "InactiveDate" in params:
        cert.inactive = _epoch(params["InactiveDate"])
    if "Description" in params:
        cert.description = params["Description"]
    return _ok({"CertificateId": cert.certificate_id})


def delete_certificate(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "DeleteCertificate", params)
    cert = _certificate(self, params["CertificateId"])
    # P8: whether a certificate a profile lists may be deleted is unknown: allowed here.
    del _store(self.transfer_backend, "ext_certificates")[cert.certificate_id]
    return _ok({})


def list_certificates(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "ListCertificates", params)
    items = list(_store(self.transfer_backend, "ext_certificates").values())
    page, token = _paginate(
        "transfer", self.region, items, lambda c: f"{c.seq:012d}", params.get("MaxResults"), params.get("NextToken"), 1000
    )
    return _ok(_prune({"Certificates": [c.listed() for c in page], "NextToken": token}))


def create_profile(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "CreateProfile", params)
    _check_certificate_ids(self, params.get("CertificateIds") or [])
    profile = ExtProfile(self.region, self.current_account, params)
    profile.tags = _merge_tags([], params.get("Tags") or [])
    _store(self.transfer_backend, "ext_profiles")[profile.profile_id] = profile
    return _ok({"ProfileId": profile.profile_id})


def describe_profile(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "DescribeProfile", params)
    return _ok({"Profile": _profile(self, params["ProfileId"]).describe()})


def update_profile(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "UpdateProfile", params)
    profile = _profile(self, params["ProfileId"])
    if "CertificateIds" in params:
        # P7 [I]: the list sent replaces the stored one (omitted: kept, unknown).
        _check_certificate_ids(self, params["CertificateIds"])
        profile.certificate_ids = list(params["CertificateIds"])
    return _ok({"ProfileId": profile.profile_id})


def delete_profile(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "DeleteProfile", params)
    profile = _profile(self, params["ProfileId"])
    # P8: whether a profile a connector uses may be deleted is unknown: allowed here.
    del _store(self.transfer_backend, "ext_profiles")[profile.profile_id]
    return _ok({})


def list_profiles(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "ListProfiles", params)
    items = [
        p for p in _store(self.transfer_backend, "ext_profiles").values()
        if not params.get("ProfileType") or p.profile_type == params["ProfileType"]
    ]
    page, token = _paginate(
        "transfer", self.region, items, lambda p: f"{p.seq:012d}", params.get("MaxResults"), params.get("NextToken"), 1000
    )
    return _ok(_prune({"Profiles": [p.listed() for p in page], "NextToken": token}))


def _taggable(handler: Any, arn: str) -> Any:
    backend = handler.transfer_backend
    for resource in (
        list(backend.connectors.values()) + list(backend.servers.values())
        + list(_store(backend, "ext_certificates").values()) + list(_store(backend, "ext_profiles").values())
    ):
        if getattr(resource, "arn", None) == arn:
            return resource
    raise ApiError(
        "transfer", "ResourceNotFoundException", f"Unknown resource: {arn}", Resource=arn, ResourceType="Resource"
    )


def tag_resource(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "TagResource", params)
    resource = _taggable(self, params["Arn"])
    resource.tags = _merge_tags(resource.tags, params["Tags"])
    return _ok({})


def untag_resource(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "UntagResource", params)
    resource = _taggable(self, params["Arn"])
    resource.tags = [t for t in resource.tags if t["Key"] not in params["TagKeys"]]
    return _ok({})


def list_tags_for_resource(self: TransferResponse) -> Any:
    params = _params(self)
    validate("transfer", "ListTagsForResource", params)
    resource = _taggable(self, params["Arn"])
    tags = list(enumerate(resource.tags))
    page, token = _paginate(
        "transfer", self.region, tags, lambda t: f"{t[0]:06d}", params.get("MaxResults"), params.get("NextToken"), 1000
    )
    return _ok(_prune({"Arn": params["Arn"], "Tags": [t for _, t in page], "NextToken": token}))


# --------------------------------------------------------------------------------------
# Install
# --------------------------------------------------------------------------------------
EVENTS_HANDLERS = [
    create_connection, describe_connection, update_connection, delete_connection, list_connections,
    deauthorize_connection, create_api_destination, describe_api_destination, update_api_destination,
    delete_api_destination, list_api_destinations,
]
TRANSFER_HANDLERS = [
    create_connector, describe_connector, update_connector, delete_connector, list_connectors,
    tag_resource, untag_resource, list_tags_for_resource,
    import_certificate, describe_certificate, update_certificate, delete_certificate, list_certificates,
    create_profile, describe_profile, update_profile, delete_profile, list_profiles,
]


def install() -> None:
    """Replace moto's handlers; moto dispatches X-Amz-Target `Prefix.OpName` to `op_name`."""
    for fn in EVENTS_HANDLERS:
        setattr(EventsHandler, fn.__name__, fn)
    for fn in TRANSFER_HANDLERS:
        setattr(TransferResponse, fn.__name__, fn)


# --------------------------------------------------------------------------------------
# Control operations for the proxy (POST /__config, POST /__state)
# --------------------------------------------------------------------------------------
def configure(spec: dict[str, Any]) -> dict[str, Any]:
    unknown = set(spec) - set(KNOBS) - {"region"}
    if unknown:
        raise KeyError(f"unknown knobs {sorted(unknown)}; known: {sorted(KNOBS)}")
    with LOCK:
        config = region_config(spec["region"])
        for key in KNOBS:
            if key in spec:
                config[key] = spec[key]
        return dict(config, region=spec["region"])


def set_state(spec: dict[str, Any]) -> dict[str, Any]:
    """Force a resource's state, e.g. {"region": R, "connection": NAME, "state": "DEAUTHORIZED",
    "stateReason": "...", "reads": 2, "then": "AUTHORIZED", "touch": true}.
    With "reads" and "then": `state` is seen by the next `reads` Describe calls, then `then`."""
    account = spec.get("account", DEFAULT_ACCOUNT_ID)
    region = spec["region"]
    with LOCK:
        if "connection" in spec:
            obj = events_backends[account][region].connections.get(spec["connection"])
            attr, reason = "state", spec.get("stateReason")
        elif "connector" in spec:
            obj = transfer_backends[account][region].connectors.get(spec["connector"])
            attr, reason = "status", spec.get("errorMessage")
        elif "apiDestination" in spec:
            # Forced until set again; `"state": null` goes back to following the connection.
            obj = events_backends[account][region].destinations.get(spec["apiDestination"])
            attr, reason = "ext_forced", None
        else:
            raise KeyError("one of connection, connector, apiDestination is required")
        if obj is None:
            raise LookupError("no such resource")
        new = spec.get("state") or spec.get("status")
        setattr(obj, attr, new)
        obj.ext_reason = reason
        obj.ext_pending = None
        if spec.get("reads") and spec.get("then"):
            obj.ext_pending = [int(spec["reads"]), spec["then"], spec.get("thenReason")]
        if spec.get("touch") and hasattr(obj, "ext_last_modified"):
            obj.ext_last_modified = _now(obj.ext_last_modified)
        return {"region": region, "status" if attr == "status" else "state": new}
