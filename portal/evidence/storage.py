"""Where evidence bytes live, behind one small interface.

* ``DatabaseStore`` (the default): a row in ``evidence_blob``, added to the caller's session,
  so the file and its owner (a complaint, a dispute) are committed together or not at all.
* ``S3Store``: an S3-compatible object store (``EVIDENCE_STORE=s3``), for deployments whose
  database should not carry hundreds of megabytes of recordings. Objects are written before
  the row that names them is flushed: a rolled-back transaction leaves an orphan object that
  nothing refers to (never served, harmless), but a row never names a missing object. The PUT
  happens inside the caller's transaction; the complaint flow uploads one file per request,
  each at most 20 MB, which keeps that wait short.

Neither store ever serves a file: there is no URL to a piece of evidence. Objects are private
by default; the bucket should also block public access (README). No ACL or encryption header
is sent: buckets that enforce object ownership refuse ACLs, and S3-compatible services differ
in the encryption they support (AWS encrypts every new object at rest anyway).
"""

from __future__ import annotations

from typing import Protocol

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models.evidence import EvidenceBlob


class MissingEvidence(LookupError):
    """A key names bytes that the store does not have."""


class Store(Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...


class DatabaseStore:
    name = "database"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        db.session.add(EvidenceBlob(key=key, data=data))

    def get(self, key: str) -> bytes:
        data = db.session.execute(select(EvidenceBlob.data).where(EvidenceBlob.key == key)).scalar_one_or_none()
        if data is None:
            raise MissingEvidence(key)
        return bytes(data)


class S3Store:
    name = "s3"

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None, region: str | None = None):
        import boto3  # only where an object store is configured
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30),
        )

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.prefix + key,
            Body=data,
            ContentType=content_type,
        )

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise MissingEvidence(key) from exc
            raise
        return response["Body"].read()


def store_named(name: str) -> Store:
    """The store a file was written to (kept on the file, so changing the setting later does
    not lose older files), or the configured one for new files."""
    if name == DatabaseStore.name:
        return DatabaseStore()
    if name == S3Store.name:
        config = current_app.config
        stores = current_app.extensions.setdefault("portal.evidence_stores", {})
        # One boto3 client per app: creating one costs tens of milliseconds.
        if name not in stores:
            stores[name] = S3Store(
                config["EVIDENCE_S3_BUCKET"],
                prefix=config["EVIDENCE_S3_PREFIX"],
                endpoint_url=config["EVIDENCE_S3_ENDPOINT_URL"],
                region=config["EVIDENCE_S3_REGION"],
            )
        return stores[name]
    raise ValueError(f"unknown evidence store {name!r}")


def configured_store() -> Store:
    return store_named(current_app.config["EVIDENCE_STORE"])
