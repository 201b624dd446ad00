"""One connection the signer accepted: admitted or closed at once (the caller identified by
the kernel, its uid under its cap), what the loop keeps of it while serving it, and the answer
to its request, a failure included (a request never raises into the loop)."""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass, field

from injector.signer import peer, protocol
from injector.signer.attestation.pending import Pending
from injector.signer.backend import SigningFailed
from injector.signer.fairness import Fairness
from injector.signer.peer import Peer
from injector.signer.service import Service

log = logging.getLogger("injector")

REQUEST_TIMEOUT_SECONDS = 5.0


@dataclass(eq=False)
class Connection:
    sock: socket.socket
    caller: Peer
    deadline: float
    received: list[bytes] = field(default_factory=list)
    size: int = 0
    outgoing: memoryview | None = None  # the answer's unsent rest
    watched: bool = False  # registered with the selector
    closed: bool = False
    working: bool = False  # a signing worker has its request


def admit(sock: socket.socket, service: Service, fairness: Fairness) -> Connection | None:
    """The accepted `sock` as a connection to serve, or None: closed at once (its uid is over
    its cap, or the kernel could not name it)."""
    try:
        sock.setblocking(False)
        creds = peer.credentials(sock)
    except OSError:
        sock.close()
        return None
    pid, uid, gid = creds
    if not fairness.admit(uid):
        fairness.refuse(Peer(pid, uid, gid, None), time.monotonic())
        sock.close()
        return None
    try:
        caller = peer.identify(sock, service.read_start, service.policy.names_groups, creds)
    except OSError as error:
        fairness.release(uid)
        service.failure(Peer(pid, uid, gid, None), f"identifying: {error.strerror}")
        sock.close()
        return None
    return Connection(sock, caller, time.monotonic() + REQUEST_TIMEOUT_SECONDS)


def answer(
    service: Service, caller: Peer, document: dict[str, object] | None, deadline: float | None
) -> bytes:
    """The service's answer to `caller`'s request (None: unreadable), or the failure answered
    in its place, audited. Pending: it needs keys another request is fetching."""
    try:
        return service.answer(caller, document, deadline)
    except Pending:
        raise  # not a failure: the worker runs the request again once the keys are in
    except SigningFailed as error:
        service.failure(caller, str(error))
        return protocol.failed(
            protocol.INTERNAL, f"the signer cannot sign: {error.brief}; see its log"
        )
    except Exception as error:  # a signing failure must not take the signer down
        log.debug("internal error", exc_info=True)
        service.failure(caller, f"{type(error).__name__}: {error}")
        return protocol.failed(protocol.INTERNAL, "the signer failed to sign; see its log")
