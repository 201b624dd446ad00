"""Saying the signer is ready: a `ready` line on stderr (at every log level: systemd's journal
and `kubectl logs` show when it listens, and with what), and READY=1 to systemd when it set
NOTIFY_SOCKET (a unit of Type=notify starts its dependents only then)."""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Mapping

log = logging.getLogger("injector")

NOTIFY_SOCKET = "NOTIFY_SOCKET"


def say(line: str) -> None:
    sys.stderr.write(f"injector: {line}\n")
    sys.stderr.flush()


def notify(env: Mapping[str, str], message: str = "READY=1") -> None:
    """Send `message` to the service manager, if NOTIFY_SOCKET names one (sd_notify(3)): a
    path, or an abstract socket written with a leading '@'. A failure is a warning: the signer
    serves anyway."""
    address = env.get(NOTIFY_SOCKET, "")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    if not address.startswith(("/", "\0")):
        log.warning("%s=%s: not a socket path; not notified", NOTIFY_SOCKET, address)
        return
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as notifier:
            notifier.connect(address)
            notifier.sendall(message.encode())
    except OSError as error:
        log.warning("%s: cannot notify the service manager: %s", NOTIFY_SOCKET, error.strerror)
