"""`python -m studio` runs the factory command line."""

from studio.cli import main

main()
