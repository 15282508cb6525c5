"""Command line: write the JSON Schemas of the contracts (the AsyncAPI document: ordertalk_devstack.asyncapi_app)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ordertalk_contracts.documents import write_documents


def main() -> None:
    """Write the JSON Schemas into the directory given (default ``contracts/schemas``)."""
    parser = argparse.ArgumentParser(prog="ordertalk-contracts")
    parser.add_argument("command", choices=["schemas"])
    parser.add_argument("--out", type=Path, default=Path("contracts/schemas"))
    args = parser.parse_args()
    for path in write_documents(args.out):
        print(path)


if __name__ == "__main__":
    main()
