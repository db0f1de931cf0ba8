#!/usr/bin/env python3
"""Generates src/manifest/constraints/table.rs: every manifest field that an AWS model
constrains (length, pattern, range, item count), with the constraint of its AWS shape.

The input is the project's copy of the AWS API shapes (`scripts/aws-api/*-shapes.txt`, one
indented tree per request shape). The mapping below says which AWS member each manifest field
is sent as; everything else (shape name, limits, pattern) is read from the shapes, so a new
model is picked up by running this again:

    scripts/gen-constraints.py [SHAPES_DIR]        # default: scripts/aws-api in the repo
    scripts/gen-constraints.py --check [SHAPES_DIR] # exit 1 if the committed table differs

Enums are not in the table: the manifest types are Rust enums, checked by the JSON Schema.
"""

from __future__ import annotations

import ast
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "src/manifest/constraints/table.rs"

# (kind, JSON pointer in the document with `*` for any item or key, what is checked, AWS member)
# What: "value" (a string's length and pattern, an integer's range), "items" (a list's or
# map's number of entries), "keys" (a map's keys as strings). A member path is
# `service:Shape.Member.Member`, `[]` stepping into a list's items.
HTTP = [
    ("headerParameters", "items", "ConnectionHttpParameters.HeaderParameters"),
    ("headerParameters/*/key", "value", "ConnectionHeaderParameter.Key"),
    ("headerParameters/*/value", "value", "ConnectionHeaderParameter.Value"),
    ("queryStringParameters", "items", "ConnectionHttpParameters.QueryStringParameters"),
    ("queryStringParameters/*/key", "value", "ConnectionQueryStringParameter.Key"),
    ("queryStringParameters/*/value", "value", "ConnectionQueryStringParameter.Value"),
    ("bodyParameters", "items", "ConnectionHttpParameters.BodyParameters"),
    ("bodyParameters/*/key", "value", "ConnectionBodyParameter.Key"),
    ("bodyParameters/*/value", "value", "ConnectionBodyParameter.Value"),
]
AUTH = "/spec/authParameters"
CREATE_AUTH = "events:CreateConnectionRequest.AuthParameters"
MAPPING = [
    ("Connection", "/metadata/name", "value", "events:CreateConnectionRequest.Name"),
    ("Connection", "/spec/description", "value", "events:CreateConnectionRequest.Description"),
    ("Connection", f"{AUTH}/basicAuthParameters/username", "value", f"{CREATE_AUTH}.BasicAuthParameters.Username"),
    ("Connection", f"{AUTH}/basicAuthParameters/password", "value", f"{CREATE_AUTH}.BasicAuthParameters.Password"),
    ("Connection", f"{AUTH}/apiKeyAuthParameters/apiKeyName", "value", f"{CREATE_AUTH}.ApiKeyAuthParameters.ApiKeyName"),
    ("Connection", f"{AUTH}/apiKeyAuthParameters/apiKeyValue", "value", f"{CREATE_AUTH}.ApiKeyAuthParameters.ApiKeyValue"),
    ("Connection", f"{AUTH}/oAuthParameters/clientParameters/clientID", "value", f"{CREATE_AUTH}.OAuthParameters.ClientParameters.ClientID"),
    ("Connection", f"{AUTH}/oAuthParameters/clientParameters/clientSecret", "value", f"{CREATE_AUTH}.OAuthParameters.ClientParameters.ClientSecret"),
    ("Connection", f"{AUTH}/oAuthParameters/authorizationEndpoint", "value", f"{CREATE_AUTH}.OAuthParameters.AuthorizationEndpoint"),
    *[("Connection", f"{AUTH}/oAuthParameters/oAuthHttpParameters/{p}", w, f"events:{m}") for p, w, m in HTTP],
    *[("Connection", f"{AUTH}/invocationHttpParameters/{p}", w, f"events:{m}") for p, w, m in HTTP],
    ("ApiDestination", "/metadata/name", "value", "events:CreateApiDestinationRequest.Name"),
    ("ApiDestination", "/spec/description", "value", "events:CreateApiDestinationRequest.Description"),
    # `connection` names a Connection of the manifests: it is sent as that connection's ARN,
    # and must be a possible connection name.
    ("ApiDestination", "/spec/connection", "value", "events:CreateConnectionRequest.Name"),
    ("ApiDestination", "/spec/connectionArn", "value", "events:CreateApiDestinationRequest.ConnectionArn"),
    ("ApiDestination", "/spec/invocationEndpoint", "value", "events:CreateApiDestinationRequest.InvocationEndpoint"),
    ("ApiDestination", "/spec/invocationRateLimitPerSecond", "value", "events:CreateApiDestinationRequest.InvocationRateLimitPerSecond"),
    # A connector has no name in AWS: `metadata.name` is sent as the `outbound:name` tag.
    ("Connector", "/metadata/name", "value", "transfer:CreateConnectorRequest.Tags[].Value"),
    ("Connector", "/spec/url", "value", "transfer:CreateConnectorRequest.Url"),
    ("Connector", "/spec/accessRole", "value", "transfer:CreateConnectorRequest.AccessRole"),
    ("Connector", "/spec/loggingRole", "value", "transfer:CreateConnectorRequest.LoggingRole"),
    ("Connector", "/spec/as2Config/localProfileId", "value", "transfer:CreateConnectorRequest.As2Config.LocalProfileId"),
    ("Connector", "/spec/as2Config/partnerProfileId", "value", "transfer:CreateConnectorRequest.As2Config.PartnerProfileId"),
    ("Connector", "/spec/as2Config/messageSubject", "value", "transfer:CreateConnectorRequest.As2Config.MessageSubject"),
    ("Connector", "/spec/as2Config/basicAuthSecretId", "value", "transfer:CreateConnectorRequest.As2Config.BasicAuthSecretId"),
    ("Connector", "/spec/as2Config/asyncMdnConfig/url", "value", "transfer:CreateConnectorRequest.As2Config.AsyncMdnConfig.Url"),
    ("Connector", "/spec/as2Config/asyncMdnConfig/serverIds", "items", "transfer:CreateConnectorRequest.As2Config.AsyncMdnConfig.ServerIds"),
    ("Connector", "/spec/as2Config/asyncMdnConfig/serverIds/*", "value", "transfer:CreateConnectorRequest.As2Config.AsyncMdnConfig.ServerIds[]"),
    ("Connector", "/spec/sftpConfig/userSecretId", "value", "transfer:CreateConnectorRequest.SftpConfig.UserSecretId"),
    ("Connector", "/spec/sftpConfig/trustedHostKeys", "items", "transfer:CreateConnectorRequest.SftpConfig.TrustedHostKeys"),
    ("Connector", "/spec/sftpConfig/trustedHostKeys/*", "value", "transfer:CreateConnectorRequest.SftpConfig.TrustedHostKeys[]"),
    ("Connector", "/spec/sftpConfig/maxConcurrentConnections", "value", "transfer:CreateConnectorRequest.SftpConfig.MaxConcurrentConnections"),
    ("Connector", "/spec/securityPolicyName", "value", "transfer:CreateConnectorRequest.SecurityPolicyName"),
    ("Connector", "/spec/egressConfig/vpcLattice/resourceConfigurationArn", "value", "transfer:CreateConnectorRequest.EgressConfig.VpcLattice.ResourceConfigurationArn"),
    ("Connector", "/spec/egressConfig/vpcLattice/portNumber", "value", "transfer:CreateConnectorRequest.EgressConfig.VpcLattice.PortNumber"),
    # Tags are a map in the manifest, a list of {Key, Value} in AWS. Their number is not here:
    # outbound adds two tags of its own, so the schema allows 48 of AWS's 50.
    ("Connector", "/spec/tags", "keys", "transfer:CreateConnectorRequest.Tags[].Key"),
    ("Connector", "/spec/tags/*", "value", "transfer:CreateConnectorRequest.Tags[].Value"),
    # A certificate's name is its `outbound:name` tag; its PEM values are secrets (checked
    # once resolved, against the row of their slot).
    ("Certificate", "/metadata/name", "value", "transfer:ImportCertificateRequest.Tags[].Value"),
    ("Certificate", "/spec/certificate", "value", "transfer:ImportCertificateRequest.Certificate"),
    ("Certificate", "/spec/certificateChain", "value", "transfer:ImportCertificateRequest.CertificateChain"),
    ("Certificate", "/spec/privateKey", "value", "transfer:ImportCertificateRequest.PrivateKey"),
    ("Certificate", "/spec/description", "value", "transfer:ImportCertificateRequest.Description"),
    ("Certificate", "/spec/tags", "keys", "transfer:ImportCertificateRequest.Tags[].Key"),
    ("Certificate", "/spec/tags/*", "value", "transfer:ImportCertificateRequest.Tags[].Value"),
    ("Profile", "/metadata/name", "value", "transfer:CreateProfileRequest.Tags[].Value"),
    ("Profile", "/spec/as2Id", "value", "transfer:CreateProfileRequest.As2Id"),
    ("Profile", "/spec/certificateIds/*", "value", "transfer:CreateProfileRequest.CertificateIds[]"),
    ("Profile", "/spec/tags", "keys", "transfer:CreateProfileRequest.Tags[].Key"),
    ("Profile", "/spec/tags/*", "value", "transfer:CreateProfileRequest.Tags[].Value"),
]

