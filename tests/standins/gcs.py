"""Cloud Storage's JSON API, as much of it as Terraform's `gcs` backend uses: read, write, list
and delete objects (the state and its `.tflock` lock file), with generation preconditions.
Every call needs an access token that the Google stand-in issued (`GoogleStandIn.authorize`).

Objects: https://cloud.google.com/storage/docs/json_api/v1/objects
Uploads: https://cloud.google.com/storage/docs/uploading-objects (multipart/related)
Preconditions: https://cloud.google.com/storage/docs/request-preconditions
Downloads through the XML API path (`GET /<bucket>/<object>`), which the Go client prefers:
https://cloud.google.com/storage/docs/xml-api/get-object-download
"""

from __future__ import annotations

import base64
import email.message
import email.parser
import email.policy
import hashlib
import json
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from tests.standins.google import ApiError, GoogleStandIn
from tests.standins.server import Request, Response, StandInServer

SCOPES = (
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/devstorage.full_control",
    "https://www.googleapis.com/auth/devstorage.read_write",
)
JSON_PREFIX = "/storage/v1/b/"
UPLOAD_PREFIX = "/upload/storage/v1/b/"


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    generation: int
    content_type: str
    updated: float


class GcsStandIn:
    """Serves one bucket at `url` (the backend's `storage_custom_endpoint` is `api_url`)."""

    def __init__(self, google: GoogleStandIn, bucket: str, tls: ssl.SSLContext) -> None:
        self.bucket = bucket
        self.objects: dict[str, StoredObject] = {}
        self._google = google
        self._lock = threading.Lock()
        self._generation = int(time.time() * 1000)
        self._server = StandInServer(self._handle, tls)
        self.url = self._server.url
        self.seen = self._server.seen

    @property
    def api_url(self) -> str:
        return self.url + "/storage/v1/"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def _handle(self, request: Request) -> Response:
        try:
            self._google.authorize(request, SCOPES)
            return self._route(request)
        except ApiError as error:
            return error.response()

    def _route(self, request: Request) -> Response:
        path = request.path
        if path.startswith(UPLOAD_PREFIX) and request.method == "POST":
            bucket, rest = _split(path.removeprefix(UPLOAD_PREFIX))
            self._check_bucket(bucket)
            if rest != "o":
                raise ApiError(404, "NOT_FOUND", f"{path} is not served")
            return self._upload(request)
        if path.startswith(JSON_PREFIX):
            bucket, rest = _split(path.removeprefix(JSON_PREFIX))
            self._check_bucket(bucket)
            if rest == "" and request.method == "GET":
                return Response.json(200, {"kind": "storage#bucket", "name": bucket})
            if rest == "o" and request.method == "GET":
                return self._list(request)
            if rest.startswith("o/"):
                name = unquote(rest.removeprefix("o/"))
                if request.method == "GET":
                    if request.query.get("alt") == "media":
                        return self._download(request, name)
                    return Response.json(200, self._resource(name, self._get(name)))
                if request.method == "DELETE":
                    return self._delete(request, name)
            raise ApiError(404, "NOT_FOUND", f"{request.method} {path} is not served")
        # The XML API's download path: /<bucket>/<object>.
        bucket, name = _split(path.lstrip("/"))
        if request.method in ("GET", "HEAD") and name:
            self._check_bucket(bucket)
            return self._download(request, unquote(name))
        raise ApiError(404, "NOT_FOUND", f"{request.method} {path} is not served")

    def _check_bucket(self, bucket: str) -> None:
        if bucket != self.bucket:
            raise ApiError(404, "NOT_FOUND", "The specified bucket does not exist.")

    def _get(self, name: str) -> StoredObject:
        stored = self.objects.get(name)
        if stored is None:
            raise ApiError(404, "NOT_FOUND", f"No such object: {self.bucket}/{name}")
        return stored

    def _resource(self, name: str, stored: StoredObject) -> dict[str, object]:
        updated = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(stored.updated))
        return {
            "kind": "storage#object",
            "id": f"{self.bucket}/{name}/{stored.generation}",
            "name": name,
            "bucket": self.bucket,
            "generation": str(stored.generation),
            "metageneration": "1",
            "contentType": stored.content_type,
            "size": str(len(stored.data)),
            "md5Hash": base64.b64encode(hashlib.md5(stored.data).digest()).decode(),  # noqa: S324 (GCS's own checksum)
            "timeCreated": updated,
            "updated": updated,
            "selfLink": f"{self.url}{JSON_PREFIX}{self.bucket}/o/{quote(name, safe='')}",
        }

    @staticmethod
    def _precondition(request: Request, stored: StoredObject | None) -> None:
        wanted = request.query.get("ifGenerationMatch")
        if wanted is None:
            return
        actual = stored.generation if stored is not None else 0
        if int(wanted) != actual:
            raise ApiError(
                412,
                "FAILED_PRECONDITION",
                "At least one of the pre-conditions you specified did not hold.",
            )

    def _upload(self, request: Request) -> Response:
        if request.query.get("uploadType") != "multipart":
            raise ApiError(400, "INVALID_ARGUMENT", "only uploadType=multipart is served here")
        metadata, data, content_type = _multipart(request)
        name = str(metadata.get("name") or request.query.get("name") or "")
        if not name:
            raise ApiError(400, "INVALID_ARGUMENT", "Required object name")
        with self._lock:
            self._precondition(request, self.objects.get(name))
            self._generation += 1
            stored = StoredObject(data, self._generation, content_type, time.time())
            self.objects[name] = stored
        return Response.json(200, self._resource(name, stored))

    def _download(self, request: Request, name: str) -> Response:
        stored = self._get(name)
        headers = {
            "x-goog-generation": str(stored.generation),
            "x-goog-metageneration": "1",
            "x-goog-stored-content-length": str(len(stored.data)),
            "x-goog-hash": "md5=" + base64.b64encode(hashlib.md5(stored.data).digest()).decode(),  # noqa: S324
        }
        return Response(200, stored.data, stored.content_type, headers)

    def _delete(self, request: Request, name: str) -> Response:
        with self._lock:
            stored = self._get(name)
            self._precondition(request, stored)
            del self.objects[name]
        return Response(204, b"", "application/json")

    def _list(self, request: Request) -> Response:
        prefix = request.query.get("prefix", "")
        delimiter = request.query.get("delimiter", "")
        items, prefixes = [], set()
        for name in sorted(self.objects):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix) :]
            if delimiter and delimiter in rest:
                prefixes.add(prefix + rest.split(delimiter)[0] + delimiter)
            else:
                items.append(self._resource(name, self.objects[name]))
        document: dict[str, object] = {"kind": "storage#objects", "items": items}
        if prefixes:
            document["prefixes"] = sorted(prefixes)
        return Response.json(200, document)


def _split(path: str) -> tuple[str, str]:
    bucket, _, rest = path.partition("/")
    return bucket, rest


def _multipart(request: Request) -> tuple[dict[str, object], bytes, str]:
    """The object's metadata (JSON), its bytes and content type from a multipart/related body."""
    content_type = request.headers.get("Content-Type", "")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body
    )
    parts = list(message.iter_parts())
    if len(parts) != 2:
        raise ApiError(400, "INVALID_ARGUMENT", "expected metadata and media parts")
    metadata = json.loads(_payload(parts[0]) or b"{}")
    return metadata, _payload(parts[1]), parts[1].get_content_type()


def _payload(part: email.message.Message) -> bytes:
    # decode=True gives a leaf part's bytes, None for a multipart one (taken as empty).
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""
