"""One decision of the signer: a caller and its request in, an answer and an audit line out.

The signer builds every claim itself: `iss`, `kid`, `alg`, `iat`, `exp` and `jti` are its own;
from the request it takes only the job context, the audiences and the phase, validated with
the job side's rules. The audit line says who asked for what and what was decided; it never
holds a token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from injector import claims
from injector.config.issuer_settings import IssuerSettings
from injector.errors import ConfigError
from injector.signer import peer, protocol
from injector.signer.audit import Audit
from injector.signer.backend import SigningBackend
from injector.signer.peer import Peer, PeerChanged, StartTimeReader
from injector.signer.policy import Policy
from injector.signer.protocol import TokenRequest


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class _Refused(Exception):
    pass


def _listed(groups: frozenset[int]) -> str:
    return f", groups {', '.join(map(str, sorted(groups)))}" if groups else ""


@dataclass
class Service:
    issuer: IssuerSettings
    backend: SigningBackend
    policy: Policy
    audit: Audit = field(default_factory=Audit)
    clock: Callable[[], float] = time.time
    read_start: StartTimeReader = peer.start_time

    def answer(
        self, caller: Peer, document: dict[str, object] | None, deadline: float | None = None
    ) -> bytes:
        """The answer to send `caller`; `document` None: the request could not be read.
        `deadline` (time.monotonic): tokens signed after it are dropped, not sent."""
        now = self.clock()
        record: dict[str, object] = {
            "time": _utc(now),
            "uid": caller.uid,
            "gid": caller.gid,
            "pid": caller.pid,
        }
        if document is None:
            return self._deny(record, protocol.INVALID, "not one JSON object within the size cap")
        try:
            request = protocol.parse_request(document)
            # The signer's own template: the caller names its job and phase, never the shape.
            subject = self.issuer.subject_template.render(request.job, request.phase)
        except ConfigError as error:
            return self._deny(record, protocol.INVALID, str(error), error)
        record.update(sub=subject, aud=list(request.audiences))
        # The kernel's record of the caller at connect() (SO_PEERGROUPS), read at accept only
        # when the policy names a group: nothing a reused pid could lend.
        groups = caller.groups
        if groups:
            record["groups"] = sorted(groups)
        try:
            ttl = self._allowed_ttl(caller, request, subject, groups)
        except _Refused as refused:
            return self._deny(record, protocol.REFUSED, str(refused))
        if deadline is not None and time.monotonic() > deadline:
            return self._deny(record, protocol.INTERNAL, "timed out waiting for a signing worker")
        compact, minted = self._mint(request, subject, int(now), ttl)
        if deadline is not None and time.monotonic() > deadline:
            # The caller has been told nothing and its connection is gone: no token went out.
            return self._deny(record, protocol.INTERNAL, "signing took longer than the deadline")
        try:
            # The tokens are signed; before they leave, the pid must still be the caller's.
            peer.check_unchanged(caller, self.read_start)
        except PeerChanged as changed:
            return self._deny(record, protocol.REFUSED, f"uid {caller.uid}: {changed}")
        record.update(
            decision="allow",
            jti=[claim["jti"] for claim in minted],
            exp=minted[0]["exp"],
            ttl_minutes=ttl,
        )
        self.audit.write(record)
        return protocol.allowed(compact)

    def _allowed_ttl(
        self, caller: Peer, request: TokenRequest, subject: str, groups: frozenset[int]
    ) -> int:
        """The lifetime in minutes: the signer's, capped by the deciding entries. _Refused."""
        ttl = self.issuer.ttl_minutes
        refused = []
        for audience in request.audiences:
            entry = self.policy.decide(caller.uid, caller.gid, subject, audience, groups)
            if entry is None:
                refused.append(audience)
            elif entry.max_ttl_minutes is not None:
                ttl = min(ttl, entry.max_ttl_minutes)
        if refused:
            raise _Refused(
                f"uid {caller.uid} (gid {caller.gid}{_listed(groups)}) may not mint sub "
                f"{subject!r} "
                f"for aud {', '.join(repr(a) for a in refused)}: no [[allow]] entry of "
                f"{self.policy.source} allows it"
            )
        return ttl

    def _mint(
        self, request: TokenRequest, subject: str, now: int, ttl: int
    ) -> tuple[list[str], list[dict[str, object]]]:
        header: dict[str, object] = {
            "kid": self.backend.key_id,
            "alg": self.backend.algorithm,
            "typ": "JWT",
        }
        extra = {claims.PHASE_CLAIM_NAME: request.phase} if request.phase is not None else {}
        claim_sets = [
            claims.claim_set(request.job, subject, self.issuer.issuer, audience, now, ttl, extra)
            for audience in request.audiences
        ]
        return self.backend.sign_all(header, claim_sets), claim_sets

    def _deny(
        self,
        record: dict[str, object],
        error: str,
        message: str,
        problems: ConfigError | None = None,
    ) -> bytes:
        record.update(decision="refuse" if error == protocol.REFUSED else error, reason=message)
        self.audit.write(record)
        return protocol.failed(error, message, problems.problems if problems else ())

    def failure(self, caller: Peer, reason: str) -> None:
        """Audit a request that ended without an answer (the caller left, a signing error)."""
        self.audit.write(
            {
                "time": _utc(self.clock()),
                "uid": caller.uid,
                "gid": caller.gid,
                "pid": caller.pid,
                "decision": protocol.INTERNAL,
                "reason": reason,
            }
        )

    def refused_connections(self, caller: Peer, count: int, cap: int) -> None:
        """Audit `count` connections of `caller`'s uid refused unread (over `cap` open): one
        line per uid and second, whatever the flood's size."""
        self.audit.write(
            {
                "time": _utc(self.clock()),
                "uid": caller.uid,
                "gid": caller.gid,
                "pid": caller.pid,
                "decision": "refuse",
                "reason": f"uid {caller.uid} already has {cap} connections open: "
                f"{count} more refused unread",
                "refused": count,
            }
        )
