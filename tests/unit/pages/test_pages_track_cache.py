"""The dashboard's track list is listed once per TTL; failures are not remembered."""

from __future__ import annotations

import pytest

from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.pages.track_cache import CachedTrackList


def test_one_list_serves_until_the_ttl_passes() -> None:
    now = [100.0]
    calls: list[float] = []

    def list_tracks() -> list[dict]:
        calls.append(now[0])
        return [{"metadata": {"name": "dp"}}]

    cached = CachedTrackList(list_tracks, ttl=30, timer=lambda: now[0])
    assert cached() == cached() == [{"metadata": {"name": "dp"}}]
    now[0] += 29
    cached()
    assert calls == [100.0]
    now[0] += 2
    cached()
    assert calls == [100.0, 131.0]


def test_an_unreachable_cluster_is_asked_again_next_time() -> None:
    answers: list[object] = [KubeUnavailableError("down"), []]

    def list_tracks() -> list[dict]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    cached = CachedTrackList(list_tracks)
    with pytest.raises(KubeUnavailableError):
        cached()
    assert cached() == []
