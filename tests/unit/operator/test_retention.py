"""Claims of tools that left the track are kept; only an explicit annotation deletes them."""

from __future__ import annotations

from apranova_contract import labels
from apranova_operator.handlers import enrollment_needs_work
from apranova_operator.render import retention


def _enrollment(annotation: str | None) -> dict:
    annotations = {retention.DELETE_OPT_IN: annotation} if annotation is not None else {}
    return {"metadata": {"annotations": annotations}}


def test_deletion_needs_the_tool_named_or_a_star() -> None:
    assert not retention.deletion_opted_in(_enrollment(None), "code")
    assert not retention.deletion_opted_in(_enrollment(""), "code")
    assert not retention.deletion_opted_in(_enrollment("codes, ide"), "code")
    assert retention.deletion_opted_in(_enrollment("ide, code"), "code")
    assert retention.deletion_opted_in(_enrollment("*"), "code")


def test_retain_then_restore_marks() -> None:
    claim = {"metadata": {"labels": {labels.TOOL: "code"}}}
    assert retention.claim_tool(claim) == "code" and not retention.is_retained(claim)
    patch = retention.retain_patch("code", "FSD", "2026-11-30T08:00:00Z")
    marked = {
        "metadata": {"labels": {**claim["metadata"]["labels"], **patch["metadata"]["labels"]}}
    }
    assert retention.is_retained(marked)
    assert patch["metadata"]["annotations"][retention.RETAINED_REASON] == (
        "tool code is no longer in track FSD"
    )
    assert set(retention.restore_patch()["metadata"]["labels"].values()) == {None}


def test_condition_names_kept_claims_and_never_blocks_ready() -> None:
    assert retention.retained_check([]) is None
    check = retention.retained_check(["jupyter-data", "code-data"])
    assert check is not None and check.ready
    assert check.type == retention.DATA_RETAINED
    assert "code-data, jupyter-data" in check.message and retention.DELETE_OPT_IN in check.message
    message = retention.retained_message("code-data", "code", "FSD")
    assert "code-data" in message and f"{retention.DELETE_OPT_IN}=code" in message


def test_an_opt_in_wakes_the_enrollment_only_while_data_is_kept() -> None:
    body = {
        "metadata": {
            "generation": 2,
            "finalizers": [labels.FINALIZER],
            "annotations": {retention.DELETE_OPT_IN: "code"},
        },
        "status": {"observedGeneration": 2, "conditions": []},
    }
    assert not enrollment_needs_work("MODIFIED", body)
    body["status"]["conditions"] = [{"type": retention.DATA_RETAINED, "status": "True"}]
    assert enrollment_needs_work("MODIFIED", body)
