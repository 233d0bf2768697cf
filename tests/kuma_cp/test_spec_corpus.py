"""The corpus through the definitions directly: each case gets exactly Kuma's answer."""

from __future__ import annotations

import pytest

from kuma_cp import specs
from kuma_cp.specs.errors import to_violations
from tests.kuma_cp.corpus import CASES, Case


def _answer(case: Case) -> tuple[str, object]:
    definition = specs.lookup(case.type)
    assert definition is not None, f"no definition for {case.type}"
    meta = specs.Meta(name="x", mesh="default", labels=case.labels)
    try:
        return "valid", definition.check(case.spec, meta)
    except specs.SchemaInvalid as exc:
        return "invalid", to_violations(exc.messages)
    except specs.SpecInvalid as exc:
        return "invalid", exc.violations
    except specs.Undecodable as exc:
        return "bad_request", exc.reason


SPEC_CASES = [c for c in CASES if c.resource_name is None]  # name rules: over HTTP only


@pytest.mark.parametrize("case", SPEC_CASES, ids=[c.id for c in SPEC_CASES])
def test_case(case: Case) -> None:
    assert _answer(case) == (case.kind, case.expected)
