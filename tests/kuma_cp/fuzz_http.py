"""The HTTP API fuzzer's requests and checks (used by ``test_fuzz_api.py``).

`requests` draws a well-formed request and applies 0 to 4 mutations to it (method; route shape; mesh,
name and plural segments: unicode, dots, encoded slashes and NULs, 254 characters, empty; query
strings; content type, ``If-Match``, ``Authorization``, a remote caller; the body: random bytes, invalid
UTF-8, wrong JSON types, deep nesting, NUL characters, lone surrogates, NaN, 1e400, duplicate keys, a
type, name or mesh that differs from the URL). `check_answer` holds an answer to Kuma's shapes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

import kv
from kuma_cp import resources
from kuma_cp.resources import ResourceType

__all__ = ["LOOPBACK", "REMOTE", "Request", "check_answer", "dumps", "requests", "snapshot"]

LOOPBACK, REMOTE = ("127.0.0.1", 40000), ("203.0.113.7", 40000)
PLAIN = {404: "404: Page Not Found", 405: "405: Method Not Allowed", 415: "415: Unsupported Media Type"}
ERROR_KEYS = {"type", "status", "title", "detail", "invalid_parameters", "details", "causes"}
TYPES = resources.REGISTRY
Request = tuple[str, str, dict[str, str], bytes, tuple[str, int]]
"""(method, URL, headers, body, client address)"""

# --- what is sent ---------------------------------------------------------------------------------------

BAD_NAMES = st.sampled_from(
    ["", ".", "..", "%2F", "a%2Fb", "%00", "%ZZ", "A", "-a", "a_b", "%C3%A9", "a" * 254, "b" * 64, "~"]
) | st.text(max_size=12).map(lambda s: quote(s, safe=""))
PLURALS = st.sampled_from([t.path for t in TYPES]) | st.sampled_from(["meshs", "Meshes", "widgets", ""])
DEEP = [b"[" * n + b"]" * n for n in (100, 400, 900, 990, 3000)]
POISON = st.sampled_from(
    ["\0", "a\0b", "\ud800", "\udfff", "\ufeff", "\U0001f4a5", "\u2028", "x" * 5000, "<&"]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**63, -(2**63) - 1, 10**100, 0.1, -0.0, 1e308, float("nan"), float("inf")])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | POISON
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
)
SPECS = st.dictionaries(st.sampled_from(["networking", "targetRef", "data", "a"]), st.text(max_size=4))
LABEL_KEYS = st.sampled_from(["k", "kuma.io/zone", "kuma.io/origin", "kuma.io/display-name", "a/b/c", "K"])
QUERY_KEYS = st.sampled_from(["size", "offset", "name", "filter[labels.k]", "filter[x]", "format"])
QUERY_VALUES = st.sampled_from(["-1", "0", "2", "1001", "abc", "9" * 30, "", "a\0", "é"]) | st.text(
    max_size=6
)


def dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", errors="surrogatepass")


RAW_BODIES = (
    st.sampled_from(
        [
            b"",
            b"null",
            b"{",
            b"\xff\xfe\x00",
            b'{"type": "Mesh", "name": "\xff\xfe"}',
            b'{"type": NaN}',
            b'{"spec": Infinity}',
            b'{"name": "\\ud800"}',
            b'{"a": 1e400}',
            b"[" * 20000,
            b'{"a":' * 995 + b"1" + b"}" * 995,
        ]
    )
    | st.binary(max_size=64)
    | JSON_VALUES.map(dumps)
)


def _document(draw: st.DrawFn, rtype: ResourceType, mesh: str, name: str) -> dict[str, Any]:
    document: dict[str, Any] = {"type": rtype.name, "name": name}
    if rtype.scope is kv.Scope.MESH:
        document["mesh"] = mesh
    spec = draw(SPECS)
    if rtype.legacy:
        document.update(spec)
    else:
        document["spec"] = spec
    return document


def _mutated_body(draw: st.DrawFn, document: dict[str, Any]) -> bytes:
    field = draw(st.sampled_from(["type", "name", "mesh", "labels", "spec", "extra", "deep", "twice", "raw"]))
    if field == "raw":
        return draw(RAW_BODIES)
    if field == "deep":  # nesting too deep for json.dumps to build: spliced in as text
        return dumps({**document, "deep": "@"}).replace(b'"@"', draw(st.sampled_from(DEEP)))
    if field == "twice":  # the same key twice: the last one wins, as in Go
        return dumps(document)[:-1] + b', "name": ' + dumps(draw(st.sampled_from(["other", 1]))) + b"}"
    if field == "labels":
        document["labels"] = draw(st.dictionaries(LABEL_KEYS | st.text(max_size=5), POISON | JSON_VALUES))
    elif field == "spec" and isinstance(document.get("spec"), dict):
        document["spec"][draw(st.text(max_size=3) | POISON)] = draw(JSON_VALUES)
    elif field in ("spec", "extra"):
        document[draw(st.sampled_from(["spec", "x", "status", "creationTime"]) | POISON)] = draw(JSON_VALUES)
    else:
        document[field] = draw(st.sampled_from(["other", "", "Mesh", "MeshTimeout"]) | JSON_VALUES)
    return dumps(document)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """A well-formed request with 0 to 4 mutations: (method, url, headers, body, client address)."""
    rtype = draw(st.sampled_from(TYPES))
    mesh, name = (
        draw(st.sampled_from(["default", "default", "m1"])),
        draw(st.sampled_from(["x", "dp-1", "a.b"])),
    )
    method, plural, shape = draw(st.sampled_from(["GET", "PUT", "PUT", "DELETE", "LIST"])), rtype.path, "item"
    headers, query, client, body = {"content-type": "application/json"}, [], LOOPBACK, None
    if method == "LIST":  # a list, with a query
        method, shape = "GET", "list"
        query = draw(st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=3))
    document = _document(draw, rtype, mesh, name)
    for mutation in draw(st.lists(st.integers(0, 11), max_size=4)):
        if mutation == 0:
            method = draw(st.sampled_from(["GET", "PUT", "DELETE", "POST", "PATCH", "HEAD", "OPTIONS"]))
        elif mutation in (1, 2):
            mesh, name = (draw(BAD_NAMES), name) if mutation == 1 else (mesh, draw(BAD_NAMES))
        elif mutation == 3:
            plural = draw(PLURALS)
        elif mutation == 4:
            query.append((draw(QUERY_KEYS), draw(QUERY_VALUES)))
        elif mutation == 5:
            headers["content-type"] = draw(
                st.sampled_from(["application/json; charset=utf-8", "text/plain", ""])
            )
        elif mutation == 6:
            headers.pop("content-type", None)
        elif mutation == 7:
            headers["if-match"] = draw(st.sampled_from(['"1"', '"0"', "*", 'W/"1"', "x", '"', '"1", "2"']))
        elif mutation == 8:
            headers["authorization"] = draw(st.sampled_from(["Bearer ", "Bearer x.y.z", "Basic Zm9v"]))
        elif mutation == 9:
            client = REMOTE
        elif mutation == 10:
            shape = draw(st.sampled_from(["static", "list", "global"]))
        else:
            body = _mutated_body(draw, document)
    if shape == "static":
        path = draw(st.sampled_from(["/", "/_resources", "/who-am-i", "/tokens/user", "//", "/meshes/"]))
    elif rtype.scope is kv.Scope.MESH and shape != "global":
        path = f"/meshes/{mesh}/{plural}" + (f"/{name}" if shape == "item" else "")
    else:
        path = f"/{plural}" + (f"/{name}" if shape == "item" or rtype.scope is kv.Scope.GLOBAL else "")
    if body is None:
        body = dumps(document) if method in ("PUT", "POST", "PATCH") else b""
    return method, path + ("?" + urlencode(query) if query else ""), headers, body, client


# --- what is checked ------------------------------------------------------------------------------------


def snapshot(store: kv.Store) -> dict[kv.Key, tuple[Any, ...]]:
    """Everything the store holds, every type, with versions."""
    return {r.key: (r.version, r.spec, r.status, r.labels) for t in TYPES for r in store.list(t.name).items}


def check_answer(status: int, content_type: str, text: str, method: str) -> None:
    """Kuma's answers only: no 5xx but 503, errors in Kuma's shape or go-restful's plain text."""
    assert status < 500 or status == 503, text
    if status < 400 or method == "HEAD":
        return
    if content_type.startswith("text/plain"):
        assert text == PLAIN.get(status), (status, text)
        return
    if status == 400 and not text:  # POST /tokens/user: Kuma's bare 400 for a body that does not decode
        return
    body = json.loads(text)
    assert set(body) <= ERROR_KEYS, body
    assert (body["type"], body["status"], body["details"]) == ("/std-errors", status, body["detail"]), body
    assert isinstance(body["title"], str), body
    assert isinstance(body["detail"], str), body
    for violation in body.get("invalid_parameters", []):
        assert set(violation) == {"field", "reason"}, body
        assert all(isinstance(v, str) for v in violation.values()), body
