#!/usr/bin/env python3
"""Talk to a running Burrow node from Python 3, with the standard library only.

The node serves its local API on the unix socket ``<data dir>/burrow.sock``:
one JSON object per line each way (docs/local-api.md). This file is both a
small client class you can copy and a command line:

    python3 burrow_client.py [--data-dir DIR | --socket PATH] send GROUP TEXT
    python3 burrow_client.py [--data-dir DIR | --socket PATH] follow GROUP [--count N] [--timeout S]

``send`` encrypts TEXT for the group and prints the message's local id.
``follow`` prints the group's messages so far, then each new one as it
arrives, until Ctrl-C (exit 0), until ``--count`` messages were printed
(exit 0), or until ``--timeout`` seconds pass or the node stops (exit 1).
GROUP is a group's local name, its id, or a unique prefix of the id.
Errors print ``burrow_client: <message> (<CODE>)`` on stderr and exit 1.
"""

import argparse
import base64
import collections
import json
import os
import socket
import sys
import time

# The node never sends a longer line (src/api/protocol.ts, MAX_RESPONSE_LINE_BYTES).
MAX_LINE_BYTES = 16 * 1024 * 1024
# Largest page `read` gives (READ_MAX_LIMIT).
READ_MAX_LIMIT = 1000


class BurrowError(Exception):
    """An error answer of the node (or of this client): a stable ``code`` and a message."""

    def __init__(self, code, message):
        super().__init__("%s (%s)" % (message, code))
        self.code = code
        self.message = message


class BurrowClient:
    """One connection to a node's local API.

    Answers are matched to requests by ``id``; event lines that arrive while a
    call waits are kept, in order, for :meth:`next_event`.
    """

    def __init__(self, socket_path, timeout=30.0):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(socket_path)
        except (FileNotFoundError, ConnectionRefusedError):
            self._sock.close()
            raise BurrowError("API_NOT_RUNNING", "no node answers on %s; start one with `burrow start`" % socket_path)
        self._file = self._sock.makefile("rb")
        self._timeout = timeout
        self._next_id = 1
        self._events = collections.deque()

    def close(self):
        self._file.close()
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, method, **params):
        """Sends one request and returns its ``result``; raises BurrowError for an ``error`` answer."""
        request_id = self._next_id
        self._next_id += 1
        line = json.dumps({"id": request_id, "method": method, "params": params}, ensure_ascii=False)
        self._sock.settimeout(self._timeout)
        self._sock.sendall(line.encode("utf-8") + b"\n")
        while True:
            message = self._read_line()
            if "event" in message:
                self._events.append(message)
            elif message.get("id") == request_id:
                if "error" in message:
                    raise BurrowError(message["error"]["code"], message["error"]["message"])
                return message["result"]

    def subscribe(self, events, group=None):
        """Replaces this connection's subscription; ``group`` limits group events to one group."""
        params = {"events": list(events)}
        if group is not None:
            params["group"] = group
        return self.call("subscribe", **params)

    def next_event(self, timeout=None):
        """The next pushed event ``{"event": name, "data": ...}``; waits up to ``timeout`` seconds (None: forever)."""
        if self._events:
            return self._events.popleft()
        self._sock.settimeout(timeout)
        while True:
            message = self._read_line()
            if "event" in message:
                return message

    def _read_line(self):
        try:
            raw = self._file.readline(MAX_LINE_BYTES + 1)
        except socket.timeout:
            raise BurrowError("TIMEOUT", "the node did not answer in time")
        if raw == b"":
            raise BurrowError("API_CONNECTION_CLOSED", "the node closed the connection")
        if not raw.endswith(b"\n"):
            raise BurrowError("API_PROTOCOL", "the node sent a line longer than %d bytes" % MAX_LINE_BYTES)
        return json.loads(raw.decode("utf-8"))


def default_data_dir():
    """``$XDG_DATA_HOME/burrow``, else ``~/.local/share/burrow``: where ``burrow`` keeps its node."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = xdg if xdg.startswith("/") else os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "burrow")


def describe(message):
    """One line for a message, as `burrow read` prints it."""
    who = "you" if message["self"] else message.get("authorName") or message["authorPeerId"]
    body = message.get("text")
    if message.get("file") is not None:
        body = "[file] %s, %d bytes" % (message["file"]["name"], message["file"]["size"])
    elif body is None:
        body = "[%d bytes of binary data]" % len(base64.b64decode(message["data"]))
    return "#%d  %s: %s" % (message["id"], who, body)


def send(client, group, text):
    message = client.call("send", group=group, text=text)
    print("sent #%d to %s (%d bytes)" % (message["id"], message["group"][:12], len(text.encode("utf-8"))), flush=True)


def follow(client, group, count, timeout):
    """Prints the backlog, then new messages. Subscribes first, so that nothing falls between the two."""
    deadline = None if timeout is None else time.monotonic() + timeout
    client.subscribe(["group:message"], group=group)
    last = 0
    printed = 0

    def show(message):
        nonlocal last, printed
        if message["id"] <= last:
            return
        last = message["id"]
        printed += 1
        print(describe(message), flush=True)

    while True:
        page = client.call("read", group=group, afterId=last, limit=READ_MAX_LIMIT)
        for message in page["messages"]:
            show(message)
        if not page["more"] and len(page["messages"]) < READ_MAX_LIMIT:
            break
    while count is None or printed < count:
        wait = None if deadline is None else deadline - time.monotonic()
        try:
            if wait is not None and wait <= 0:
                raise BurrowError("TIMEOUT", "timed out")
            event = client.next_event(timeout=wait)
        except BurrowError as err:
            if err.code != "TIMEOUT":
                raise
            got = "no new message" if count is None else "%d of %d messages" % (printed, count)
            raise BurrowError("TIMEOUT", "%s within %s s" % (got, timeout))
        if event["event"] == "group:message":
            show(event["data"])


def main(argv=None):
    parser = argparse.ArgumentParser(description="Send to and follow a Burrow group through a running node's local API.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--data-dir", help="the node's data directory (default: $XDG_DATA_HOME/burrow or ~/.local/share/burrow)")
    where.add_argument("--socket", help="the local API socket (default: <data dir>/burrow.sock)")
    commands = parser.add_subparsers(dest="command", required=True)
    send_parser = commands.add_parser("send", help="send a text message to a group")
    send_parser.add_argument("group")
    send_parser.add_argument("text")
    follow_parser = commands.add_parser("follow", help="print a group's messages, then new ones as they arrive")
    follow_parser.add_argument("group")
    follow_parser.add_argument("--count", type=int, help="exit after printing this many messages")
    follow_parser.add_argument("--timeout", type=float, help="give up (exit 1) after this many seconds")
    args = parser.parse_args(argv)

    path = args.socket or os.path.join(args.data_dir or default_data_dir(), "burrow.sock")
    try:
        with BurrowClient(path) as client:
            if args.command == "send":
                send(client, args.group, args.text)
            else:
                follow(client, args.group, args.count, args.timeout)
    except BurrowError as err:
        print("burrow_client: %s" % err, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
