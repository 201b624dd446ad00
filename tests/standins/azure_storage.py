"""What Terraform's `azurerm` backend talks to besides Entra ID, over HTTPS: the cloud's
metadata host (ARM_METADATA_HOSTNAME), Azure Resource Manager's storage account lookup
(`lookup_blob_endpoint`, so the blob endpoint is this server and no DNS is needed), and the Blob
service's calls the backend makes on its state blob (get, put, properties, metadata, lease,
list). Every ARM and Blob call needs an access token that the Entra stand-in issued for that API.

Metadata endpoints (2022-09-01): https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/azure-services-resource-providers
Storage Accounts - Get Properties: https://learn.microsoft.com/en-us/rest/api/storagerp/storage-accounts/get-properties
Blob service REST API: https://learn.microsoft.com/en-us/rest/api/storageservices/blob-service-rest-api
Lease Blob: https://learn.microsoft.com/en-us/rest/api/storageservices/lease-blob
"""

from __future__ import annotations

import hashlib
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from xml.sax.saxutils import escape

from tests.standins.entra import EntraStandIn
from tests.standins.server import Request, Response, StandInServer

STORAGE = "https://storage.azure.com"
META_PREFIX = "x-ms-meta-"


@dataclass
class Blob:
    data: bytes
    metadata: dict[str, str] = field(default_factory=dict)
    lease: str | None = None
    etag: str = ""
    modified: float = 0.0

    def touch(self) -> None:
        self.etag = '"0x' + hashlib.sha256(uuid.uuid4().bytes).hexdigest()[:15].upper() + '"'
        self.modified = time.time()


class StorageError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        body = (
            '<?xml version="1.0" encoding="utf-8"?><Error>'
            f"<Code>{self.code}</Code><Message>{escape(self.message)}\n"
            f"RequestId:{uuid.uuid4()}</Message></Error>"
        )
        return Response(
            self.status, body.encode(), "application/xml", {"x-ms-error-code": self.code}
        )


