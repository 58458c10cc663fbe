"""Small, valid (and deliberately invalid) files of every kind, made in code: no binary blobs
in the repository."""

from __future__ import annotations

import io
import wave
import zipfile

from PIL import Image
from PIL.ExifTags import GPS, IFD, Base
from pillow_heif import register_heif_opener

register_heif_opener()

GPS_LATITUDE = ((31, 1), (14, 1), (1234, 100))  # somewhere in Shanghai


def _picture(size=(64, 48)) -> Image.Image:
    image = Image.new("RGB", size, (240, 240, 240))
    for x in range(size[0]):
        image.putpixel((x, size[1] // 2), (200, 30, 30))
    return image


def jpeg(*, gps: bool = False, size=(64, 48)) -> bytes:
    image = _picture(size)
    exif = Image.Exif()
    exif[Base.Make] = "PhoneMaker"
    exif[Base.Model] = "Phone 15"
    exif[Base.Orientation] = 1
    if gps:
        exif.get_ifd(IFD.GPSInfo).update(
            {
                GPS.GPSLatitudeRef: "N",
                GPS.GPSLatitude: (31.0, 14.0, 12.34),
                GPS.GPSLongitudeRef: "E",
                GPS.GPSLongitude: (121.0, 28.0, 5.0),
            }
        )
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def png() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "taken at home, Room 1203")
    out = io.BytesIO()
    _picture().save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def heic() -> bytes:
    out = io.BytesIO()
    _picture().save(out, format="HEIF", quality=80)
    return out.getvalue()


# MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 144 * 128000 // 44100 = 417 bytes a frame.
MP3_FRAME = b"\xff\xfb\x90\x00" + bytes(417 - 4)


def mp3(*, id3: bool = True) -> bytes:
    tag = b""
    if id3:
        body = b"TIT2\x00\x00\x00\x06\x00\x00\x03call"  # one ID3v2.3 text frame
        size = len(body)
        syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
        tag = b"ID3\x03\x00\x00" + syncsafe + body
    return tag + MP3_FRAME * 3


def _box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def _handler(kind: bytes) -> bytes:
    return _box(b"hdlr", bytes(8) + kind + bytes(12) + b"\x00")


def m4a(*, brand: bytes = b"M4A ", handlers: tuple[bytes, ...] = (b"soun",)) -> bytes:
    ftyp = _box(b"ftyp", brand + bytes(4) + brand + b"isom")
    moov = _box(b"moov", b"".join(_box(b"trak", _box(b"mdia", _handler(h))) for h in handlers))
    return ftyp + moov + _box(b"mdat", bytes(64))


def amr() -> bytes:
    return b"#!AMR\n" + (b"\x3c" + bytes(31)) * 5  # five 12.2 kbit/s frames of silence


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(1600))
    return out.getvalue()


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def windows_program() -> bytes:
    return b"MZ\x90\x00\x03" + bytes(59) + b"PE\x00\x00" + bytes(200)


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("photo.jpg", jpeg())
    return out.getvalue()


def html_page() -> bytes:
    return b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
