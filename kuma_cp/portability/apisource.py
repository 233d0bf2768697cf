"""Resources read from a running control plane's HTTP API (this kuma-cp or Go's), as ``kumactl`` reads them.

``GET /`` (the export's header), ``GET /_resources`` (the types), then the list routes page by page. Each
item's REST form is read back into a record (meta, spec, status, times, labels), so that the export
renders it exactly as from a store. Authentication: a user token as a bearer token, or none (a caller on
localhost is an admin).
"""

from __future__ import annotations

import contextlib
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import kv
from kuma_cp.api.rest import META_KEYS, parse_time
from kuma_cp.portability.exporter import ExportError
from kuma_cp.resources import ResourceType

__all__ = ["ApiSource", "record_of"]

PAGE_SIZE = 1000
_NOT_SPEC = META_KEYS | {"snis"}


def _time(value: Any) -> datetime | None:
    return parse_time(value) if isinstance(value, str) else None


def record_of(rtype: ResourceType, item: Mapping[str, Any]) -> kv.Record:
    """The record a REST object describes."""
    if rtype.legacy:
        spec, status = {k: v for k, v in item.items() if k not in _NOT_SPEC}, {}
    else:
        spec, status = dict(item.get("spec") or {}), dict(item.get("status") or {})
    return kv.Record(
        key=kv.Key(rtype.name, str(item.get("mesh", "")), str(item["name"])),
        spec=spec,
        status=status,
        labels=dict(item.get("labels") or {}),
        creation_time=_time(item.get("creationTime")),
        modification_time=_time(item.get("modificationTime")),
    )


class ApiSource:
    """A control plane's HTTP API at *url* (``http://127.0.0.1:5681``), with a user *token* or none."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout
        self._context = ssl.create_default_context()

    def get(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        """The JSON body of ``GET <url><path>``; `ExportError` when the answer is not a 200."""
        target = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(target, headers={"Accept": "application/json"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._context) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("detail") or detail
            raise ExportError(f"GET {path}: {exc.code} {exc.reason}: {detail}".rstrip(": ")) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ExportError(f"could not reach the control plane at {self.url}: {reason}") from None

    def header(self) -> str | None:
        """``kumactl export``'s first line, from ``GET /``; None when the server does not say."""
        index = self.get("/")
        if not isinstance(index, Mapping) or "version" not in index:
            return None
        fields = ("product", "version", "hostname", "clusterId", "instanceId")
        product, version, hostname, cluster, instance = (index.get(f, "") for f in fields)
        return f"# Product: {product}, Version: {version}, Hostname: {hostname}, ClusterId: {cluster}, InstanceId: {instance}\n"  # noqa: E501

    def descriptors(self) -> Sequence[Mapping[str, Any]]:  # noqa: D102 - Source documents it
        index = self.get("/_resources")
        return list(index.get("resources") or []) if isinstance(index, Mapping) else []

    def records(self, rtype: ResourceType, mesh: str | None) -> Iterator[kv.Record]:  # noqa: D102
        path = f"/meshes/{urllib.parse.quote(mesh, safe='')}/{rtype.path}" if mesh else f"/{rtype.path}"
        offset = ""
        while True:
            query = {"size": str(PAGE_SIZE)} | ({"offset": offset} if offset else {})
            page = self.get(path, query)
            for item in page.get("items") or ():
                yield record_of(rtype, item)
            following = page.get("next")
            if not following:
                return
            offset = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(following).query)).get("offset", "")
            if not offset:
                return
