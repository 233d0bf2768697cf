"""HostnameGenerator (``pkg/core/resources/apis/hostnamegenerator``): destinations' DNS names, templated.

The template is a Go ``text/template``: Kuma parses it (with a ``label`` function) and renders it with
stub values, and the result must be a DNS subdomain. Parse errors are Go's (`kuma_cp.specs._goparse`);
rendering covers what hostname templates are made of (`kuma_cp.specs._goexec`), and a template using
more than that is not rendered here, so its result is not checked.
"""

from __future__ import annotations

from pydantic import Field

from kuma_cp.specs._goexec import Stub, Unsupported, render
from kuma_cp.specs._goparse import TemplateError, parse
from kuma_cp.specs._gotree import go_quote
from kuma_cp.specs._resources import Extension, LabelSelector
from kuma_cp.specs.base import Spec
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import MUST_NOT_BE_EMPTY, Errors, Path, rfc1123_subdomain_errors

__all__ = ["DEFINITION", "HostnameGeneratorSpec", "template_errors"]

_STUB = Stub(
    {"Name": "name", "DisplayName": "displayname", "Namespace": "namespace", "Mesh": "mesh", "Zone": "zone"}
)


class Selector(Spec):
    """The destinations named: MeshServices, MeshExternalServices or MeshMultiZoneServices, by labels."""

    mesh_service: LabelSelector | None = None
    mesh_external_service: LabelSelector | None = None
    mesh_multi_zone_service: LabelSelector | None = None


class HostnameGeneratorSpec(Spec):
    """The spec of a HostnameGenerator."""

    selector: Selector = Field(default_factory=Selector)  # a Go struct: always written, no schema default
    template: str
    extension: Extension | None = None


def template_errors(template: str, *, render_stub: bool) -> str | None:
    """Kuma's complaint about a Go template (parsed with a ``label`` function), or None.

    With *render_stub*, the template is also run on stub values and must give a DNS subdomain.
    """
    try:
        parsed = parse(template, {"label"})
    except TemplateError as exc:
        return f"couldn't parse template: {exc}"
    if not render_stub:
        return None
    try:
        rendered = render(parsed, template, _STUB, {"label": lambda key: "label"})
    except TemplateError as exc:
        return f"couldn't render template with stub values: {exc}"
    except Unsupported:
        return None
    reasons = rfc1123_subdomain_errors(rendered)
    if reasons:
        return f"template renders to {go_quote(rendered)} which is not a valid DNS name: {', '.join(reasons)}"
    return None


def validate(spec: HostnameGeneratorSpec, meta: Meta) -> Errors:
    """Kuma's ``HostnameGeneratorResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    selector = spec.selector
    chosen = [selector.mesh_service, selector.mesh_external_service, selector.mesh_multi_zone_service]
    if sum(item is not None for item in chosen) != 1:
        errors.at(
            path.field("selector"), "exact one selector (meshService, meshExternalService) must be defined"
        )
    if not spec.template:
        errors.at(path.field("template"), MUST_NOT_BE_EMPTY)
    elif problem := template_errors(spec.template, render_stub=True):
        errors.at(path.field("template"), problem)
    if spec.extension is not None and not spec.extension.type:
        errors.at(path.field("extension").field("type"), MUST_NOT_BE_EMPTY)
    return errors


DEFINITION: Definition[HostnameGeneratorSpec] = Definition(
    name="HostnameGenerator", spec=HostnameGeneratorSpec, validator=validate
)
