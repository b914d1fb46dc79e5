"""Local control-plane tools: the Kubernetes control plane, PostgreSQL, PKI and ``make run``.

Only for development and tests; they need the ``local`` extra (``pip install -e '.[local]'``)
and are not in the production image. Production code (``apranova_api``, ``apranova_operator``,
``apranova_contract``) never imports them; ``make lint`` checks that.
"""
