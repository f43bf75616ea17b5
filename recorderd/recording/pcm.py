"""Recorded audio back to 16-bit linear PCM, for playback in a browser (pure: bytes in, bytes out).

G.711 mu-law and A-law by a 256-entry table; G.726 (16, 24, 32 and 40 kbit/s) by the decoder of
ITU-T G.726 (adaptive quantizer scale, 2-pole/6-zero predictor with its floating-point products,
tone and transition detection). Codes are read MSB first, the first code of a byte in its high bits
(ITU-T I.366.2 AAL2 order), the order our files declare with WAVE tag 0x45 (docs/recording.md).
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, field

from recorderd.recording.frames import AudioFormat


def _ulaw(b: int) -> int:
    b = ~b & 0xFF
    t = (((b & 0x0F) << 3) + 0x84) << ((b & 0x70) >> 4)
    return 0x84 - t if b & 0x80 else t - 0x84


def _alaw(b: int) -> int:
    b ^= 0x55
    t = (b & 0x0F) << 4
    seg = (b & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << (seg - 1)
    return t if b & 0x80 else -t


# one 2-byte little-endian sample per code byte
_ULAW = [struct.pack("<h", _ulaw(i)) for i in range(256)]
_ALAW = [struct.pack("<h", _alaw(i)) for i in range(256)]

# G.726 tables per bits per sample (ITU-T G.726 tables 1-4 and the reference code's forms):
# quantizer log magnitudes (dqln), scale factor multipliers (wi, already << 5), speed control (fi)
_DQLN = {
    2: (116, 365, 365, 116),
    3: (-2048, 135, 273, 373, 373, 273, 135, -2048),
    4: (-2048, 4, 135, 213, 273, 323, 373, 425, 425, 373, 323, 273, 213, 135, 4, -2048),
    5: (-2048, -66, 28, 104, 169, 224, 274, 318, 358, 395, 429, 459, 488, 514, 539, 566,
        566, 539, 514, 488, 459, 429, 395, 358, 318, 274, 224, 169, 104, 28, -66, -2048),
}  # fmt: skip
_WI = {
    2: (-704, 14048, 14048, -704),
    3: (-128, 960, 4384, 18624, 18624, 4384, 960, -128),
    4: tuple(w << 5 for w in (-12, 18, 41, 64, 112, 198, 355, 1122, 1122, 355, 198, 112, 64, 41, 18, -12)),
    5: (448, 448, 768, 1248, 1280, 1312, 1856, 3200, 4512, 5728, 7008, 8960, 11456, 14080, 16928, 22272,
        22272, 16928, 14080, 11456, 8960, 7008, 5728, 4512, 3200, 1856, 1312, 1280, 1248, 768, 448, 448),
}  # fmt: skip
_FI = {
    2: (0, 0xE00, 0xE00, 0),
    3: (0, 0x200, 0x400, 0xE00, 0xE00, 0x400, 0x200, 0),
    4: (0, 0, 0, 0x200, 0x200, 0x200, 0x600, 0xE00, 0xE00, 0x600, 0x200, 0x200, 0x200, 0, 0, 0),
    5: (0, 0, 0, 0, 0, 0x200, 0x200, 0x200, 0x200, 0x200, 0x400, 0x600, 0x800, 0xA00, 0xC00, 0xC00,
        0xC00, 0xC00, 0xA00, 0x800, 0x600, 0x400, 0x200, 0x200, 0x200, 0x200, 0x200, 0, 0, 0, 0, 0),
}  # fmt: skip


def _bits(x: int) -> int:
    return min(x.bit_length(), 15)


def _s16(x: int) -> int:
    x &= 0xFFFF
    return x - 0x10000 if x & 0x8000 else x


def _to_float(mag: int, negative: bool) -> int:
    """A magnitude and sign in G.726's 11-bit floating format (minus 0x400 when negative)."""
    if mag == 0:
        return _s16(0xFC20) if negative else 0x20
    exp = _bits(mag)
    f = (exp << 6) + ((mag << 6) >> exp)
    return f - 0x400 if negative else f


def _fmult(an: int, srn: int) -> int:
    anmag = an if an > 0 else (-an) & 0x1FFF
    anexp = _bits(anmag) - 6
    anmant = 32 if anmag == 0 else (anmag >> anexp if anexp >= 0 else anmag << -anexp)
    wanexp = anexp + ((srn >> 6) & 0xF) - 13
    wanmant = (anmant * (srn & 0x3F) + 0x30) >> 4
    product = (wanmant << wanexp) & 0x7FFF if wanexp >= 0 else wanmant >> -wanexp
    return -product if (an ^ srn) < 0 else product


