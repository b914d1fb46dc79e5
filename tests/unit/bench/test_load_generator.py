"""The pure parts of the API phase's tools: vegeta's targets and results, py-spy's top lines,
and the summary of a run of only some phases."""

from __future__ import annotations

import base64
import json

import pytest

from bench.profile_top import report, top_frames
from bench.run import summary
from bench.vegeta import NO_TARGETS, Target, outcome_of, target_line


def test_a_target_is_one_line_of_vegetas_json_format_with_a_base64_body() -> None:
    line = target_line(
        Target("POST", "http://127.0.0.1:1/hook/", {"Stripe-Signature": "t=1,v1=ab"}, b'{"a":1}')
    )
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["method"] == "POST"
    assert parsed["url"] == "http://127.0.0.1:1/hook/"
    assert parsed["header"] == {"Stripe-Signature": ["t=1,v1=ab"]}
    assert base64.b64decode(parsed["body"]) == b'{"a":1}'


def _result(timestamp: str, latency_ns: int, code: int, error: str = "") -> str:
    return json.dumps({"timestamp": timestamp, "latency": latency_ns, "code": code, "error": error})


def test_results_give_latencies_statuses_and_the_span_from_first_send_to_last_answer() -> None:
    lines = [
        _result("2026-11-30T11:00:00.000000001Z", 2_000_000, 200),
        _result("2026-11-30T11:00:00.5+00:00", 500_000_000, 200),
        _result("2026-11-30T11:00:00.1Z", 1_000_000, 0, "connection refused"),
        _result("2026-11-30T11:00:02Z", 0, 0, NO_TARGETS),
        "",
    ]
    outcome = outcome_of(lines)
    assert outcome.statuses == [200, 200, 0]
    assert outcome.latencies == pytest.approx([0.002, 0.5, 0.001])
    assert outcome.elapsed == pytest.approx(1.0, abs=1e-6)


def test_no_results_span_nothing() -> None:
    assert outcome_of([]).elapsed == 0.0


def test_profile_top_ranks_self_and_total_samples_by_function() -> None:
    collapsed = [
        "MainThread;serve (app.py:10);query (db.py:5) 6",
        "MainThread;serve (app.py:11);query (db.py:7) 2",
        "MainThread;serve (app.py:12);encode (json.py:3) 2",
        "not a sample line",
    ]
    samples, own, total = top_frames(collapsed, 2)
    assert samples == 10
    assert [(r.frame, r.percent) for r in own] == [
        ("query (db.py)", 80.0),
        ("encode (json.py)", 20.0),
    ]
    assert total[0].frame == "serve (app.py)" and total[0].percent == 100.0
    assert report(collapsed).startswith("samples: 10\n")


def test_a_summary_of_only_the_api_phase_has_the_api_keys() -> None:
    poll = {"polls_per_s": 2000.0, "poll_p50_ms": 5.0, "poll_p99_ms": 19.0}
    results = {
        "api": {
            "webhooks_per_s": 300.0,
            "polls": {"tools": {**poll, "poll_apiserver_requests": 0}},
            "load_average": [1, 1, 1],
        }
    }
    result = summary(results, "quick", 60.0)
    assert result["phases"] == ["api"]
    assert result["webhooks_per_s"] == 300.0
    assert result["poll_p99_ms"] == {"tools": 19.0}
    assert "burst_n" not in result
    assert result["load_average"] == {"api": [1, 1, 1]}
