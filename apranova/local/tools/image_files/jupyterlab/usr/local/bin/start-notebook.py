#!/usr/bin/env python
"""docker-stacks start-notebook.py: ``jupyter $DOCKER_STACKS_JUPYTER_CMD $NOTEBOOK_ARGS "$@"``."""

import os
import shlex
import sys

command = []
if os.environ.get("RESTARTABLE") == "yes":
    command.append("run-one-constantly")
command.append("jupyter")
command.append(os.environ.get("DOCKER_STACKS_JUPYTER_CMD", "lab"))
if "NOTEBOOK_ARGS" in os.environ:
    command += shlex.split(os.environ["NOTEBOOK_ARGS"])
command += sys.argv[1:]
print("Executing: " + " ".join(command), flush=True)
os.execvp(command[0], command)
