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

__all__ = ["DEFAULT_MESH", "LeaderTask", "default_mesh_task", "ensure_default_mesh"]

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


class LeaderTask:
    """A thread that runs *task* while this instance leads, retrying every *interval* until it succeeds.

    A follower is done as soon as *present* (which raises `kv.NotFound` until then) finds the result.
    """

    def __init__(
        self,
        name: str,
        task: Callable[[], object],
        present: Callable[[], object],
        is_leader: Callable[[], bool],
        *,
        interval: float = 5.0,
        give_up_after: float = 600.0,
    ) -> None:
        self._name = name
        self._task = task
        self._present = present
        self._is_leader = is_leader
        self._interval = interval
        self._give_up_after = give_up_after
        self._stop = threading.Event()
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kuma-cp-{name}", daemon=True)

    def start(self) -> None:
        """Start trying in the background."""
        self._thread.start()

    def _run(self) -> None:
        waited = 0.0
        while not self._stop.is_set() and waited <= self._give_up_after:
            try:
                self._task() if self._is_leader() else self._present()
            except kv.NotFound:
                pass
            except kv.KVError as exc:
                log.warning("could not create the %s yet (%s); retrying", self._name, exc)
            else:
                self.done.set()
                return
            self._stop.wait(self._interval)
            waited += self._interval
        if not self.done.is_set() and not self._stop.is_set():
            log.error("gave up creating the %s after %.0fs", self._name, self._give_up_after)

    def stop(self) -> None:
        """Stop trying."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def default_mesh_task(manager: ResourceManager, is_leader: Callable[[], bool]) -> LeaderTask:
    """The leader creates the default Mesh; followers wait until it exists."""
    mesh = resources.get("Mesh")
    return LeaderTask(
        "default Mesh",
        lambda: ensure_default_mesh(manager),
        lambda: manager.get(mesh, "", DEFAULT_MESH),
        is_leader,
    )
