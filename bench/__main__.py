"""`python -m bench run [--quick] ...`: see bench/cli.py."""

from bench.cli import main

main()
