"""Run a stand-in as a program of its own, e.g. for `make demo`:

    python -m tests.standins aws-sts --moto http://127.0.0.1:5000 --ca-file ca.pem

It prints its URL on the first line of stdout once it listens, then serves until SIGTERM or
SIGINT. Only AWS's STS for now: it needs nothing but moto behind it (its IAM holds the OIDC
provider and the role, see tests/standins/aws_account.py); Entra and Google keep their
tenants and providers in the test process.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from tests.standins import tls
from tests.standins.aws_sts import AwsStsStandIn


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.standins")
    standins = parser.add_subparsers(dest="standin", required=True, metavar="STANDIN")
    sts = standins.add_parser(
        "aws-sts", help="AssumeRoleWithWebIdentity checked as AWS does, moto behind it"
    )
    sts.add_argument("--moto", required=True, metavar="URL", help="moto server's endpoint")
    sts.add_argument(
        "--ca-file",
        required=True,
        type=Path,
        metavar="F",
        help="the CA the issuer's certificate chains to (the stand-in fetches its JWKS)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    standin = AwsStsStandIn(args.moto, tls.trusting(args.ca_file))
    stop = threading.Event()

    def stopping(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    standin.start()
    try:
        print(standin.url, flush=True)
        stop.wait()
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
