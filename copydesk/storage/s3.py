"""The S3 object store, through the official `minio` client (MinIO, SeaweedFS, AWS S3)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from copydesk.errors import ConfigurationError, StorageError
from copydesk.settings import Settings
from copydesk.storage.base import (
    NewObject,
    StoredObject,
    names_its_content,
    same_or_conflict,
    validate_key,
    validate_prefix,
)

T = TypeVar("T")
SHA256_META = "sha256"
DOWNLOAD_CHUNK = 1 << 20  # bytes read from the response at a time by `download`
PUT_WORKERS = 8  # puts at a time in `put_many` (the HTTP pool keeps 10 connections)

_CREDENTIAL_CODES = {
    "SignatureDoesNotMatch": "the secret key is wrong",
    "InvalidAccessKeyId": "the access key is unknown",
    "AccessDenied": "access denied for these credentials",
    "InvalidToken": "the session token is invalid",
}


def _http_client(timeout: float, read_timeout: float) -> urllib3.PoolManager:
    # minio's default client retries 5 times with backoff: a dead server would take
    # about a minute to report. Fail within seconds; pipeline tasks retry on their own.
    # A server that accepts connections but never answers (hung, paused) costs one read
    # timeout per call: a read is not retried here (three tries took 90 s per call).
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout, read=read_timeout),
        retries=urllib3.Retry(
            total=2,
            backoff_factor=0.2,
            status_forcelist=[500, 502, 503, 504],
            connect=1,
            read=0,
        ),
        maxsize=10,
    )


class S3Store:
    """Objects in one bucket of an S3 server."""

    def __init__(
        self,
        client: Minio,
        bucket: str,
        *,
        endpoint: str,
        create_bucket: bool = False,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.endpoint = endpoint
        self.create_bucket = create_bucket
        self.description = f"S3 server {endpoint} (bucket {bucket!r})"
        self._bucket_ready = False

    @classmethod
    def from_settings(
        cls, settings: Settings, timeout: float = 5.0, read_timeout: float = 30.0
    ) -> S3Store:
        """A store for the settings' server; `timeout` bounds connecting, `read_timeout`
        the wait for each response (30 s: large objects stream slowly)."""
        if not settings.s3_access_key or not settings.s3_secret_key.get_secret_value():
            raise ConfigurationError(
                "COPYDESK_STORE=s3 needs COPYDESK_S3_ACCESS_KEY and COPYDESK_S3_SECRET_KEY"
            )
        scheme = "https" if settings.s3_secure else "http"
        client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
            http_client=_http_client(timeout, read_timeout),
        )
        return cls(
            client,
            settings.s3_bucket,
            endpoint=f"{scheme}://{settings.s3_endpoint}",
            create_bucket=settings.s3_create_bucket,
        )

    # -- error handling ------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except S3Error as exc:
            reason = _CREDENTIAL_CODES.get(exc.code or "")
            if reason:
                raise StorageError(
                    f"{self.description} refused {what}: {reason} ({exc.code}); check "
                    "COPYDESK_S3_ACCESS_KEY / COPYDESK_S3_SECRET_KEY"
                ) from None
            if exc.code == "NoSuchBucket":
                raise StorageError(
                    f"{self.description}: the bucket does not exist; create it, or set "
                    "COPYDESK_S3_CREATE_BUCKET=true to let Copydesk create it"
                ) from None
            raise StorageError(
                f"{self.description} failed {what}: {exc.code}: {exc.message}"
            ) from None
        except (urllib3.exceptions.HTTPError, MinioException, OSError) as exc:
            raise StorageError(
                f"cannot reach {self.description} for {what}: {_short(exc)}"
            ) from None

    def ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        exists = self._call("a bucket check", lambda: self.client.bucket_exists(self.bucket))
        if not exists:
            if not self.create_bucket:
                raise StorageError(
                    f"{self.description}: the bucket does not exist; create it, or set "
                    "COPYDESK_S3_CREATE_BUCKET=true to let Copydesk create it"
                )
            self._call("creating the bucket", lambda: self.client.make_bucket(self.bucket))
        self._bucket_ready = True

    # -- the ObjectStore protocol --------------------------------------------------
    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        validate_key(key)
        self.ensure_bucket()
        obj = StoredObject.of(key, data, content_type)
        if not names_its_content(key, obj.sha256):  # else the same bytes, if any: one trip
            existing = self.stat(key)
            if existing is not None:
                return same_or_conflict(existing, obj, self.description)
        self._call(
            f"writing {key!r}",
            lambda: self.client.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                metadata={SHA256_META: obj.sha256},
            ),
        )
        return obj

    def put_many(self, objects: Sequence[NewObject]) -> list[StoredObject]:
        """Up to `PUT_WORKERS` puts at a time (each is two round trips to the server, a
        look then the put, or one for a name that carries its content's digest).
        After a failure the puts not yet started are dropped; the first failure in
        `objects`' order is raised, as the same puts one by one would have."""
        if len(objects) < 2:
            return [self.put(*obj) for obj in objects]
        self.ensure_bucket()  # once, not from every thread
        with ThreadPoolExecutor(max_workers=PUT_WORKERS) as pool:
            futures = [pool.submit(self.put, *obj) for obj in objects]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def get(self, key: str) -> bytes:
        validate_key(key)

        def read() -> bytes:
            response = self.client.get_object(self.bucket, key)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        try:
            return self._call(f"reading {key!r}", read)
        except StorageError:
            if self.stat(key) is None:
                raise StorageError(f"no object {key!r} in {self.description}") from None
            raise

    def download(self, key: str, path: Path) -> int:
        validate_key(key)
        try:
            handle = path.open("wb")
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc}") from None

        def fetch() -> int:
            response = self.client.get_object(self.bucket, key)  # not preloaded: a stream
            try:
                return sum(_write(handle, chunk, path) for chunk in response.stream(DOWNLOAD_CHUNK))
            finally:
                response.close()
                response.release_conn()

        with handle:
            try:
                return self._call(f"reading {key!r}", fetch)
            except StorageError:
                if self.stat(key) is None:
                    raise StorageError(f"no object {key!r} in {self.description}") from None
                raise

    def stat(self, key: str) -> StoredObject | None:
        validate_key(key)

        def fetch() -> Any:
            try:
                return self.client.stat_object(self.bucket, key)
            except S3Error as exc:
                if exc.code in {"NoSuchKey", "NoSuchObject"}:
                    return None
                raise

        info = self._call(f"reading metadata of {key!r}", fetch)
        if info is None:
            return None
        return StoredObject(
            key=key,
            size=int(info.size or 0),
            sha256=_meta(info.metadata, SHA256_META) or "",
            content_type=info.content_type or "application/octet-stream",
        )

    def list(self, prefix: str) -> Iterator[StoredObject]:
        prefix = validate_prefix(prefix)
        self.ensure_bucket()
        listing = self._call(
            f"listing {prefix!r}",
            lambda: list(self.client.list_objects(self.bucket, prefix=prefix, recursive=True)),
        )
        for entry in listing:
            stored = self.stat(entry.object_name)
            if stored is not None:
                yield stored

    def url(self, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        validate_key(key)
        return self._call(
            f"signing a URL for {key!r}",
            lambda: self.client.presigned_get_object(self.bucket, key, expires=expires),
        )

    def delete(self, key: str) -> None:
        validate_key(key)
        self._call(f"deleting {key!r}", lambda: self.client.remove_object(self.bucket, key))


def _write(handle: BinaryIO, chunk: bytes, path: Path) -> int:
    """Write a chunk; a local disk error is not the S3 server's fault, so say so."""
    try:
        return handle.write(chunk)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc}") from None


def _meta(metadata: Any, name: str) -> str | None:
    """User metadata comes back as `x-amz-meta-<name>` headers, in any case."""
    if metadata is None:
        return None
    wanted = {name.lower(), f"x-amz-meta-{name}".lower()}
    for key, value in metadata.items():
        if key.lower() in wanted:
            return str(value)
    return None


def _short(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason or exc)
    if "Connection refused" in text:
        return "connection refused (is the server running?)"
    return text.splitlines()[0][:200]
