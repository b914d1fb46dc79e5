# docker-stacks /etc/jupyter/jupyter_server_config.py (the parts that apply without GEN_CERT).
c = get_config()  # type: ignore[name-defined]  # noqa: F821
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.open_browser = False
c.FileContentsManager.delete_to_trash = False
