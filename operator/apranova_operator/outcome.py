"""What a reconcile answers: done, "come back later", or failed.

The two are kept apart as in kubebuilder (a ``Result`` with ``RequeueAfter`` versus an error):

- a *revisit* means all is well and the enrollment wants another look after exactly that many
  seconds (a Discord invite to renew, a namespace still being deleted); the work queue forgets
  any backoff and counts no error;
- a *failure* is retried with a backoff that grows with each consecutive failure, and counts as
  an error. When the failing part keeps its own backoff state in the enrollment's status (the
  database and integrations steps do, so it survives a restart), it gives the delay itself and
  the queue uses it as is instead of doubling it again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReconcileResult:
    """One reconcile's answer; build it with :data:`DONE`, :func:`revisit` or :func:`failed`."""

    failure: str | None = None
    """The reason of a failure (a condition reason or an exception's type); None on success."""
    after: float | None = None
    """Seconds: the exact revisit delay, or a failure's own backoff (None: the queue's)."""

    @property
    def failed(self) -> bool:
        """True when the reconcile failed (the queue backs off and counts an error)."""
        return self.failure is not None


DONE = ReconcileResult()
"""Nothing more to do until a watch event asks."""


def revisit(seconds: float) -> ReconcileResult:
    """All good; look again after exactly ``seconds`` (not an error, backoff reset)."""
    return ReconcileResult(after=seconds)


def failed(reason: str, retry_after: float | None = None) -> ReconcileResult:
    """A failure named ``reason``; retried after ``retry_after`` seconds when the failing part
    computed its own backoff, else after the queue's growing backoff."""
    return ReconcileResult(failure=reason, after=retry_after)


def soonest(results: list[ReconcileResult]) -> ReconcileResult:
    """One answer for several parts: the first failure if any (waiting for the shortest of the
    failures' own delays, or the queue's backoff when one has none), else the soonest revisit."""
    failures = [r for r in results if r.failed]
    if failures:
        delays = [r.after for r in failures]
        own = None if any(d is None for d in delays) else min(d for d in delays if d is not None)
        return failed(failures[0].failure or "", own)
    revisits = [r.after for r in results if r.after is not None]
    return revisit(min(revisits)) if revisits else DONE