@dataclass
class G726Decoder:
    """One G.726 stream's decoder state; `decode` takes packed codes, returns 16-bit samples."""

    bits: int = 4
    yl: int = 34816
    yu: int = 544
    dms: int = 0
    dml: int = 0
    ap: int = 0
    a: list[int] = field(default_factory=lambda: [0, 0])
    b: list[int] = field(default_factory=lambda: [0] * 6)
    pk: list[int] = field(default_factory=lambda: [0, 0])
    dq: list[int] = field(default_factory=lambda: [32] * 6)
    sr: list[int] = field(default_factory=lambda: [32, 32])
    td: int = 0
    _carry: tuple[int, int] = (0, 0)  # bits of a code split across two calls

    def __post_init__(self) -> None:
        if self.bits not in _DQLN:
            raise ValueError(f"G.726 has 2 to 5 bits per sample, not {self.bits}")

    def _scale(self) -> int:
        if self.ap >= 256:
            return self.yu
        y = self.yl >> 6
        dif = self.yu - y
        al = self.ap >> 2
        if dif > 0:
            y += (dif * al) >> 6
        elif dif < 0:
            y += (dif * al + 0x3F) >> 6
        return y

    def sample(self, code: int) -> int:
        """One code -> one 16-bit linear sample."""
        sezi = sum(_fmult(self.b[i] >> 2, self.dq[i]) for i in range(6))
        sez = sezi >> 1
        se = (sezi + _fmult(self.a[1] >> 2, self.sr[1]) + _fmult(self.a[0] >> 2, self.sr[0])) >> 1
        y = self._scale()
        dql = _DQLN[self.bits][code] + (y >> 2)
        sign = code & (1 << (self.bits - 1))
        if dql < 0:
            dq = -0x8000 if sign else 0
        else:
            dex = (dql >> 7) & 15
            dqt = 128 + (dql & 127)
            dq = (dqt << 7) >> (14 - dex)
            if sign:
                dq -= 0x8000
        sr = se - (dq & 0x3FFF) if dq < 0 else se + dq
        self._update(y, _WI[self.bits][code], _FI[self.bits][code], dq, sr, sr - se + sez)
        return max(-32768, min(32767, sr << 2))

    def _update(self, y: int, wi: int, fi: int, dq: int, sr: int, dqsez: int) -> None:
        pk0 = 1 if dqsez < 0 else 0
        mag = dq & 0x7FFF
        ylint, ylfrac = self.yl >> 15, (self.yl >> 10) & 0x1F
        thr1 = (32 + ylfrac) << ylint
        thr2 = 31 << 10 if ylint > 9 else thr1
        dqthr = (thr2 + (thr2 >> 1)) >> 1
        tr = 1 if self.td and mag > dqthr else 0
        self.yu = min(5120, max(544, y + ((wi - y) >> 5)))
        self.yl += self.yu + ((-self.yl) >> 6)
        a, b = self.a, self.b
        a2p = 0
        if tr:
            a[0] = a[1] = 0
            b[:] = [0] * 6
        else:
            pks1 = pk0 ^ self.pk[0]
            a2p = a[1] - (a[1] >> 7)
            if dqsez != 0:
                fa1 = a[0] if pks1 else -a[0]
                if fa1 < -8191:
                    a2p -= 0x100
                elif fa1 > 8191:
                    a2p += 0xFF
                else:
                    a2p += fa1 >> 5
                if pk0 ^ self.pk[1]:
                    a2p = -12288 if a2p <= -12160 else 12288 if a2p >= 12416 else a2p - 0x80
                else:
                    a2p = -12288 if a2p <= -12416 else 12288 if a2p >= 12160 else a2p + 0x80
            a[1] = a2p
            a[0] -= a[0] >> 8
            if dqsez != 0:
                a[0] += -192 if pks1 else 192
            a1ul = 15360 - a2p
            a[0] = max(-a1ul, min(a1ul, a[0]))
            for k in range(6):
                b[k] -= b[k] >> 8
                if mag:
                    b[k] += 128 if (dq ^ self.dq[k]) >= 0 else -128
                b[k] = _s16(b[k])
        self.dq = [_to_float(mag, dq < 0), *self.dq[:5]]
        self.sr = [_to_float(abs(sr), sr < 0) if sr > -32768 else _s16(0xFC20), self.sr[0]]
        self.pk = [pk0, self.pk[0]]
        self.td = 0 if tr else (1 if a2p < -11776 else 0)
        self.dms += (fi - self.dms) >> 5
        self.dml += ((fi << 2) - self.dml) >> 7
        if tr:
            self.ap = 256
        elif y < 1536 or self.td or abs((self.dms << 2) - self.dml) >= (self.dml >> 3):
            self.ap += (0x200 - self.ap) >> 4
        else:
            self.ap += (-self.ap) >> 4

    def decode(self, data: bytes) -> bytes:
        """Packed codes (MSB first) -> 16-bit little-endian samples; a partial code at the end waits
        for the next call (G.726 blocks need not end on a code boundary at 24 and 40 kbit/s)."""
        out = array("h")
        n = self.bits
        mask = (1 << n) - 1
        acc, have = self._carry
        for byte in data:
            acc = (acc << 8) | byte
            have += 8
            while have >= n:
                have -= n
                out.append(self.sample((acc >> have) & mask))
            acc &= (1 << have) - 1
        self._carry = (acc, have)
        return out.tobytes()


class PcmDecoder:
    """One audio track's blocks, in order, to PCM (the G.726 state runs on across blocks)."""

    def __init__(self, fmt: AudioFormat) -> None:
        self._g726 = G726Decoder(fmt.bits) if fmt.codec == "g726" else None
        self._table = _ALAW if fmt.codec == "alaw" else _ULAW

    def decode(self, data: bytes) -> bytes:
        if self._g726 is not None:
            return self._g726.decode(data)
        return b"".join(map(self._table.__getitem__, data))


def wav_header(samples: int, rate: int, channels: int = 1) -> bytes:
    """The 44-byte header of a 16-bit PCM WAVE file holding `samples` frames."""
    data = samples * channels * 2
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data,
        b"WAVE",
        b"fmt ",
        16,
        1,
        channels,
        rate,
        rate * channels * 2,
        channels * 2,
        16,
        b"data",
        data,
    )
