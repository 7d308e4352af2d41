"""S3-compatible object storage (AWS S3, SeaweedFS, moto, MinIO, Ceph...) via boto3.

Endpoint and credentials come from the environment, as every AWS tool reads them, so a
workspace is usable from any process given only its URL:

- ``AWS_ENDPOINT_URL``: the server (e.g. ``http://127.0.0.1:8333``); unset means AWS;
- ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``: the credentials (never stored);
- ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``): default ``us-east-1``.

A name clash on a conditional put is recognised by the error code
(``PreconditionFailed``, HTTP 412), never by the exception type: clients map it to
different exceptions per server (../shared/SCALEOUT.md).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from evals.store.backends.base import ObjectInfo, StorageError
from evals.store.backends.url import split_url

if TYPE_CHECKING:
    import pyarrow.fs

CLASH_CODES = frozenset({"PreconditionFailed", "412"})
"""Error codes of a put-if-absent on an existing key."""
RETRY_CODES = frozenset({"ConditionalRequestConflict", "409"})
"""A concurrent conditional write in progress on the key (AWS): try again."""
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def region() -> str:
    """The region from the environment (``us-east-1`` when unset)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def endpoint() -> str | None:
    """``AWS_ENDPOINT_URL`` (None: AWS itself)."""
    return os.environ.get("AWS_ENDPOINT_URL") or None


def error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code or str(status or "")


class S3ObjectStore:
    """The objects under ``s3://bucket/prefix`` (evals.store.backends.base.ObjectStore)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.bucket, self.prefix = split_url(url)
        if not self.bucket:
            raise StorageError(f"{url}: no bucket in the workspace URL (s3://bucket/prefix)")
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise StorageError(f"{url}: workspaces on S3 need boto3: "
                               "pip install 'agent-evals[s3]'") from None
        self._client: Any = None
        self._guard = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 S3 client, shared by threads (a client is thread-safe once made;
        making one is not, and costs ~50 ms, so it is made once, under a lock)."""
        with self._guard:
            if self._client is None:
                import boto3
                from botocore.config import Config

                self._client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=endpoint(),
                    region_name=region(),
                    config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                  max_pool_connections=32),
                )
            return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, what: str, exc: Exception) -> StorageError:
        where, code = endpoint() or "AWS", error_code(exc) or type(exc).__name__
        return StorageError(f"{self.url}: {what} failed at {where} ({code}: {exc})")

    def list(self, prefix: str, start_after: str = "") -> list[ObjectInfo]:
        """Objects under `prefix`, sorted by key (every page)."""
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._key(prefix)}
        if start_after:
            args["StartAfter"] = self._key(start_after)
        cut = len(self.prefix) + 1 if self.prefix else 0
        found: list[ObjectInfo] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**args):
                for obj in page.get("Contents", []):
                    found.append(ObjectInfo(obj["Key"][cut:], int(obj["Size"])))
        except Exception as exc:
            raise self._fail(f"listing {prefix!r}", exc) from None
        return sorted(found, key=lambda o: o.key)

    def get(self, key: str) -> bytes | None:
        """An object's bytes, None when absent."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return bytes(response["Body"].read())
        except Exception as exc:
            if error_code(exc) in MISSING_CODES:
                return None
            raise self._fail(f"reading {key!r}", exc) from None

    def put_new(self, key: str, data: bytes) -> bool:
        """Create the object with ``IfNoneMatch="*"``; False on a name clash."""
        for _ in range(10):
            try:
                self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                                       IfNoneMatch="*")
                return True
            except Exception as exc:
                code = error_code(exc)
                if code in CLASH_CODES:
                    return False
                if code in RETRY_CODES:
                    continue
                raise self._fail(f"writing {key!r}", exc) from None
        raise StorageError(f"{self.url}: writing {key!r}: the server kept answering "
                           "ConditionalRequestConflict")

    def delete(self, key: str) -> None:
        """Remove an object (absent is fine)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if error_code(exc) not in MISSING_CODES:
                raise self._fail(f"deleting {key!r}", exc) from None

    def create_bucket(self) -> None:
        """Create the bucket (tests and first-time set-up; an existing one is fine)."""
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except Exception as exc:
            if error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise self._fail("creating the bucket", exc) from None

    def arrow_path(self, key: str) -> str:
        """`key` as pyarrow's S3FileSystem names it (``bucket/prefix/key``)."""
        return f"{self.bucket}/{self._key(key)}"

    def arrow_filesystem(self) -> pyarrow.fs.S3FileSystem:
        """A pyarrow filesystem on the same server (for datasets DuckDB scans: DuckDB's
        own s3:// support needs an extension it cannot download offline)."""
        return _arrow_filesystem(endpoint(), region())


_filesystems: dict[tuple[str | None, str, str | None], Any] = {}
_fs_lock = threading.Lock()


def _arrow_filesystem(url: str | None, reg: str) -> Any:
    import pyarrow.fs as pafs

    key = (url, reg, os.environ.get("AWS_ACCESS_KEY_ID"))
    with _fs_lock:
        fs = _filesystems.get(key)
        if fs is None:
            args: dict[str, Any] = {"region": reg}
            if url:
                scheme, _, host = url.partition("://")
                args.update(endpoint_override=host.rstrip("/"), scheme=scheme or "https")
            if os.environ.get("AWS_ACCESS_KEY_ID"):
                args.update(access_key=os.environ["AWS_ACCESS_KEY_ID"],
                            secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
            fs = pafs.S3FileSystem(**args)
            _filesystems[key] = fs
    return fs
