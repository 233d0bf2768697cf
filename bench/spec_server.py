"""The resource API on a memory store, with or without spec validation, for the ``spec`` section.

    python -m bench.spec_server PORT checked|unchecked

``unchecked`` empties the registry of definitions, so a PUT stores its spec as given: the same server,
the same store, the same bytes, minus Kuma's write pipeline. It serves until SIGTERM.
"""

from __future__ import annotations

import sys

import uvicorn

import kv
from kuma_cp import resources, specs
from kuma_cp.api import IndexInfo, api_app
from kuma_cp.manager import ResourceManager


def main() -> None:
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "unchecked":
        specs.DEFINITIONS.clear()
    manager = ResourceManager(kv.open("memory://", catalog=resources.catalog()))
    manager.create(resources.get("Mesh"), "", "default", spec={})
    info = IndexInfo(hostname="bench", version="bench", instance_id="bench", cluster_id="bench")
    uvicorn.run(api_app(manager, info=info), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