FILES = {"events": "eventbridge-2015-10-07-shapes.txt", "transfer": "transfer-2018-11-05-shapes.txt"}
MEMBER = re.compile(r"^(\s*)\.(\w+) -> (\w+) (\{.*\})$")
SHAPE = re.compile(r"^(\s*)(\w+) : (\w+) (\{.*\})$")


class Shape:
    def __init__(self, name: str, kind: str, traits: dict):
        self.name, self.kind, self.traits = name, kind, traits
        self.members: dict[str, Shape] = {}
        self.item: Shape | None = None


def parse(path: pathlib.Path) -> dict[str, Shape]:
    """Every shape of one file by name; a shape written without its members in one place
    (already expanded above) is merged with its expansion."""
    shapes: dict[str, Shape] = {}
    stack: list[tuple[int, Shape]] = []  # (indent, shape)
    pending: tuple[int, str] | None = None  # a `.Member ->` line waiting for its shape
    for line in path.read_text().splitlines():
        if line.startswith("=====") or not line.strip() or line.strip().startswith("values:"):
            if line.startswith("====="):
                stack, pending = [], None
            continue
        if m := MEMBER.match(line):
            pending = (len(m[1]), m[2])
            continue
        m = SHAPE.match(line)
        if not m:
            raise SystemExit(f"{path}: cannot parse: {line!r}")
        indent, name, kind, traits = len(m[1]), m[2], m[3], ast.literal_eval(m[4])
        shape = shapes.setdefault(name, Shape(name, kind, traits))
        if traits and not shape.traits:
            shape.traits = traits
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack:
            parent = stack[-1][1]
            if pending and pending[0] < indent:
                parent.members.setdefault(pending[1], shape)
            elif parent.kind == "list":
                parent.item = parent.item or shape
        pending = None
        stack.append((indent, shape))
    return shapes


