"""Properties of every definition, over Kuma's HTTP API on memory and Postgres.

- A spec drawn from a type's own OpenAPI schema is never refused at the OpenAPI step: the API answers
  exactly what the definition answers (201 and the stored document, or Kuma's violations of the type's
  validator), and what was stored decodes again to itself (defaulting is done once, and Go's strict
  structural decoding accepts it).
- A valid spec with one typed value replaced by a value of another JSON type is refused, and the answer
  names the mutated field (legacy types: jsonpb's decoding error, which names no field); nothing is
  stored.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kuma_cp import resources, specs
from tests.kuma_cp import spec_strategies as strategies
from tests.kuma_cp.corpus import CASES
from tests.kuma_cp.spec_http import TestClient, body_of, client, path_of, spec_of
from tests.kuma_cp.test_api import JSON

__all__ = ["client"]  # the fixture

EXAMPLES = int(os.environ.get("KUMA_TEST_SPEC_EXAMPLES", "25"))
WRITABLE = sorted(
    name
    for name in specs.DEFINITIONS
    if name in {t.name for t in resources.REGISTRY if t.path and not t.read_only}
)
VALID = {c.type: c.spec for c in CASES if c.kind == "valid"}
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
    database=None,
)


def _local(definition: specs.Definition[Any], spec: dict[str, Any]) -> tuple[int, Any]:
    try:
        return 201, definition.check(spec, specs.Meta(mesh="default"))
    except specs.SpecInvalid as exc:
        return 400, [list(v) for v in exc.violations]


@pytest.mark.parametrize("type_name", WRITABLE)
def test_specs_from_the_schema_get_the_definitions_answer(client: TestClient, type_name: str) -> None:
    definition, rtype = specs.DEFINITIONS[type_name], resources.get(type_name)
    accepted = 0

    @PROPERTY
    @given(spec=strategies.specs_of(definition))
    def check(spec: dict[str, Any]) -> None:
        nonlocal accepted
        status, expected = _local(definition, spec)  # SchemaInvalid or Undecodable: the schema is wrong
        path = path_of(rtype, "p-1")
        answer = client.put(path, content=json.dumps(body_of(rtype, "p-1", spec, {})), headers=JSON)
        assert answer.status_code == status, answer.text
        if status == 400:
            event("refused by the validator")
            got = [[p["field"], p["reason"]] for p in answer.json()["invalid_parameters"]]
            assert got == expected
            return
        event("accepted")
        accepted += 1
        stored = spec_of(rtype, client.get(path).json())
        assert stored == expected
        assert definition.check(stored, specs.Meta(mesh="default")) == stored
        assert client.delete(path).status_code == 200

    check()
    assert accepted or type_name in VALID, f"no {type_name} spec drawn was valid, and the corpus has none"


@pytest.mark.parametrize("type_name", [t for t in WRITABLE if t in VALID])
def test_a_wrong_json_type_is_refused_naming_the_field(client: TestClient, type_name: str) -> None:
    definition, rtype = specs.DEFINITIONS[type_name], resources.get(type_name)
    schema = strategies.schema_of(definition)
    valid = [c.spec for c in CASES if c.kind == "valid" and c.type == type_name]

    @PROPERTY
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        spec = data.draw(st.sampled_from(valid))
        places = list(strategies.typed_paths(schema, spec))
        if not places:
            return
        where, kind = data.draw(st.sampled_from(places))
        mutated = strategies.replaced(spec, where, strategies.wrong_value(kind))
        path = path_of(rtype, "m-1")
        client.delete(path)  # a failed example must not leave its resource to the next
        answer = client.put(path, content=json.dumps(body_of(rtype, "m-1", mutated, {})), headers=JSON)
        assert answer.status_code == 400, (where, answer.text)
        body = answer.json()
        dotted = strategies.dotted(where)
        if rtype.legacy:  # jsonpb's messages name the JSON type, never the field
            assert body["title"] == "Bad Request"
            assert body["detail"].startswith(f"invalid {type_name} object: "), body["detail"]
        else:
            named = [p["field"] or p["reason"] for p in body["invalid_parameters"]]
            assert any(dotted in n for n in named), (dotted, named)
        assert client.get(path).status_code == 404

    check()
