"""kv's benchmark harness: kv against a bare baseline doing the same work, in the same run.

``python -m bench --help``; see `bench.__main__`.
"""
