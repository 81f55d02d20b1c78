"""``python -m agenttrace_replay``: the same command, named as the console script is."""

from agenttrace_replay.cli.app import main

main(prog_name="agenttrace-replay")