def resolve(shapes: dict[str, dict[str, Shape]], member: str) -> tuple[str, Shape]:
    service, path = member.split(":")
    steps = path.replace("[]", ".[]").split(".")
    node = shapes[service][steps[0]]
    for step in steps[1:]:
        node = shapes[service][node.name]  # the expanded definition
        node = node.item if step == "[]" else node.members.get(step)
        if node is None:
            raise SystemExit(f"{member}: no step {step!r} in the shapes")
    return service, node


def rust_str(s: str) -> str:
    hashes = ""
    while f'"{hashes}' in s:
        hashes += "#"
    return f'r{hashes}"{s}"{hashes}'


def opt(v) -> str:
    return "None" if v is None else f"Some({v})"


def generate(shapes_dir: pathlib.Path) -> str:
    shapes = {svc: parse(shapes_dir / f) for svc, f in FILES.items()}
    rows = []
    for kind, pointer, what, member in MAPPING:
        _, shape = resolve(shapes, member)
        t = shape.traits
        limits = t.get("range" if shape.kind in ("integer", "long") else "length", {})
        target = {"value": "Value", "items": "Items", "keys": "Keys"}[what]
        if not limits and "pattern" not in t:
            continue  # nothing AWS constrains (e.g. body parameters)
        rows.append(
            f"    Constraint {{ kind: Kind::{kind}, target: Target::{target}, "
            f"path: {rust_str(pointer)}, member: {rust_str(member)}, shape: {rust_str(shape.name)}, "
            f"min: {opt(limits.get('min'))}, max: {opt(limits.get('max'))}, "
            f"pattern: {opt(rust_str(t['pattern']) if 'pattern' in t else None)}, "
            f"sensitive: {'true' if 'sensitive' in t else 'false'} }},\n"
        )
    return (
        "//! Generated by `scripts/gen-constraints.py` from the AWS API shapes\n"
        "//! (`scripts/aws-api/*-shapes.txt`); do not edit, run the script again.\n"
        "//! Every manifest field an AWS model constrains, with its shape's limits and pattern.\n"
        "\n"
        "use super::{Constraint, Target};\n"
        "use crate::resource::Kind;\n"
        "\n"
        "#[rustfmt::skip]\n"
        f"pub const TABLE: [Constraint; {len(rows)}] = [\n" + "".join(rows) + "];\n"
    )


def main() -> None:
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    shapes_dir = pathlib.Path(args[0]) if args else ROOT / "scripts/aws-api"
    text = generate(shapes_dir)
    if check:
        if OUT.read_text() != text:
            sys.exit(f"{OUT} is out of date: run scripts/gen-constraints.py")
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}: {text.count('Constraint {')} constraints")


if __name__ == "__main__":
    main()
