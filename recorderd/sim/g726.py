"""A G.726 32 kbit/s (4-bit ADPCM) encoder, for VAPIX's audio/32KADPCM.

Written from the ITU-T G.726 block descriptions (adaptive quantizer, quantizer scale factor
adaptation with speed control, 2-pole/6-zero adaptive predictor with its 11-bit floating point
products, tone and transition detection). An encoder must run the decoder's state machine exactly,
or what a decoder rebuilds drifts away; the proof is that ffmpeg decodes the simulator's stream back
into the tone. Codes are packed two per byte, the first in the high nibble (ITU-T I.366.2 AAL2
order, ffmpeg's `g726`): the order recorderd's protocol core and recorder assume, and the only one
Matroska's A_MS/ACM tag 0x45 plays back. Which order real cameras use over HTTP is not documented
(RFC 3551's RTP order is the other one). Only used to pre-encode a loop of tone once, so plain Python
is fast enough.
"""

from __future__ import annotations

# 32 kbit/s tables: quantizer decision levels, log magnitudes, scale factor weights, speed control
_QTAB = (-124, 80, 178, 246, 300, 349, 400)
_DQLN = (-2048, 4, 135, 213, 273, 323, 373, 425, 425, 373, 323, 273, 213, 135, 4, -2048)
_WI = (-12, 18, 41, 64, 112, 198, 355, 1122, 1122, 355, 198, 112, 64, 41, 18, -12)
_FI = (0, 0, 0, 0x200, 0x200, 0x200, 0x600, 0xE00, 0xE00, 0x600, 0x200, 0x200, 0x200, 0, 0, 0)


def _bits(x: int) -> int:
    """The position of the highest set bit plus one, at most 15 (0 for 0)."""
    return min(x.bit_length(), 15)


def _s16(x: int) -> int:
    x &= 0xFFFF
    return x - 0x10000 if x & 0x8000 else x


def _to_float(mag: int, negative: bool) -> int:
    """A magnitude and sign as the 11-bit floating format: 4-bit exponent, 6-bit mantissa, minus 0x400
    when negative."""
    if mag == 0:
        return _s16(0xFC20) if negative else 0x20
    exp = _bits(mag)
    f = (exp << 6) + ((mag << 6) >> exp)
    return f - 0x400 if negative else f


def _fmult(an: int, srn: int) -> int:
    """A predictor coefficient (14-bit) times a floating-format sample."""
    anmag = an if an > 0 else (-an) & 0x1FFF
    anexp = _bits(anmag) - 6
    anmant = 32 if anmag == 0 else (anmag >> anexp if anexp >= 0 else anmag << -anexp)
    wanexp = anexp + ((srn >> 6) & 0xF) - 13
    wanmant = (anmant * (srn & 0x3F) + 0x30) >> 4
    product = (wanmant << wanexp) & 0x7FFF if wanexp >= 0 else wanmant >> -wanexp
    return -product if (an ^ srn) < 0 else product


class G726Encoder:
    def __init__(self) -> None:
        self.yl = 34816
        self.yu = 544
        self.dms = 0
        self.dml = 0
        self.ap = 0
        self.a = [0, 0]
        self.b = [0] * 6
        self.pk = [0, 0]
        self.dq = [32] * 6
        self.sr = [32, 32]
        self.td = 0

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

    def encode(self, sample: int) -> int:
        """One 16-bit linear sample -> one 4-bit code."""
        sl = sample >> 2
        sezi = sum(_fmult(self.b[i] >> 2, self.dq[i]) for i in range(6))
        sez = sezi >> 1
        se = (sezi + _fmult(self.a[1] >> 2, self.sr[1]) + _fmult(self.a[0] >> 2, self.sr[0])) >> 1
        d = sl - se
        y = self._scale()
        # adaptive quantizer: log2 |d| minus the scale factor, against the decision levels
        dqm = abs(d)
        exp = _bits(dqm >> 1)
        dl = (exp << 7) + (((dqm << 7) >> exp) & 0x7F)
        dln = dl - (y >> 2)
        i = next((k for k, level in enumerate(_QTAB) if dln < level), len(_QTAB))
        code = 15 - i if d < 0 else (i or 15)  # positive zero is coded 15
        # inverse quantizer
        dql = _DQLN[code] + (y >> 2)
        if dql < 0:
            dq = -0x8000 if code & 8 else 0
        else:
            dex = (dql >> 7) & 15
            dqt = 128 + (dql & 127)
            dq = (dqt << 7) >> (14 - dex)
            if code & 8:
                dq -= 0x8000
        sr = se - (dq & 0x3FFF) if dq < 0 else se + dq
        self._update(y, _WI[code] << 5, _FI[code], dq, sr, sr + sez - se)
        return code

    def _update(self, y: int, wi: int, fi: int, dq: int, sr: int, dqsez: int) -> None:
        pk0 = 1 if dqsez < 0 else 0
        mag = dq & 0x7FFF
        # transition detector
        ylint, ylfrac = self.yl >> 15, (self.yl >> 10) & 0x1F
        thr1 = (32 + ylfrac) << ylint
        thr2 = 31 << 10 if ylint > 9 else thr1
        dqthr = (thr2 + (thr2 >> 1)) >> 1
        tr = 1 if self.td and mag > dqthr else 0
        # quantizer scale factor adaptation
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
        # dq is sign and magnitude (negative: magnitude - 0x8000); sr is two's complement
        self.dq = [_to_float(mag, dq < 0), *self.dq[:5]]
        self.sr = [_to_float(abs(sr), sr < 0) if sr > -32768 else _s16(0xFC20), self.sr[0]]
        self.pk = [pk0, self.pk[0]]
        # tone detector and adaptation speed control
        self.td = 0 if tr else (1 if a2p < -11776 else 0)
        self.dms += (fi - self.dms) >> 5
        self.dml += ((fi << 2) - self.dml) >> 7
        if tr:
            self.ap = 256
        elif y < 1536 or self.td or abs((self.dms << 2) - self.dml) >= (self.dml >> 3):
            self.ap += (0x200 - self.ap) >> 4
        else:
            self.ap += (-self.ap) >> 4


def encode(samples: list[int]) -> bytes:
    """16-bit linear samples (an even count) -> G.726-32 bytes, first code in the high nibble."""
    enc = G726Encoder()
    codes = [enc.encode(s) for s in samples]
    return bytes((codes[i] << 4) | codes[i + 1] for i in range(0, len(codes) - 1, 2))
