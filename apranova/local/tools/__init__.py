"""Running the tools a Track names (JupyterLab, Superset, Prefect, code-server) as local processes.

There is no container runtime here, so each tool's image is stood in for by the same tool at the
same version installed from PyPI or npm into its own cached prefix (:mod:`.catalog`,
:mod:`.install`); the operator's rendered Deployment is turned into that process the way a kubelet
would run it (:mod:`.kubelet`); ``LOCAL_TOOLS=1`` runs them behind a forward-auth reverse proxy
(:mod:`.proxy`, :mod:`.supervisor`).
"""
