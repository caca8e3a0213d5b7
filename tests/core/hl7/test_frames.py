"""MLLP framing: blocks come out whole and in order however the bytes are cut into reads; an oversized block
becomes one marker holding its head, and the blocks after it are read from their own start."""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import given
from hypothesis import strategies as st

from core.hl7.frames import Block, Frames, frame


async def _read_all(stream: bytes, cuts: list[int], limit: int) -> list[Block]:
    reader = asyncio.StreamReader()
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    for a, b in itertools.pairwise(points):
        reader.feed_data(stream[a:b])
    reader.feed_eof()
    frames, out = Frames(reader, limit), []
    while True:
        try:
            out.append(await frames.next())
        except EOFError:
            return out


@given(
    st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\x1c\r", b"")), min_size=1, max_size=6),
    st.lists(st.integers(0, 5000), max_size=20),
)
def test_blocks_come_out_whole_however_the_bytes_are_cut(messages: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(frame(m) for m in messages)
    blocks = asyncio.run(_read_all(stream, cuts, limit=200))
    assert len(blocks) == len(messages)
    for message, block in zip(messages, blocks, strict=True):
        if len(message) > 200:
            assert block.oversized and message.startswith(block.data)
        else:
            assert block == Block(message)


def test_an_oversized_block_is_one_marker_and_the_next_block_is_whole() -> None:
    big = b"MSH|^~\\&|A|B|C|D|2026||ORU^R01|BIG|P|2.5.1\r" + b"x" * 10_000
    stream = frame(big) + frame(b"MSH|small") + b"stray" + b"\x1c\r"
    blocks = asyncio.run(_read_all(stream, list(range(0, len(stream), 97)), limit=1000))
    assert blocks[0].oversized == len(big) and blocks[0].data == big[:4096]
    assert blocks[1] == Block(b"MSH|small")
    assert blocks[2].unframed and blocks[2].data == b"stray"
