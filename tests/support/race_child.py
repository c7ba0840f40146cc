"""Start ``hub`` commands at the same instant as another process: wait for a go file, then
run the command line given. Used by tests/test_one_run_at_a_time.py.

    python race_child.py GO_FILE hub-args...
"""

import sys
import time
from pathlib import Path

from hub.cli import main

if __name__ == "__main__":
    go = Path(sys.argv[1])
    deadline = time.monotonic() + 120
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go")
        time.sleep(0.005)
    for command in " ".join(sys.argv[2:]).split(" && "):
        status = main(command.split())
        if status:
            sys.exit(status)
