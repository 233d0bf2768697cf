"""Data portability: Kuma's Kubernetes form of a resource, ``kuma-cp export`` and ``kuma-cp import``.

- `kuma_cp.portability.k8sform`: a resource as a Kubernetes object (``GET …?format=k8s``) and back.
- `kuma_cp.portability.exporter`: the documents ``kumactl export`` writes, from a store or an API.
- `kuma_cp.portability.importer`: documents validated, then written into a store in dependency order.
- `kuma_cp.portability.yamlout`: YAML written and read as Go's ``sigs.k8s.io/yaml`` does.
"""
