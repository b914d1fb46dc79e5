"""The ``apranova`` command: ``cluster`` (local control plane), ``operator``, ``api`` and
``admin`` (support)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def _cluster(args: argparse.Namespace) -> int:
    try:
        from apranova.local import cluster
    except ImportError as error:
        print(
            f"apranova cluster needs the local tools: pip install 'apranova[local]' ({error})",
            file=sys.stderr,
        )
        return 2
    return cluster.main(args)


def _operator(args: argparse.Namespace) -> int:
    from apranova_operator.main import run_operator

    return run_operator(args.rest)


def _api(args: argparse.Namespace) -> int:
    from apranova_api.main import run_api

    return run_api(args.rest)


def _admin(args: argparse.Namespace) -> int:
    from apranova_api.admin import run_admin

    return run_admin(args.rest)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``apranova`` command."""
    parser = argparse.ArgumentParser(prog="apranova", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    cluster_cmd = commands.add_parser("cluster", help="the local Kubernetes control plane")
    cluster_actions = cluster_cmd.add_subparsers(dest="action", required=True)
    cluster_actions.add_parser("up", help="start it (a no-op when running)")
    down = cluster_actions.add_parser("down", help="stop the processes it started")
    down.add_argument("--purge", action="store_true", help="also wipe etcd data and certificates")
    cluster_actions.add_parser("status", help="show each component and /readyz")
    cluster_cmd.set_defaults(func=_cluster)

    operator_cmd = commands.add_parser("operator", help="run the StudentEnrollment operator")
    operator_cmd.add_argument("rest", nargs=argparse.REMAINDER)
    operator_cmd.set_defaults(func=_operator)

    api_cmd = commands.add_parser("api", help="run the enrollment API and pages")
    api_cmd.add_argument("rest", nargs=argparse.REMAINDER)
    api_cmd.set_defaults(func=_api)

    admin_cmd = commands.add_parser("admin", help="support: purchases, suspensions, audit log")
    admin_cmd.add_argument("rest", nargs=argparse.REMAINDER)
    admin_cmd.set_defaults(func=_admin)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``apranova`` console script."""
    parser = build_parser()
    # REMAINDER does not capture a leading option (``apranova api --port 8001``): pass it on.
    args, unknown = parser.parse_known_args(argv)
    if unknown and not hasattr(args, "rest"):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        args.rest = [*unknown, *args.rest]
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``apranova cluster status | head``): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
