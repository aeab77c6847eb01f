"""Drives `hushword serve` with the real `wyoming` client library (tests/wyoming_server.rs).

    driver.py URI describe
        prints the server's info, parsed by wyoming.info.Info (so the library accepts it)
    driver.py URI detect WAV [WAV...] [--names a,b] [--chunk-frames N] [--pace S]
        one connection; per WAV: detect, audio-start, audio-chunk..., audio-stop, then a ping
        whose pong marks the end of the replies; prints one JSON object per WAV: the replies
        received (type and data) and the wall-clock span of the streaming

Each WAV is sent in its own rate, width and channel count. Exit status 1 with a message on
anything unexpected.
"""

import argparse
import asyncio
import json
import sys
import struct
import time

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.wake import Detect, Detection, NotDetected

TIMEOUT_S = 30


def read_wav(path):
    """(rate, width, channels, PCM bytes) of an integer PCM WAV, plain or extensible (the
    `wave` module refuses WAVE_FORMAT_EXTENSIBLE, which hound writes for 24-bit stereo)."""
    with open(path, "rb") as f:
        riff = f.read()
    if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        sys.exit(f"{path}: not a WAV file")
    fmt, data, offset = None, None, 12
    while offset + 8 <= len(riff):
        chunk_id = riff[offset:offset + 4]
        (size,) = struct.unpack("<I", riff[offset + 4:offset + 8])
        body = riff[offset + 8:offset + 8 + size]
        if chunk_id == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif chunk_id == b"data":
            data = body
        offset += 8 + size + (size & 1)
    if fmt is None or data is None:
        sys.exit(f"{path}: no fmt or data chunk")
    _, channels, rate, _, _, bits = fmt
    return rate, bits // 8, channels, data


async def describe(uri):
    async with AsyncClient.from_uri(uri, read_timeout=TIMEOUT_S) as client:
        await client.write_event(Describe().event())
        event = await client.read_event()
        if event is None or not Info.is_type(event.type):
            sys.exit(f"describe: expected info, got {event}")
        info = Info.from_event(event)
        print(json.dumps(info.event().data))


async def detect(uri, wavs, names, chunk_frames, pace):
    async with AsyncClient.from_uri(uri, read_timeout=TIMEOUT_S) as client:
        for path in wavs:
            rate, width, channels, frames = read_wav(path)
            if width == 1:
                # WAV stores 8-bit unsigned; Wyoming (audioop) means signed.
                frames = bytes((b - 128) & 0xFF for b in frames)
            await client.write_event(Detect(names=names).event())
            await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
            step = chunk_frames * width * channels
            started = time.time()
            for offset in range(0, len(frames), step):
                chunk = AudioChunk(rate=rate, width=width, channels=channels,
                                   audio=frames[offset:offset + step])
                await client.write_event(chunk.event())
                if pace:
                    await asyncio.sleep(pace)
            finished = time.time()
            await client.write_event(AudioStop().event())
            await client.write_event(Ping(text=path).event())
            replies = []
            while True:
                event = await client.read_event()
                if event is None:
                    sys.exit(f"{path}: the server closed the connection; replies so far: {replies}")
                if Pong.is_type(event.type):
                    if Pong.from_event(event).text != path:
                        sys.exit(f"{path}: pong for another ping: {event}")
                    break
                if Detection.is_type(event.type):
                    d = Detection.from_event(event)
                    replies.append({"type": event.type, "name": d.name, "timestamp": d.timestamp})
                elif NotDetected.is_type(event.type):
                    NotDetected.from_event(event)
                    replies.append({"type": event.type})
                else:
                    replies.append({"type": event.type, "data": event.data})
            print(json.dumps({"wav": path, "replies": replies,
                              "started": started, "finished": finished}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("uri")
    parser.add_argument("command", choices=["describe", "detect"])
    parser.add_argument("wavs", nargs="*")
    parser.add_argument("--names", default=None)
    parser.add_argument("--chunk-frames", type=int, default=1024)
    parser.add_argument("--pace", type=float, default=0.0)
    args = parser.parse_args()
    if args.command == "describe":
        asyncio.run(describe(args.uri))
    else:
        names = args.names.split(",") if args.names else None
        asyncio.run(detect(args.uri, args.wavs, names, args.chunk_frames, args.pace))


if __name__ == "__main__":
    main()
