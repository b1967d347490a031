#!/usr/bin/env python3
"""Makes libsrtp_vectors.txt: SRTP and SRTCP packets protected by libsrtp (through aiortc's
pylibsrtp) with fixed master keys, for every profile this libsrtp supports. The Rust tests in
srtp/tests.rs protect the same plaintexts in the same order and compare bytes, and unprotect
libsrtp's output back to the plaintexts.

Run from the repository root with the interop venv:
    tests/interop/.venv/bin/python crates/rtcpeer-proto/src/srtp/testdata/make_vectors.py \
        > crates/rtcpeer-proto/src/srtp/testdata/libsrtp_vectors.txt

Line format (hex, space separated):
    key <profile id> <master key> <master salt>
    rtp <profile id> <plaintext RTP> <SRTP>
    rtcp <profile id> <plaintext RTCP> <SRTCP>
Packets of one profile and kind are protected in file order by one libsrtp session.
"""
import struct

from pylibsrtp import Policy, Session

PROFILES = [
    (0x0001, Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16, 14),
    (0x0002, Policy.SRTP_PROFILE_AES128_CM_SHA1_32, 16, 14),
    (0x0007, Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16, 12),
    (0x0008, Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32, 12),
]


def rtp(seq, ssrc, payload_len, csrcs=0, ext_words=None, marker=False, padding=0):
    first = 0x80 | csrcs | (0x10 if ext_words is not None else 0) | (0x20 if padding else 0)
    out = struct.pack("!BBHII", first, (0x80 if marker else 0) | 96, seq, seq * 3000, ssrc)
    for i in range(csrcs):
        out += struct.pack("!I", 0xC0000000 + i)
    if ext_words is not None:
        out += struct.pack("!HH", 0xBEDE, ext_words)
        out += bytes((0x10 + i) & 0xFF for i in range(4 * ext_words))
    out += bytes((seq + i) & 0xFF for i in range(payload_len))
    if padding:
        out += bytes(padding - 1) + bytes([padding])
    return out


def rtcp(ssrc, n):
    # A sender report with one report block, then an SDES-like tail of n words.
    body = struct.pack("!IIIII", ssrc, 0x83AA7E80 + n, 0x12345678, 1000 * n, 20 * n)
    body += struct.pack("!IIIIII", 0xABCDEF01, 0x01000005, 0x00010000 + n, 7, 0, 0)
    pkt = struct.pack("!BBH", 0x81, 200, len(body) // 4) + body
    words = bytes((n + i) & 0xFF for i in range(4 * n))
    return pkt + struct.pack("!BBH", 0x81, 202, n) + words


def rtp_plaintexts():
    a, b = 0x12345678, 0xCAFEBABE
    pkts = []
    # SSRC a crosses the rollover (65533 -> 2), with a reordered packet around the wrap.
    for i, seq in enumerate([65530, 65531, 65532, 65533, 65535, 65534, 0, 1, 2, 3]):
        pkts.append(rtp(seq, a, [0, 1, 16, 17, 160, 1000][i % 6]))
    pkts.append(rtp(4, a, 33, csrcs=2))
    pkts.append(rtp(5, a, 20, ext_words=2, marker=True))
    pkts.append(rtp(6, a, 21, csrcs=1, ext_words=1, padding=4))
    # SSRC b, interleaved, no rollover.
    for seq in [1000, 1001, 1003, 1002]:
        pkts.append(rtp(seq, b, 50))
    pkts.append(rtp(7, a, 1200))
    return pkts


def rtcp_plaintexts():
    a, b = 0x12345678, 0xCAFEBABE
    return [rtcp(a, 0), rtcp(a, 1), rtcp(b, 2), rtcp(a, 3), rtcp(b, 0), rtcp(a, 7)]


def main():
    for pid, profile, key_len, salt_len in PROFILES:
        key = bytes((0x10 + i) & 0xFF for i in range(key_len))
        salt = bytes((0xA0 + i) & 0xFF for i in range(salt_len))
        print("key %04x %s %s" % (pid, key.hex(), salt.hex()))
        policy = Policy(key=key + salt, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)
        policy.allow_repeat_tx = True
        policy.window_size = 1024
        session = Session(policy)
        for p in rtp_plaintexts():
            print("rtp %04x %s %s" % (pid, p.hex(), session.protect(p).hex()))
        for p in rtcp_plaintexts():
            print("rtcp %04x %s %s" % (pid, p.hex(), session.protect_rtcp(p).hex()))


if __name__ == "__main__":
    main()
