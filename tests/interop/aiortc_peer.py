"""One aiortc RTCPeerConnection, driven by rtcpeer's Rust interop tests over stdin/stdout.

Run with the venv that scripts/test installs (tests/interop/.venv, pinned in
requirements.txt); the Rust side is crates/rtcpeer/tests/common/aiortc.rs.

Protocol (JSON lines; stdout carries only protocol lines, logs go to stderr):
  first line out:  {"ready":true,"aiortc":"<version>","aioice":"<version>"}
  request in:      {"id":N,"cmd":"<command>","args":{...arguments}}
  reply out:       {"id":N,"ok":<JSON value>}  or  {"id":N,"error":{"name":..,"message":..}}
Requests are handled concurrently (each in its own task); send one at a time to keep replies
in order. Closing stdin closes the connection and ends the process.

Commands (channels are named by the integer handle this script gives them):
  create_pc                       RTCPeerConnection(RTCConfiguration(iceServers=[]))
  create_dc {label, ordered?, maxRetransmits?, maxPacketLifeTime?, protocol?, negotiated?, id?}
                                  -> {"channel":K}
  offer                           createOffer + setLocalDescription -> {"type","sdp"}
  answer {sdp}                    setRemoteDescription(offer) + createAnswer + SLD -> answer
  accept_answer {sdp}             setRemoteDescription(answer)
  send {channel, text|hex}        one message (hex: binary, may be "")
  send_bulk {channel, total, chunk, high}
                                  sends `total` random bytes in `chunk`-sized binary messages,
                                  waiting for `bufferedamountlow` whenever bufferedAmount
                                  exceeds `high` -> {"count","bytes","sha256","max_buffered"}
  digest {channel}                from now on the channel's messages are not queued as events
                                  but counted and hashed (for bulk transfers)
  wait_digest {channel, bytes}    waits until `bytes` bytes arrived in digest mode, or the
                                  channel closed -> {"count","bytes","sha256","closed"}
  next_event {channel?}           the next event of a channel: {"type":"open"},
                                  {"type":"message","text":..} / {"type":"message","hex":..},
                                  {"type":"close"}; without channel the next connection event:
                                  {"type":"datachannel","channel":K,...info},
                                  {"type":"connectionstatechange","state":..}
  dc_info {channel}               label, id, readyState, bufferedAmount, ordered, protocol, ...
  close_dc {channel}              RTCDataChannel.close()
  state                           the connection's states
  close_pc                        RTCPeerConnection.close()
  add_media                       adds aiortc's synthetic audio (silence) and video (test
                                  frames, 30 fps) tracks; what arrives on the connection's
                                  `track` events is decoded and counted
  answer_with_media {sdp}         setRemoteDescription(offer), then sends the synthetic
                                  tracks on the offered transceivers (sendrecv), answers
  media_counts                    decoded frames received per kind -> {"audio":N,"video":M,
                                  "video_width":W}

Loopback only: aiortc (through aioice) gathers host candidates on every interface except
127.0.0.1, and there is no option to choose them. This script replaces aioice's address
discovery with 127.0.0.1 only, uses no STUN/TURN server, and checks that every candidate in
its descriptions is on 127.0.0.1; so it never sends anywhere but loopback.
"""

import asyncio
import hashlib
import json
import logging
import os
import sys
import traceback
from importlib.metadata import version

import aioice.ice

LOOPBACK = "127.0.0.1"


def _loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list:
    return [LOOPBACK] if use_ipv4 else []


# gather_candidates() looks this function up in the module at call time.
assert callable(aioice.ice.get_host_addresses), "aioice changed: no get_host_addresses"
aioice.ice.get_host_addresses = _loopback_host_addresses

