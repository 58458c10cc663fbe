"""Evidence files: accepted by content only, originals kept whole and hashed, viewable copies
without metadata, append-only, read back only when the hash still matches."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image
from PIL.ExifTags import IFD
from sqlalchemy import select, update

from portal.evidence import service as evidence
from portal.evidence.detect import FileType
from portal.evidence.service import Accepted, RefusalReason, Refused
from portal.models import EvidenceBlob, EvidenceFile, EvidenceOwner
from portal.models.evidence import EvidenceIsAppendOnly
from tests import evidence_samples as samples

ACCEPTED = [
    ("screenshot.jpg", samples.jpeg, FileType.JPEG),
    ("screenshot.png", samples.png, FileType.PNG),
    ("IMG_0001.HEIC", samples.heic, FileType.HEIC),
    ("call.mp3", samples.mp3, FileType.MP3),
    ("call-no-tag.mp3", lambda: samples.mp3(id3=False), FileType.MP3),
    ("voice memo.m4a", samples.m4a, FileType.M4A),
    ("android recording.m4a", lambda: samples.m4a(brand=b"mp42"), FileType.M4A),
    ("recording.amr", samples.amr, FileType.AMR),
    ("recording.wav", samples.wav, FileType.WAV),
    ("letter.pdf", samples.pdf, FileType.PDF),
]


@pytest.mark.parametrize(("name", "make", "file_type"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_each_accepted_type_is_recognised_by_its_content(name, make, file_type):
    data = make()
    result = evidence.check_upload(name, data)
    assert isinstance(result, Accepted), result
    assert result.file_type is file_type and result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    # The name plays no part: the same bytes under a misleading name are the same type.
    assert evidence.check_upload("whatever.txt", data).file_type is file_type


@pytest.mark.parametrize(
    "make",
    [
        samples.windows_program,
        samples.zip_archive,
        samples.html_page,
        lambda: samples.m4a(brand=b"mp42", handlers=(b"vide", b"soun")),
    ],
    ids=["windows-program", "zip", "html", "mp4-video"],
)
def test_other_files_renamed_as_photos_are_refused(make):
    result = evidence.check_upload("photo.jpg", make())
    assert result == Refused("photo.jpg", RefusalReason.WRONG_TYPE)


def test_oversize_empty_and_too_many_are_refused():
    big = samples.pdf() + bytes(evidence.MAX_FILE_BYTES)
    assert evidence.check_upload("big.pdf", big).reason is RefusalReason.TOO_LARGE
    assert evidence.check_upload("empty.jpg", b"").reason is RefusalReason.EMPTY
    assert evidence.check_upload("11th.jpg", samples.jpeg(), files_so_far=evidence.MAX_FILES).reason is (
        RefusalReason.TOO_MANY
    )
    assert isinstance(evidence.check_upload("10th.jpg", samples.jpeg(), files_so_far=evidence.MAX_FILES - 1), Accepted)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("cut.jpg", samples.jpeg(size=(400, 300))[:-600]),
        ("cut.png", samples.png()[:-40]),
        ("cut.heic", samples.heic()[:-60]),
        ("cut.pdf", samples.pdf()[:-8]),
        ("cut.wav", samples.wav()[:-100]),
        ("header-only.jpg", b"\xff\xd8\xff\xe0" + bytes(20)),
    ],
)
def test_damaged_files_are_refused(name, data):
    assert evidence.check_upload(name, data).reason is RefusalReason.UNREADABLE


def test_a_large_photo_is_decoded_at_reduced_scale_yet_checked_to_its_last_byte():
    big = samples.jpeg(size=(8000, 6000))  # 48 megapixels, as a phone's high-resolution mode
    accepted = evidence.check_upload("big.jpg", big)
    assert max(Image.open(io.BytesIO(accepted.viewable)).size) == evidence.VIEWABLE_LONGEST_SIDE
    assert evidence.check_upload("big-cut.jpg", big[: len(big) * 2 // 3]).reason is RefusalReason.UNREADABLE


def test_an_image_claiming_gigapixels_is_refused_before_decoding():
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, format="PNG")  # a few kilobytes, 400 million pixels
    assert evidence.check_upload("bomb.png", out.getvalue()).reason is RefusalReason.UNREADABLE


def test_a_photo_with_gps_is_kept_whole_and_viewed_without_metadata(db):
    original = samples.jpeg(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(IFD.GPSInfo)  # the sample has GPS
    file = evidence.store(EvidenceOwner.COMPLAINT, 41, evidence.check_upload("IMG_2044.JPG", original))
    db.session.commit()
    db.session.expire_all()

    stored = db.session.get(EvidenceFile, file.id)
    assert evidence.read_original(stored) == original
    assert stored.sha256 == hashlib.sha256(original).hexdigest() and stored.size == len(original)
    assert stored.content_type == "image/jpeg" and stored.original_filename == "IMG_2044.JPG"

    viewable = evidence.read_viewable(stored)
    assert stored.viewable_content_type == "image/jpeg" and stored.viewable_size == len(viewable)
    copy = Image.open(io.BytesIO(viewable))
    assert copy.size == (64, 48)
    assert not copy.getexif() and "exif" not in copy.info
    assert b"PhoneMaker" not in viewable and b"GPS" not in viewable


def test_png_text_and_heic_metadata_do_not_reach_the_viewable_copy(db):
    png = evidence.store(EvidenceOwner.DISPUTE, 7, evidence.check_upload("chat.png", samples.png()))
    heic = evidence.store(EvidenceOwner.DISPUTE, 7, evidence.check_upload("photo.heic", samples.heic()))
    assert b"Room 1203" in evidence.read_original(png)
    assert b"Room 1203" not in evidence.read_viewable(png)
    assert png.viewable_content_type == "image/png"
    assert heic.viewable_content_type == "image/jpeg"
    assert Image.open(io.BytesIO(evidence.read_viewable(heic))).format == "JPEG"


def test_recordings_and_pdfs_have_no_viewable_copy(db):
    file = evidence.store(EvidenceOwner.COMPLAINT, 1, evidence.check_upload("call.amr", samples.amr()))
    assert file.viewable_key is None and evidence.read_viewable(file) is None
    assert evidence.read_original(file) == samples.amr()


def test_a_changed_byte_is_detected_on_reading(db):
    file = evidence.store(EvidenceOwner.COMPLAINT, 1, evidence.check_upload("letter.pdf", samples.pdf()))
    db.session.flush()
    # Someone with database access alters the bytes behind the application's back.
    db.session.execute(
        update(EvidenceBlob)
        .where(EvidenceBlob.key == file.storage_key)
        .values(data=samples.pdf().replace(b"1.4", b"1.5"))
    )
    with pytest.raises(evidence.EvidenceCorrupted):
        evidence.read_original(file)


def test_evidence_is_never_changed_or_deleted(db):
    file = evidence.store(EvidenceOwner.COMPLAINT, 1, evidence.check_upload("call.wav", samples.wav()))
    db.session.commit()
    file.sha256 = "0" * 64
    with pytest.raises(EvidenceIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(EvidenceFile, file.id))
    with pytest.raises(EvidenceIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    blob = db.session.execute(select(EvidenceBlob).where(EvidenceBlob.key == file.storage_key)).scalar_one()
    blob.data = b"RIFF"
    with pytest.raises(EvidenceIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    # Moving a complaint's file to another owner is a change too.
    file = db.session.get(EvidenceFile, file.id)
    file.owner_id = "2"
    with pytest.raises(EvidenceIsAppendOnly):
        db.session.flush()


def test_a_drafts_files_pass_to_the_complaint_filed_from_it(db):
    for n in range(2):
        evidence.store(EvidenceOwner.COMPLAINT_DRAFT, "draft-abc", evidence.check_upload(f"{n}.jpg", samples.jpeg()))
    assert evidence.adopt("draft-abc", EvidenceOwner.COMPLAINT, 99) == 2
    db.session.commit()
    assert [f.original_filename for f in evidence.files_of(EvidenceOwner.COMPLAINT, 99)] == ["0.jpg", "1.jpg"]
    assert evidence.files_of(EvidenceOwner.COMPLAINT_DRAFT, "draft-abc") == []


def test_no_owner_gets_more_than_ten_files(db):
    accepted = evidence.check_upload("a.amr", samples.amr())
    for _ in range(evidence.MAX_FILES):
        evidence.store(EvidenceOwner.COMPLAINT, 5, accepted)
    with pytest.raises(evidence.TooManyFiles):
        evidence.store(EvidenceOwner.COMPLAINT, 5, accepted)
    assert evidence.count(EvidenceOwner.COMPLAINT, 5) == evidence.MAX_FILES


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("C:\\Users\\wang\\Desktop\\截图 2026-03-01.png", "截图 2026-03-01.png"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\u202ec<script>.jpg", "abcscript.jpg"),
        ("   ", "file"),
        (None, "file"),
        ("x" * 300 + ".jpeg", "x" * 115 + ".jpeg"),
    ],
    ids=["windows-path", "traversal", "controls-and-markup", "blank", "none", "long"],
)
def test_file_names_are_cleaned_for_display(given, shown):
    assert evidence.clean_filename(given) == shown


@pytest.mark.parametrize("reason", list(RefusalReason))
@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW", "en"])
def test_every_refusal_has_a_message_in_every_language(app, reason, lang):
    with app.test_request_context(headers={"Accept-Language": lang}):
        message = Refused("微信截图.jpg", reason).message
    assert "微信截图.jpg" in message
    if lang != "en":
        assert not any(word in message for word in ("file", "Please", "send"))


@pytest.fixture
def s3_server(app, monkeypatch):
    """moto's S3-compatible server on 127.0.0.1, a local peer like localstripe."""
    from moto.server import ThreadedMotoServer

    from tests.local import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local-test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local-test-secret")
    monkeypatch.setitem(app.config, "EVIDENCE_STORE", "s3")
    monkeypatch.setitem(app.config, "EVIDENCE_S3_BUCKET", "portal-evidence")
    monkeypatch.setitem(app.config, "EVIDENCE_S3_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setitem(app.config, "EVIDENCE_S3_REGION", "us-east-1")
    monkeypatch.delitem(app.extensions, "portal.evidence_stores", raising=False)
    from portal.evidence.storage import configured_store

    store = configured_store()
    store.client.create_bucket(Bucket="portal-evidence")
    yield store
    app.extensions.pop("portal.evidence_stores", None)
    server.stop()


def test_the_object_store_keeps_originals_and_viewable_copies(db, s3_server):
    original = samples.jpeg(gps=True)
    file = evidence.store(EvidenceOwner.COMPLAINT, 3, evidence.check_upload("photo.jpg", original))
    assert file.storage == "s3"
    assert db.session.execute(select(EvidenceBlob)).first() is None  # no bytes in the database
    assert evidence.read_original(file) == original
    assert b"GPS" not in evidence.read_viewable(file)
    keys = {o["Key"] for o in s3_server.client.list_objects_v2(Bucket="portal-evidence")["Contents"]}
    assert keys == {f"evidence/{file.public_id}/original", f"evidence/{file.public_id}/viewable"}
    # Altered in the bucket: detected on reading.
    s3_server.client.put_object(Bucket="portal-evidence", Key=f"evidence/{file.storage_key}", Body=b"\xff\xd8\xffX")
    with pytest.raises(evidence.EvidenceCorrupted):
        evidence.read_original(file)
