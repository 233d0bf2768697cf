"""kuma_cp: the ``kuma-cp`` control plane around the kv store (config, resources, HTTP API, CLI)."""
