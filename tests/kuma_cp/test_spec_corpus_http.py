"""The corpus over Kuma's HTTP API, on memory and on Postgres: what a kumactl user meets.

Each valid case is created (201) and read back as Kuma would have stored it; each invalid case is
refused with Kuma's body (400 ``Could not process a resource``, ``Resource is not valid``, the
violations in Kuma's order) or, for a spec Go cannot decode, 400 ``Bad Request``; a refused PUT
stores nothing.
"""

from __future__ import annotations

import json

import pytest

from kuma_cp import resources
from tests.kuma_cp.corpus import CASES, Case
from tests.kuma_cp.spec_http import TestClient, body_of, client, path_of, spec_of
from tests.kuma_cp.test_api import JSON, std_error

__all__ = ["client"]  # the fixture

WRITABLE = [c for c in CASES if c.type in {t.name for t in resources.REGISTRY if t.path and not t.read_only}]


@pytest.mark.parametrize("case", WRITABLE, ids=[c.id for c in WRITABLE])
def test_case_over_http(client: TestClient, case: Case) -> None:
    rtype = resources.get(case.type)
    name = case.resource_name or f"c-{abs(hash(case.id)) % 10**8}"
    path = path_of(rtype, name)
    answer = client.put(path, content=json.dumps(body_of(rtype, name, case.spec, case.labels)), headers=JSON)
    if case.kind == "valid":
        assert answer.status_code == 201, answer.text
        read = client.get(path)
        assert read.status_code == 200
        assert spec_of(rtype, read.json()) == case.expected
        assert client.delete(path).status_code == 200
        return
    if case.kind == "invalid":
        expected = std_error(400, case.title, "Resource is not valid", *case.expected)
    else:
        detail = f"invalid {case.type} object: {json.dumps(case.expected, ensure_ascii=False)}"
        expected = std_error(400, "Bad Request", detail)
    assert (answer.status_code, answer.json()) == (400, expected)
    assert client.get(path).status_code == 404  # nothing was stored
