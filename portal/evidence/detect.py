"""What a file is, from its bytes alone: the nine kinds of evidence we accept, nothing else.

Written out rather than taken from a library: we answer "is this one of nine formats?", not
"what is this file?", and each answer needs a check that general detectors do not make: an
ISO media file is a HEIC photo, an M4A recording or an MP4 video depending on its brands and
tracks; an MP3 without an ID3 tag is only recognisable by a valid MPEG audio frame header. The
signatures are the formats' published ones. The deeper check (does the image decode, is the
PDF complete) is in service.py.
"""

from __future__ import annotations

import re
from enum import StrEnum


class FileType(StrEnum):
    """Accepted evidence, by media type."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    HEIC = "image/heic"
    MP3 = "audio/mpeg"
    M4A = "audio/mp4"
    AMR = "audio/amr"
    WAV = "audio/wav"
    PDF = "application/pdf"

    @property
    def is_image(self) -> bool:
        return self in (FileType.JPEG, FileType.PNG, FileType.HEIC)

    @property
    def is_audio(self) -> bool:
        return self in (FileType.MP3, FileType.M4A, FileType.AMR, FileType.WAV)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
M4A_BRANDS = {b"M4A ", b"M4B "}
# Generic ISO/MP4 brands that phone recorders also write for audio-only files.
GENERIC_MP4_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"3gp4", b"3gp5", b"3gp6", b"3g2a"}
# hdlr box: size, "hdlr", version+flags (4), pre_defined (4), handler type (4).
_HANDLER = re.compile(rb"hdlr.{8}(soun|vide)", re.DOTALL)


def _ftyp_brands(data: bytes) -> set[bytes] | None:
    if len(data) < 16 or data[4:8] != b"ftyp":
        return None
    size = int.from_bytes(data[:4], "big")
    if size < 16 or size > min(len(data), 4096) or size % 4:
        return None
    return {data[8:12]} | {data[i : i + 4] for i in range(16, size, 4)}


def _iso_media(data: bytes) -> FileType | None:
    brands = _ftyp_brands(data)
    if brands is None:
        return None
    if brands & HEIC_BRANDS:
        return FileType.HEIC
    if brands & M4A_BRANDS:
        return FileType.M4A
    if brands & GENERIC_MP4_BRANDS:
        handlers = {match.group(1) for match in _HANDLER.finditer(data)}
        if handlers == {b"soun"}:  # sound tracks only: a recording, not a video
            return FileType.M4A
    return None


# MPEG audio frame headers (ISO 11172-3 / 13818-3): kbit/s by version and bitrate index, layer III.
_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frame_length(data: bytes, offset: int) -> int | None:
    """Length of the layer III frame whose header starts at ``offset``, if it is one."""
    header = data[offset : offset + 4]
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 0b11  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5, 1 reserved
    layer = (header[1] >> 1) & 0b11  # 1 = layer III
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 0b11
    padding = (header[2] >> 1) & 1
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrate = (_BITRATES_V1 if version == 3 else _BITRATES_V2)[bitrate_index] * 1000
    sample_rate = _SAMPLE_RATES[version][rate_index]
    return (144 if version == 3 else 72) * bitrate // sample_rate + padding


def _is_mp3(data: bytes) -> bool:
    offset = 0
    if data[:3] == b"ID3":
        if len(data) < 10 or data[3] not in (2, 3, 4) or any(b & 0x80 for b in data[6:10]):
            return False
        size = 0  # ID3v2 sizes are "syncsafe": 7 bits per byte
        for b in data[6:10]:
            size = (size << 7) | b
        offset = 10 + size + (10 if data[5] & 0x10 else 0)  # footer flag
        if offset >= len(data):
            return False  # a tag with no audio after it
    length = _mp3_frame_length(data, offset)
    if not length:
        return False
    following = offset + length
    # Two frames in a row rule out chance bytes that merely look like a header.
    return following >= len(data) or _mp3_frame_length(data, following) is not None


def detect(data: bytes) -> FileType | None:
    """The accepted type these bytes are, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return FileType.JPEG
    if data[:8] == PNG_SIGNATURE:
        return FileType.PNG
    if data[:5] == b"%PDF-":
        return FileType.PDF
    if data[:6] == b"#!AMR\n" or data[:9] == b"#!AMR-WB\n":
        return FileType.AMR
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return FileType.WAV
    iso = _iso_media(data)
    if iso is not None:
        return iso
    if _is_mp3(data):
        return FileType.MP3
    return None
