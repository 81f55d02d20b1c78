from agenttrace_replay.cli.app import main

main()
