"""``python -m kuma_cp``: the same as the ``kuma-cp`` command."""

from kuma_cp.cli import main

main()