from aiortc import (  # noqa: E402  (after the patch, on purpose)
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack  # noqa: E402

log = logging.getLogger("aiortc_peer")


class Failure(Exception):
    """A request this script refuses (bad arguments, wrong state)."""


class Channel:
    """One data channel and what the tests observe of it."""

    def __init__(self, handle: int, dc) -> None:
        self.handle = handle
        self.dc = dc
        self.events: asyncio.Queue = asyncio.Queue()
        self.digest_mode = False
        self.digest = hashlib.sha256()
        self.digest_count = 0
        self.digest_bytes = 0
        self.closed = False
        # Set on every digest update and on close (wait_digest waits on it).
        self.changed = asyncio.Event()
        self.low = asyncio.Event()

        dc.on("open", lambda: self.events.put_nowait({"type": "open"}))
        dc.on("message", self.on_message)
        dc.on("bufferedamountlow", self.low.set)
        dc.on("close", self.on_close)

    def on_message(self, data) -> None:
        if self.digest_mode:
            raw = data.encode("utf-8") if isinstance(data, str) else data
            self.digest.update(raw)
            self.digest_count += 1
            self.digest_bytes += len(raw)
            self.changed.set()
        elif isinstance(data, str):
            self.events.put_nowait({"type": "message", "text": data})
        else:
            self.events.put_nowait({"type": "message", "hex": data.hex()})

    def on_close(self) -> None:
        self.closed = True
        self.changed.set()
        self.low.set()
        self.events.put_nowait({"type": "close"})

    def info(self) -> dict:
        dc = self.dc
        return {
            "channel": self.handle,
            "label": dc.label,
            "id": dc.id,
            "readyState": dc.readyState,
            "bufferedAmount": dc.bufferedAmount,
            "ordered": dc.ordered,
            "protocol": dc.protocol,
            "negotiated": dc.negotiated,
            "maxRetransmits": dc.maxRetransmits,
            "maxPacketLifeTime": dc.maxPacketLifeTime,
        }


class Peer:
    def __init__(self) -> None:
        self.pc = None
        self.channels: dict = {}
        self.pc_events: asyncio.Queue = asyncio.Queue()
        self.media_counts: dict = {"audio": 0, "video": 0, "video_width": 0}
        self.consumers: list = []

    def add_channel(self, dc) -> Channel:
        handle = len(self.channels) + 1
        ch = Channel(handle, dc)
        self.channels[handle] = ch
        return ch

    def channel(self, args: dict) -> Channel:
        handle = args.get("channel")
        if handle not in self.channels:
            raise Failure(f"no channel {handle!r}")
        return self.channels[handle]

    def need_pc(self):
        if self.pc is None:
            raise Failure("create_pc first")
        return self.pc

    def description(self) -> dict:
        desc = self.pc.localDescription
        for line in desc.sdp.splitlines():
            if line.startswith("a=candidate:"):
                address = line.split()[4]
                if address != LOOPBACK:
                    raise Failure(f"candidate not on loopback: {line}")
        return {"type": desc.type, "sdp": desc.sdp}

    async def handle(self, cmd: str, args: dict):
        if cmd == "create_pc":
            if self.pc is not None:
                raise Failure("one connection per process")
            self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

            @self.pc.on("datachannel")
            def on_datachannel(dc) -> None:
                ch = self.add_channel(dc)
                self.pc_events.put_nowait({"type": "datachannel", **ch.info()})

            @self.pc.on("track")
            def on_track(track) -> None:
                self.consumers.append(asyncio.ensure_future(self.consume(track)))

            @self.pc.on("connectionstatechange")
            def on_state() -> None:
                self.pc_events.put_nowait(
                    {"type": "connectionstatechange", "state": self.pc.connectionState}
                )

            return None
        if cmd == "create_dc":
            pc = self.need_pc()
            kwargs = {
                k: args[k]
                for k in (
                    "ordered",
                    "maxRetransmits",
                    "maxPacketLifeTime",
                    "protocol",
                    "negotiated",
                    "id",
                )
                if k in args
            }
            ch = self.add_channel(pc.createDataChannel(args["label"], **kwargs))
            return {"channel": ch.handle}
        if cmd == "offer":
            pc = self.need_pc()
            await pc.setLocalDescription(await pc.createOffer())
            return self.description()
        if cmd == "answer":
            pc = self.need_pc()
            await pc.setRemoteDescription(RTCSessionDescription(args["sdp"], "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            return self.description()
        if cmd == "accept_answer":
            pc = self.need_pc()
            await pc.setRemoteDescription(RTCSessionDescription(args["sdp"], "answer"))
            return None
        if cmd == "send":
            ch = self.channel(args)
            if "text" in args:
                ch.dc.send(args["text"])
            else:
                ch.dc.send(bytes.fromhex(args["hex"]))
            return None
        if cmd == "send_bulk":
            return await self.send_bulk(self.channel(args), args)
        if cmd == "digest":
            self.channel(args).digest_mode = True
            return None
        if cmd == "wait_digest":
            ch = self.channel(args)
            while ch.digest_bytes < args["bytes"] and not ch.closed:
                ch.changed.clear()
                await ch.changed.wait()
            return {
                "count": ch.digest_count,
                "bytes": ch.digest_bytes,
                "sha256": ch.digest.hexdigest(),
                "closed": ch.closed,
            }
        if cmd == "next_event":
            if "channel" in args:
                return await self.channel(args).events.get()
            return await self.pc_events.get()
        if cmd == "dc_info":
            return self.channel(args).info()
        if cmd == "close_dc":
            self.channel(args).dc.close()
            return None
        if cmd == "state":
            pc = self.need_pc()
            sctp = pc.sctp
            return {
                "connectionState": pc.connectionState,
                "iceConnectionState": pc.iceConnectionState,
                "iceGatheringState": pc.iceGatheringState,
                "signalingState": pc.signalingState,
                "sctpState": sctp.state if sctp is not None else None,
                "dtlsState": sctp.transport.state if sctp is not None else None,
                # What aiortc enforces on its sends (from our description's max-message-size).
                "remoteMaxMessageSize": getattr(sctp, "_remote_max_message_size", None),
            }
        if cmd == "add_media":
            pc = self.need_pc()
            pc.addTrack(AudioStreamTrack())
            pc.addTrack(VideoStreamTrack())
            return None
        if cmd == "answer_with_media":
            pc = self.need_pc()
            await pc.setRemoteDescription(RTCSessionDescription(args["sdp"], "offer"))
            for tr in pc.getTransceivers():
                track = AudioStreamTrack() if tr.kind == "audio" else VideoStreamTrack()
                tr.direction = "sendrecv"
                tr.sender.replaceTrack(track)
            await pc.setLocalDescription(await pc.createAnswer())
            return self.description()
        if cmd == "media_counts":
            return dict(self.media_counts)
        if cmd == "close_pc":
            await self.need_pc().close()
            return None
        raise Failure(f"unknown command {cmd!r}")

    async def consume(self, track) -> None:
        """Receives (and so decodes) every frame of a remote track, counting them."""
        try:
            while True:
                frame = await track.recv()
                self.media_counts[track.kind] += 1
                if track.kind == "video":
                    self.media_counts["video_width"] = frame.width
        except Exception:  # the track ended (MediaStreamError) or the connection closed
            return

    async def send_bulk(self, ch: Channel, args: dict) -> dict:
        total, chunk, high = args["total"], args["chunk"], args["high"]
        if chunk <= 0 or high < 0:
            raise Failure("chunk must be > 0 and high >= 0")
        dc = ch.dc
        dc.bufferedAmountLowThreshold = high // 2
        data = os.urandom(total)
        digest = hashlib.sha256(data)
        count = 0
        max_buffered = 0
        pos = 0
        while pos < total:
            if dc.bufferedAmount > high:
                ch.low.clear()
                # Re-check: the event may have fired between the test and the clear.
                if dc.bufferedAmount > dc.bufferedAmountLowThreshold:
                    await ch.low.wait()
                if ch.closed:
                    raise Failure(f"channel closed after {pos} of {total} bytes")
                continue
            dc.send(data[pos : pos + chunk])
            pos += chunk
            count += 1
            max_buffered = max(max_buffered, dc.bufferedAmount)
        return {
            "count": count,
            "bytes": total,
            "sha256": digest.hexdigest(),
            "max_buffered": max_buffered,
        }


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def serve(peer: Peer, req: dict) -> None:
    rid = req.get("id")
    try:
        args = req.get("args") or {}
        if not isinstance(args, dict):
            raise Failure("args must be an object")
        result = await peer.handle(req.get("cmd"), args)
        emit({"id": rid, "ok": result})
    except Exception as e:  # every failure goes back to the test, named
        log.debug("request %s failed:\n%s", rid, traceback.format_exc())
        emit({"id": rid, "error": {"name": type(e).__name__, "message": str(e)}})


async def main() -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if os.environ.get("RTCPEER_AIORTC_DEBUG") else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    loop = asyncio.get_running_loop()
    peer = Peer()
    tasks = set()
    emit({"ready": True, "aiortc": version("aiortc"), "aioice": version("aioice")})
    while True:
        # A thread reads stdin: works for pipes, files and terminals alike.
        line = await loop.run_in_executor(None, sys.stdin.buffer.readline)
        if not line:
            break
        try:
            req = json.loads(line)
        except ValueError as e:
            emit({"id": None, "error": {"name": "ProtocolError", "message": str(e)}})
            continue
        task = asyncio.create_task(serve(peer, req))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for task in list(tasks):
        task.cancel()
    if peer.pc is not None:
        await peer.pc.close()


if __name__ == "__main__":
    asyncio.run(main())
