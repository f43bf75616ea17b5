"""Audio framing: VAPIX receive.cgi and Open API fromserver.cgi, singlepart or multipart.

Singlepart: the HTTP Content-Type names the codec once, then the body is a continuous flow of
240-byte blocks. Multipart: each part is one block (or a few) with its own Content-Type. MIME types
(VAPIX §5.8.1): audio/basic = G.711 mu-law 64 kbit/s, audio/32KADPCM = G.726 32 kbit/s,
audio/G723 = G.726 24 kbit/s (the document's name; it is not ITU G.723.1). All are 8 kHz mono.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from recorderd.protocol.errors import ProtocolError
from recorderd.protocol.multipart import MultipartReader, Part, PartDropped, Truncated, parse_boundary

__all__ = [
    "BLOCK_SIZE",
    "AudioCodec",
    "AudioData",
    "AudioEvent",
    "AudioReader",
    "MultipartAudioReader",
    "SinglepartAudioReader",
    "codec_for_mime",
    "open_audio_reader",
]

BLOCK_SIZE = 240  # "Each block of coded audio data is 240 byte" (VAPIX §5.8.3)
CodecId = Literal["mulaw", "alaw", "g726"]  # the short ids the recorder and the player share


@dataclass(frozen=True, slots=True)
class AudioCodec:
    """What the recorder needs to store and play a camera's audio."""

    name: str  # human readable, e.g. "G.726 32 kbit/s"
    mime: str  # canonical MIME type, lower-case
    codec: CodecId  # short id shared with the recorder
    sample_rate: int
    bits_per_sample: int  # coded bits per sample (G.726-32: 4)
    channels: int
    matroska_codec_id: str  # Matroska has no native G.711/G.726 id: A_MS/ACM + WAVEFORMATEX
    wave_format_tag: int  # WAVEFORMATEX wFormatTag inside A_MS/ACM
    ffmpeg_format: str  # raw demuxer for `ffmpeg -f`
    ffmpeg_codec: str
    block_size: int = BLOCK_SIZE

    @property
    def bitrate(self) -> int:
        """Bits per second."""
        return self.sample_rate * self.bits_per_sample * self.channels

    @property
    def samples_per_block(self) -> int:
        """Samples in one block (mu-law 240, G.726-32 480, G.726-24 640)."""
        return self.block_size * 8 // (self.bits_per_sample * self.channels)

    def duration_ns(self, nbytes: int) -> int:
        """Play time of `nbytes` of this codec, in nanoseconds."""
        return nbytes * 8 * 1_000_000_000 // self.bitrate

    def ffmpeg_input_args(self) -> list[str]:
        """Arguments that make ffmpeg read this raw stream from the following `-i`."""
        args = ["-f", self.ffmpeg_format, "-sample_rate", str(self.sample_rate)]
        if self.codec == "g726":
            args += ["-code_size", str(self.bits_per_sample)]
        else:
            args += ["-ch_layout", "mono"]
        return args


MULAW = AudioCodec(
    "G.711 mu-law", "audio/basic", "mulaw", 8000, 8, 1, "A_MS/ACM", 0x0007, "mulaw", "pcm_mulaw"
)
ALAW = AudioCodec("G.711 A-law", "audio/pcma", "alaw", 8000, 8, 1, "A_MS/ACM", 0x0006, "alaw", "pcm_alaw")
G726_32 = AudioCodec(
    "G.726 32 kbit/s", "audio/32kadpcm", "g726", 8000, 4, 1, "A_MS/ACM", 0x0045, "g726", "adpcm_g726"
)
G726_24 = AudioCodec(
    "G.726 24 kbit/s", "audio/g723", "g726", 8000, 3, 1, "A_MS/ACM", 0x0045, "g726", "adpcm_g726"
)

_BY_MIME = {
    "audio/basic": MULAW,
    "audio/pcmu": MULAW,
    "audio/x-mulaw": MULAW,
    "audio/pcma": ALAW,
    "audio/32kadpcm": G726_32,
    "audio/g726-32": G726_32,
    "audio/g723": G726_24,
    "audio/g726-24": G726_24,
}


def codec_for_mime(mime: str) -> AudioCodec | None:
    """The codec of an audio MIME type (case-insensitive, parameters ignored), or None."""
    return _BY_MIME.get(mime.split(";", 1)[0].strip().lower())


@dataclass(frozen=True, slots=True)
class AudioData:
    """Coded audio as received; from the singlepart reader always whole blocks."""

    codec: AudioCodec
    data: bytes


AudioEvent = AudioData | PartDropped | Truncated


class AudioReader(Protocol):
    """Both readers: fed body bytes, they return audio (and, for multipart, dropped parts)."""

    def feed(self, data: bytes | bytearray | memoryview) -> list[AudioEvent]: ...

    def close(self) -> list[AudioEvent]: ...


class SinglepartAudioReader:
    """A continuous body of `codec` blocks; returns whole blocks, keeps at most one partial block."""

    def __init__(self, codec: AudioCodec) -> None:
        self.codec = codec
        self._rest = b""

    def feed(self, data: bytes | bytearray | memoryview) -> list[AudioEvent]:
        """Whole blocks completed by `data`, as one AudioData (or none)."""
        buf = self._rest + bytes(data)
        cut = len(buf) - len(buf) % self.codec.block_size
        self._rest = buf[cut:]
        return [AudioData(self.codec, buf[:cut])] if cut else []

    def close(self) -> list[AudioEvent]:
        """A partial last block is reported as Truncated, never played."""
        rest, self._rest = self._rest, b""
        return [Truncated(len(rest))] if rest else []


class MultipartAudioReader:
    """multipart/x-mixed-replace audio: each part's Content-Type names its codec.

    A part without Content-Type keeps the previous part's codec (or `default`); a part whose type is
    not a known audio codec is reported as PartDropped.
    """

    def __init__(
        self,
        boundary: str | None,
        default: AudioCodec | None = None,
        *,
        max_part_size: int = 64 * 1024,
    ) -> None:
        self._reader = MultipartReader(boundary, max_part_size=max_part_size)
        self._codec = default

    def _convert(self, events: list[Part | PartDropped | Truncated]) -> list[AudioEvent]:
        out: list[AudioEvent] = []
        for e in events:
            if not isinstance(e, Part):
                out.append(e)
                continue
            mime = e.mime
            codec = codec_for_mime(mime) if mime else self._codec
            if codec is None:
                out.append(PartDropped(f"not a known audio type: {mime[:40] or 'none'}", len(e.body)))
                continue
            self._codec = codec
            if e.body:
                out.append(AudioData(codec, e.body))
        return out

    def feed(self, data: bytes | bytearray | memoryview) -> list[AudioEvent]:
        """Audio parts completed by `data`."""
        return self._convert(self._reader.feed(data))

    def close(self) -> list[AudioEvent]:
        """End of stream: a cut part is Truncated."""
        return self._convert(self._reader.close())


def open_audio_reader(content_type: str, *, max_part_size: int = 64 * 1024) -> AudioReader:
    """The reader for an audio response's Content-Type (singlepart codec or multipart).

    Raises ProtocolError for a type that is neither multipart nor a known audio codec.
    """
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime.startswith("multipart/"):
        return MultipartAudioReader(parse_boundary(content_type), max_part_size=max_part_size)
    codec = codec_for_mime(mime)
    if codec is None:
        raise ProtocolError(f"audio: unsupported Content-Type {content_type[:60]!r}")
    return SinglepartAudioReader(codec)
