"""The inventory on every backend the run chooses (``pytest --kv-backend=all``): one test, three runs."""

import threading

import pytest

import kv
from inventory import Inventory, OutOfStock


@pytest.fixture
def inventory(kv_store: kv.Store) -> Inventory:
    shop = Inventory(kv_store)
    shop.open_warehouse("north")
    return shop


def test_receiving_and_shipping(inventory: Inventory) -> None:
    assert inventory.receive("north", "bolts", 10) == 10
    assert inventory.ship("north", "bolts", 4) == 6
    with pytest.raises(OutOfStock):
        inventory.ship("north", "bolts", 7)
    assert inventory.stock("north", "bolts") == 6


def test_every_test_starts_from_an_empty_store(kv_store: kv.Store) -> None:
    assert kv_store.list("Warehouse").total == 0


def test_racing_clerks_lose_no_delivery(inventory: Inventory) -> None:
    inventory.receive("north", "nuts", 1)
    clerks = [
        threading.Thread(target=lambda: [inventory.receive("north", "nuts", 1) for _ in range(10)])
        for _ in range(4)
    ]
    for clerk in clerks:
        clerk.start()
    for clerk in clerks:
        clerk.join()
    assert inventory.stock("north", "nuts") == 41


def test_closing_a_warehouse_removes_its_items(inventory: Inventory, kv_store: kv.Store) -> None:
    inventory.receive("north", "bolts", 3)
    inventory.close_warehouse("north")
    assert kv_store.list("Item").total == 0


def test_kumas_types_are_there_too(kuma_store: kv.Store) -> None:
    kuma_store.create(kv.Record(key=kv.Key("Mesh", "", "default")))
    assert [m.key.name for m in kuma_store.list("Mesh").items] == ["default"]
