#!/usr/bin/env python3
"""Writes the demo's example image: a 640x480 PNG of a simple scene (sky, sun, a house with a red roof
and a door, grass, a tree), drawn with Python's standard library only (zlib + struct), so nothing
has to be downloaded or shipped.  usage: demo_image.py OUT.png"""
import struct
import sys
import zlib

W, H = 640, 480


def scene(x, y):
    if (x - 520) ** 2 + (y - 90) ** 2 < 45 ** 2:
        return (250, 210, 40)                                  # sun
    if 150 <= x < 350 and 230 <= y < 380:                      # house walls
        if 225 <= x < 275 and 300 <= y < 380:
            return (90, 50, 20)                                # door
        if 170 <= x < 210 and 260 <= y < 295:
            return (170, 210, 240)                             # window
        return (235, 225, 200)
    if 130 <= x < 370 and 140 <= y < 230 and abs(x - 250) <= (y - 140) * 120 / 90:
        return (190, 40, 35)                                   # roof
    if (x - 470) ** 2 + (y - 250) ** 2 < 60 ** 2:
        return (40, 130, 50)                                   # tree crown
    if 460 <= x < 480 and 250 <= y < 380:
        return (100, 70, 40)                                   # trunk
    if y >= 360:
        return (70, 160, 60)                                   # grass
    t = y / 360
    return (int(120 + 80 * t), int(180 + 50 * t), 245)         # sky


def main():
    rows = b"".join(b"\0" + bytes(c for x in range(W) for c in scene(x, y)) for y in range(H))
    chunk = lambda tag, data: struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    with open(sys.argv[1], "wb") as f:
        f.write(png)


if __name__ == "__main__":
    main()
