"""Every adapter of the API to the world outside it, in one place.

- :mod:`.kube` — the Kubernetes API (Tracks, StudentEnrollments), behind the ``Cluster`` port;
- :mod:`.status_cache` — a watch-fed cache of every enrollment's status;
- :mod:`.stripe_gateway` and :mod:`.local_gateway` — Stripe Checkout and its offline stand-in,
  behind the ``CheckoutGateway`` port (:mod:`apranova_api.payments.gateway`);
- :mod:`.mail` — SMTP.

Each turns its library's failures into the API's own error types
(``KubeUnavailableError``, ``GatewayUnavailableError``, ...), so the rest never sees them.
"""
