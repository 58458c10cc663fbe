"""Checking, storing and reading evidence files.

Invariants:

* A file is accepted only if its bytes are one of the accepted types (``detect.py``): never
  by its name or the type a browser claims. Images must decode completely (a truncated or
  corrupted image is refused); a PDF must be complete (``%%EOF`` near its end); recordings are
  checked by their headers.
* Limits (``MAX_FILES``, ``MAX_FILE_BYTES``, ``MAX_IMAGE_PIXELS``) are defined here, once.
* The original is kept byte for byte and hashed with SHA-256; images also get a viewable copy
  re-encoded from the pixels, upright, without any metadata (EXIF, GPS, comments, profiles).
* Files are written in the caller's transaction (``DatabaseStore``), never changed or deleted
  (models/evidence.py refuses it), and read back only with their hash checked.
* Nothing here knows about requests, and nothing commits.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import unicodedata
import warnings
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener
from sqlalchemy import func, select

from portal.evidence.detect import FileType, detect
from portal.evidence.storage import Store, configured_store, store_named
from portal.extensions import db
from portal.models.evidence import EvidenceFile, EvidenceOwner

register_heif_opener()

MAX_FILES = 10
MAX_FILE_MB = 20
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024
# The request that uploads one file may carry it and the form around it.
MAX_REQUEST_BYTES = MAX_FILE_BYTES + 1024 * 1024
# Above a 50-megapixel phone photo (8160 × 6120); an image claiming more is refused before it is
# decoded, so that a small file cannot expand into gigabytes in a web worker. JPEGs (nearly all
# large photos) are decoded at a reduced scale, which still reads every byte of the file.
MAX_IMAGE_PIXELS = 64_000_000
# The viewable copy: large enough to read a chat screenshot, small enough for a staff page.
VIEWABLE_LONGEST_SIDE = 2560
VIEWABLE_JPEG_QUALITY = 85
PDF_EOF_WINDOW = 2048
FILENAME_LENGTH = 120

# What each accepted type is called in messages, in the order people think of them.
TYPE_NAMES = {
    "images": ("JPEG", "PNG", "HEIC"),
    "recordings": ("MP3", "M4A", "AMR", "WAV"),
    "documents": ("PDF",),
}
_PIL_FORMATS = {FileType.JPEG: {"JPEG", "MPO"}, FileType.PNG: {"PNG"}, FileType.HEIC: {"HEIF"}}


class RefusalReason(StrEnum):
    WRONG_TYPE = "wrong_type"
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    UNREADABLE = "unreadable"
    TOO_MANY = "too_many"


@dataclass(frozen=True)
class Accepted:
    filename: str
    file_type: FileType
    data: bytes
    sha256: str
    viewable: bytes | None = None
    viewable_type: FileType | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Refused:
    filename: str
    reason: RefusalReason

    @property
    def message(self) -> str:
        return refusal_message(self)


class TooManyFiles(Exception):
    pass


class EvidenceCorrupted(Exception):
    """The stored bytes no longer match the hash taken when the file arrived."""


def refusal_message(refused: Refused) -> str:
    """What the person is told, by reason; defined once, in every language."""
    name = refused.filename
    match refused.reason:
        case RefusalReason.WRONG_TYPE:
            return gettext(
                "“%(name)s” is not a kind of file we can accept. Please send photos or screenshots "
                "(%(images)s), recordings (%(recordings)s) or %(documents)s documents.",
                name=name,
                images=", ".join(TYPE_NAMES["images"]),
                recordings=", ".join(TYPE_NAMES["recordings"]),
                documents=", ".join(TYPE_NAMES["documents"]),
            )
        case RefusalReason.TOO_LARGE:
            return gettext(
                "“%(name)s” is larger than %(size)s MB. Please send a smaller file, for example a shorter "
                "recording or a screenshot instead of a photo.",
                name=name,
                size=MAX_FILE_MB,
            )
        case RefusalReason.EMPTY:
            return gettext("“%(name)s” is empty. Please choose the file again.", name=name)
        case RefusalReason.UNREADABLE:
            return gettext(
                "“%(name)s” could not be opened: it may be damaged or incomplete. Please save it again "
                "and send the new copy.",
                name=name,
            )
        case RefusalReason.TOO_MANY:
            return gettext(
                "You can send up to %(count)s files, so “%(name)s” was not added. You can describe what it shows "
                "in your own words.",
                count=MAX_FILES,
                name=name,
            )


def clean_filename(filename: str | None) -> str:
    """The name as the person knows it, safe to show: no folders, control characters or
    characters that mean something to a file system or a shell; at most 120 characters with
    the extension kept."""
    name = unicodedata.normalize("NFKC", filename or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if ch.isspace() else ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in '<>:"|?*'
    )
    name = " ".join(name.split()).strip(". ")
    if len(name) > FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: FILENAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:FILENAME_LENGTH]
    return name or "file"


def _viewable_image(data: bytes, file_type: FileType) -> tuple[bytes, FileType] | None:
    """Decode the whole image (None if it is damaged) and re-encode it without metadata."""
    try:
        with warnings.catch_warnings():
            # Pillow warns about odd but readable files (EXIF quirks): not our business here.
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in _PIL_FORMATS[file_type]:
                    return None
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    return None
                if file_type is FileType.JPEG:
                    image.draft("RGB", (VIEWABLE_LONGEST_SIDE, VIEWABLE_LONGEST_SIDE))
                image.load()
                try:
                    upright = ImageOps.exif_transpose(image)
                except Exception:  # noqa: BLE001 - a broken orientation tag: show the pixels as stored
                    upright = image.copy()
        upright.thumbnail((VIEWABLE_LONGEST_SIDE, VIEWABLE_LONGEST_SIDE))
        out = io.BytesIO()
        if file_type is FileType.PNG:
            # Screenshots: PNG keeps text sharp. Only pixels are written, no text chunks.
            upright.save(out, format="PNG", optimize=True)
            return out.getvalue(), FileType.PNG
        upright.convert("RGB").save(out, format="JPEG", quality=VIEWABLE_JPEG_QUALITY, optimize=True)
        return out.getvalue(), FileType.JPEG
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        return None


def _complete(data: bytes, file_type: FileType) -> bool:
    if file_type is FileType.PDF:
        return b"%%EOF" in data[-PDF_EOF_WINDOW:]
    if file_type is FileType.WAV:
        # The RIFF size says how long the file should be; a cut-off upload is shorter.
        # Recorders that stream write 0 or 0xFFFFFFFF there and never come back to fix it.
        declared = int.from_bytes(data[4:8], "little")
        return declared in (0, 0xFFFFFFFF) or declared + 8 <= len(data) + 1
    return True


def check_upload(filename: str | None, data: bytes, *, files_so_far: int = 0) -> Accepted | Refused:
    """Decide on one uploaded file. ``files_so_far``: how many its owner already has."""
    name = clean_filename(filename)
    if files_so_far >= MAX_FILES:
        return Refused(name, RefusalReason.TOO_MANY)
    if not data:
        return Refused(name, RefusalReason.EMPTY)
    if len(data) > MAX_FILE_BYTES:
        return Refused(name, RefusalReason.TOO_LARGE)
    file_type = detect(data)
    if file_type is None:
        return Refused(name, RefusalReason.WRONG_TYPE)
    if not _complete(data, file_type):
        return Refused(name, RefusalReason.UNREADABLE)
    viewable = viewable_type = None
    if file_type.is_image:
        copy = _viewable_image(data, file_type)
        if copy is None:
            return Refused(name, RefusalReason.UNREADABLE)
        viewable, viewable_type = copy
    return Accepted(name, file_type, data, hashlib.sha256(data).hexdigest(), viewable, viewable_type)


def count(owner_type: EvidenceOwner, owner_id: object) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(EvidenceFile)
        .where(EvidenceFile.owner_type == EvidenceOwner(owner_type), EvidenceFile.owner_id == str(owner_id))
    ).scalar_one()


def store(
    owner_type: EvidenceOwner, owner_id: object, accepted: Accepted, *, into: Store | None = None
) -> EvidenceFile:
    """Keep an accepted file for its owner, in the caller's transaction."""
    owner_type = EvidenceOwner(owner_type)
    if count(owner_type, owner_id) >= MAX_FILES:
        raise TooManyFiles(f"{owner_type} {owner_id} already has {MAX_FILES} files")
    target = into or configured_store()
    public_id = secrets.token_urlsafe(16)
    key = f"{public_id}/original"
    target.put(key, accepted.data, accepted.file_type.value)
    file = EvidenceFile(
        public_id=public_id,
        owner_type=owner_type,
        owner_id=str(owner_id),
        original_filename=accepted.filename,
        content_type=accepted.file_type.value,
        size=accepted.size,
        sha256=accepted.sha256,
        storage=target.name,
        storage_key=key,
    )
    if accepted.viewable is not None and accepted.viewable_type is not None:
        file.viewable_key = f"{public_id}/viewable"
        file.viewable_content_type = accepted.viewable_type.value
        file.viewable_size = len(accepted.viewable)
        file.viewable_sha256 = hashlib.sha256(accepted.viewable).hexdigest()
        target.put(file.viewable_key, accepted.viewable, file.viewable_content_type)
    db.session.add(file)
    db.session.flush()
    return file


