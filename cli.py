"""The installed ``flightbook`` command's entry point; the commands live in flightbook/cli.py."""
from flightbook.cli import app, main

__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
