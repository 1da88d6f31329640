"""Small real files for upload tests: each is what its name says, checked by content."""

import io
import wave

FRAME = b"\xff\xfb\x90\x64"  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417-byte frames


def mp3(frames: int = 3) -> bytes:
    """An ID3v2 tag followed by `frames` silent MP3 frames."""
    tag = b"ID3\x03\x00\x00" + bytes([0, 0, 0, 10]) + b"\x00" * 10
    return tag + (FRAME + b"\x00" * 413) * frames


def wav(seconds: float = 0.1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * int(8000 * seconds))
    return buffer.getvalue()


def png(size: int = 200) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * (size - 8)


def jpeg(size: int = 200) -> bytes:
    return b"\xff\xd8\xff\xe0" + b"\x00" * (size - 4)


def pdf(size: int = 200) -> bytes:
    return b"%PDF-1.4\n" + b"%" * (size - 9)