def _read_checked(storage: str, key: str, sha256: str) -> bytes:
    data = store_named(storage).get(key)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise EvidenceCorrupted(f"{key}: the stored bytes do not match their SHA-256")
    return data


def read_original(file: EvidenceFile) -> bytes:
    """The file exactly as it arrived; raises EvidenceCorrupted if its hash does not match."""
    return _read_checked(file.storage, file.storage_key, file.sha256)


def read_viewable(file: EvidenceFile) -> bytes | None:
    """The metadata-free copy of an image (None for recordings and PDFs), hash checked."""
    if file.viewable_key is None or file.viewable_sha256 is None:
        return None
    return _read_checked(file.storage, file.viewable_key, file.viewable_sha256)


def files_of(owner_type: EvidenceOwner, owner_id: object) -> list[EvidenceFile]:
    return list(
        db.session.execute(
            select(EvidenceFile)
            .where(EvidenceFile.owner_type == EvidenceOwner(owner_type), EvidenceFile.owner_id == str(owner_id))
            .order_by(EvidenceFile.id)
        ).scalars()
    )


def find(public_id: str) -> EvidenceFile | None:
    return db.session.execute(select(EvidenceFile).where(EvidenceFile.public_id == public_id)).scalar_one_or_none()


def adopt(draft_id: object, owner_type: EvidenceOwner, owner_id: object) -> int:
    """Pass a complaint draft's files to what was filed from it; returns how many moved."""
    files = files_of(EvidenceOwner.COMPLAINT_DRAFT, draft_id)
    for file in files:
        file.owner_type = EvidenceOwner(owner_type)
        file.owner_id = str(owner_id)
    db.session.flush()
    return len(files)


__all__ = [
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "Accepted",
    "EvidenceCorrupted",
    "Refused",
    "RefusalReason",
    "TooManyFiles",
    "adopt",
    "check_upload",
    "clean_filename",
    "count",
    "files_of",
    "find",
    "read_original",
    "read_viewable",
    "refusal_message",
    "store",
]