class AzureStorageStandIn:
    """The metadata host and ARM at `url`; the storage account's Blob service at `blob_url`."""

    def __init__(
        self,
        entra: EntraStandIn,
        tls: ssl.SSLContext,
        *,
        subscription: str,
        resource_group: str,
        account: str,
        container: str,
    ) -> None:
        self.subscription, self.resource_group = subscription, resource_group
        self.account, self.container = account, container
        self.blobs: dict[str, Blob] = {}
        self._entra = entra
        self._lock = threading.Lock()
        self._arm = StandInServer(self._handle_arm, tls)
        self._blob = StandInServer(self._handle_blob, tls)
        self.url, self.blob_url = self._arm.url, self._blob.url
        self.seen, self.blob_seen = self._arm.seen, self._blob.seen

    @property
    def metadata_host(self) -> str:
        """ARM_METADATA_HOSTNAME: a host, without scheme."""
        return self.url.removeprefix("https://")

    def start(self) -> None:
        self._arm.start()
        self._blob.start()

    def stop(self) -> None:
        self._arm.stop()
        self._blob.stop()

    # --- metadata host and Resource Manager ----------------------------------------------------

    def metadata(self) -> dict[str, object]:
        return {
            "name": "AzureStandIn",
            "portal": "https://portal.azure.com",
            "resourceManager": self.url + "/",
            "authentication": {
                "loginEndpoint": self._entra.url + "/",
                "audiences": [self.url + "/"],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "graph": "https://graph.windows.net/",
            "microsoftGraphResourceId": "https://graph.microsoft.com/",
            "suffixes": {"storage": "core.windows.net", "keyVaultDns": "vault.azure.net"},
        }

    def _handle_arm(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/metadata/endpoints":
            return Response.json(200, self.metadata())
        if self._entra.authorize(request, self.url) is None:
            return Response.json(
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "The access token is invalid.",
                    }
                },
            )
        account_id = (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Storage/storageAccounts/{self.account}"
        )
        if request.method == "GET" and request.path.lower() == account_id.lower():
            return Response.json(200, self._account(account_id))
        return Response.json(
            404,
            {
                "error": {
                    "code": "ResourceNotFound",
                    "message": f"The Resource '{request.path}' was not found.",
                }
            },
        )

    def _account(self, account_id: str) -> dict[str, object]:
        return {
            "id": account_id,
            "name": self.account,
            "type": "Microsoft.Storage/storageAccounts",
            "location": "westeurope",
            "kind": "StorageV2",
            "sku": {"name": "Standard_LRS", "tier": "Standard"},
            "properties": {
                "provisioningState": "Succeeded",
                "primaryEndpoints": {"blob": self.blob_url + "/"},
                "allowSharedKeyAccess": False,
            },
        }

    # --- Blob service -------------------------------------------------------------------------

    def _handle_blob(self, request: Request) -> Response:
        try:
            if self._entra.authorize(request, STORAGE) is None:
                raise StorageError(
                    401,
                    "InvalidAuthenticationInfo",
                    "Server failed to authenticate the request. Please refer to the information "
                    "in the www-authenticate header.",
                )
            container, _, name = request.path.lstrip("/").partition("/")
            if container != self.container:
                raise StorageError(
                    404, "ContainerNotFound", "The specified container does not exist."
                )
            with self._lock:
                if not name:
                    return self._list(request)
                return self._blob_call(request, name)
        except StorageError as error:
            return error.response()

    def _blob_call(self, request: Request, name: str) -> Response:
        comp = request.query.get("comp")
        blob = self.blobs.get(name)
        if request.method == "PUT" and comp is None:
            self._check_lease(request, blob)
            created = Blob(request.body, _metadata(request), blob.lease if blob else None)
            created.touch()
            self.blobs[name] = created
            return self._empty(201, created)
        if blob is None:
            raise StorageError(404, "BlobNotFound", "The specified blob does not exist.")
        if request.method in ("GET", "HEAD") and comp in (None, "metadata"):
            body = blob.data if comp is None else b""
            return Response(200, body, "application/octet-stream", self._headers(blob))
        if request.method == "PUT" and comp == "metadata":
            self._check_lease(request, blob)
            blob.metadata = _metadata(request)
            blob.touch()
            return self._empty(200, blob)
        if request.method == "PUT" and comp == "lease":
            return self._lease(request, blob)
        if request.method == "DELETE":
            self._check_lease(request, blob)
            del self.blobs[name]
            return Response(202, b"", "application/xml")
        raise StorageError(400, "UnsupportedHttpVerb", f"{request.method} comp={comp}")

    @staticmethod
    def _check_lease(request: Request, blob: Blob | None) -> None:
        given = request.headers.get("x-ms-lease-id")
        if blob is None or blob.lease is None:
            if given:
                raise StorageError(
                    412, "LeaseNotPresentWithBlobOperation", "There is currently no lease."
                )
            return
        if not given:
            raise StorageError(
                412,
                "LeaseIdMissing",
                "There is currently a lease on the blob and no lease ID was specified.",
            )
        if given != blob.lease:
            raise StorageError(
                412, "LeaseIdMismatchWithBlobOperation", "The lease ID specified did not match."
            )

    def _lease(self, request: Request, blob: Blob) -> Response:
        action = request.headers.get("x-ms-lease-action", "")
        if action == "acquire":
            if blob.lease is not None:
                raise StorageError(409, "LeaseAlreadyPresent", "There is already a lease present.")
            blob.lease = request.headers.get("x-ms-proposed-lease-id") or str(uuid.uuid4())
            return self._empty(201, blob, {"x-ms-lease-id": blob.lease})
        if action in ("release", "renew"):
            if blob.lease is None or request.headers.get("x-ms-lease-id") != blob.lease:
                raise StorageError(
                    409, "LeaseIdMismatchWithLeaseOperation", "The lease ID did not match."
                )
            if action == "release":
                blob.lease = None
            return self._empty(200, blob)
        if action == "break":
            blob.lease = None
            return self._empty(202, blob, {"x-ms-lease-time": "0"})
        raise StorageError(400, "InvalidHeaderValue", f"x-ms-lease-action {action!r}")

    def _headers(self, blob: Blob) -> dict[str, str]:
        headers = {
            "ETag": blob.etag,
            "Last-Modified": formatdate(blob.modified, usegmt=True),
            "x-ms-blob-type": "BlockBlob",
            "x-ms-lease-state": "leased" if blob.lease else "available",
            "x-ms-lease-status": "locked" if blob.lease else "unlocked",
            "x-ms-version": "2023-11-03",
        }
        if blob.lease:
            headers["x-ms-lease-duration"] = "infinite"
        headers.update({META_PREFIX + key: value for key, value in blob.metadata.items()})
        return headers

    @staticmethod
    def _empty(status: int, blob: Blob, extra: dict[str, str] | None = None) -> Response:
        headers = {
            "ETag": blob.etag,
            "Last-Modified": formatdate(blob.modified, usegmt=True),
            "x-ms-version": "2023-11-03",
            **(extra or {}),
        }
        return Response(status, b"", "application/xml", headers)

    def _list(self, request: Request) -> Response:
        if request.query.get("restype") != "container" or request.query.get("comp") != "list":
            raise StorageError(400, "InvalidQueryParameterValue", "expected a blob listing")
        prefix = request.query.get("prefix", "")
        entries = "".join(
            f"<Blob><Name>{escape(name)}</Name><Properties>"
            f"<Content-Length>{len(blob.data)}</Content-Length><BlobType>BlockBlob</BlobType>"
            f"<LeaseState>{'leased' if blob.lease else 'available'}</LeaseState>"
            "</Properties></Blob>"
            for name, blob in sorted(self.blobs.items())
            if name.startswith(prefix)
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<EnumerationResults ServiceEndpoint="{self.blob_url}/" '
            f'ContainerName="{self.container}"><Prefix>{escape(prefix)}</Prefix>'
            f"<Blobs>{entries}</Blobs><NextMarker /></EnumerationResults>"
        )
        return Response(200, body.encode(), "application/xml")


def _metadata(request: Request) -> dict[str, str]:
    return {
        name.lower().removeprefix(META_PREFIX): value
        for name, value in request.headers.items()
        if name.lower().startswith(META_PREFIX)
    }
