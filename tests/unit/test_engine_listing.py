"""The engine's two-ended Neutron list: every item exactly once, whatever the size.

A fake `call` serves a sorted id space with Neutron's limit/marker/sort_dir paging (pure
logic; the real list is exercised against the devcloud by every integration test)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from cgcloud.engines import openstack as eng


class FakeNeutron:
    def __init__(self, n: int):
        self.ids = [f"{i:08x}-0000-0000-0000-000000000000" for i in range(n)]
        self.requests = 0
        self.lock = threading.Lock()

    def call(self, service: str, method: str, url: str, params: dict[str, Any]) -> Any:
        assert (service, method, url) == ("network", "GET", "/security-groups")
        with self.lock:
            self.requests += 1
        order = sorted(self.ids, reverse=params["sort_dir"] == "desc")
        marker = params.get("marker")
        start = order.index(marker) + 1 if marker else 0
        page = order[start:start + params["limit"]]
        more = start + params["limit"] < len(order)
        return {"security_groups": [{"id": x, "fields": params["fields"]} for x in page],
                "security_groups_links": [{"rel": "next", "href": "…"}] if more else []}


@pytest.mark.parametrize("n", [0, 1, 2, 5, 9, 10, 11, 40, 41, 1000])
@pytest.mark.parametrize("page", [1, 3, 10])
def test_both_ends_list_every_item_once_in_order(n: int, page: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNeutron(n)
    monkeypatch.setattr(eng, "BOTH_ENDS_PAGE_SIZE", page)
    engine = object.__new__(eng.OpenStackEngine)
    engine.call = fake.call  # type: ignore[method-assign]
    got = engine._list_from_both_ends("security-groups", {"fields": ["id"]})
    assert [x["id"] for x in got] == fake.ids
    assert all(x["fields"] == ["id"] for x in got)
    # the two streams meet: about half the pages each, plus at most one extra page each
    assert fake.requests <= max(2, -(-n // page) + 2)
