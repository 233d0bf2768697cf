"""Default resources: the ``default`` Mesh, created at start unless ``defaults.skipMeshCreation``.

As in Kuma, only the leader creates it, and it retries every 5s for up to 10 minutes while the store is
unavailable. Creating it is idempotent: an instance that finds it (or loses the create race to another
instance) is done, so several control planes starting together end with exactly one Mesh.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import kv
from kuma_cp import resources
from kuma_cp.manager import ResourceManager

__all__ = ["DEFAULT_MESH", "DefaultsComponent", "ensure_default_mesh"]

log = logging.getLogger("kuma-cp.defaults")
DEFAULT_MESH = "default"


def ensure_default_mesh(manager: ResourceManager) -> bool:
    """Create the default Mesh if it does not exist; True if this call created it."""
    mesh = resources.get("Mesh")
    try:
        manager.get(mesh, "", DEFAULT_MESH)
        return False
    except kv.NotFound:
        pass
    try:
        manager.create(mesh, "", DEFAULT_MESH, spec={})
    except kv.AlreadyExists:
        return False  # another instance created it first
    log.info("default Mesh created")
    return True


class DefaultsComponent:
    """A thread that, while this instance leads, makes sure the default resources exist."""

    def __init__(
        self,
        manager: ResourceManager,
        is_leader: Callable[[], bool],
        *,
        interval: float = 5.0,
        give_up_after: float = 600.0,
    ) -> None:
        self._manager = manager
        self._is_leader = is_leader
        self._interval = interval
        self._give_up_after = give_up_after
        self._stop = threading.Event()
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kuma-cp-defaults", daemon=True)

    def start(self) -> None:
        """Start trying in the background."""
        self._thread.start()

    def _run(self) -> None:
        waited = 0.0
        while not self._stop.is_set() and waited <= self._give_up_after:
            try:
                if self._is_leader():
                    ensure_default_mesh(self._manager)
                else:  # a follower is done once the leader's Mesh is there
                    self._manager.get(resources.get("Mesh"), "", DEFAULT_MESH)
            except kv.NotFound:
                pass
            except kv.KVError as exc:
                log.warning("could not create default resources yet (%s); retrying", exc)
            else:
                self.done.set()
                return
            self._stop.wait(self._interval)
            waited += self._interval
        if not self.done.is_set() and not self._stop.is_set():
            log.error("gave up creating default resources after %.0fs", self._give_up_after)

    def stop(self) -> None:
        """Stop trying."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
