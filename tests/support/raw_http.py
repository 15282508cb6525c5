"""A POST over a plain socket that sends its body piece by piece until the server answers (for body-limit tests)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator


def raw_post(
    url: str, path: str, head: dict[str, str], body_parts: Iterator[bytes], timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes, float]:
    """POST over a plain socket, sending ``body_parts`` until the server answers; status, headers, body, seconds."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in head.items())]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.setblocking(False)
        answer = b""
        for part in body_parts:
            try:
                sock.sendall(part)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break  # the server stopped reading: it has answered
            try:
                answer += sock.recv(65536)
                break
            except BlockingIOError:
                continue
        sock.settimeout(timeout)
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        elapsed = time.monotonic() - started
        head_text, _, rest = answer.partition(b"\r\n\r\n")
        status_line, *header_lines = head_text.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return int(status_line.split()[1]), headers, rest, elapsed


def megabytes(total: int, part: int = 1 << 20) -> Iterator[bytes]:
    """``total`` bytes of a JSON-looking body in ``part``-sized pieces."""
    first = b'{"body": "'
    yield first
    sent = len(first)
    while sent < total:
        yield b"x" * min(part, total - sent)
        sent += part
