#!/usr/bin/env python3
"""A BOLT 8 peer built on Core Lightning's pyln-proto, used to check lnfleet-wire against code we
did not write.

Modes:
  initiator --port P --node-id HEX   connect to an lnfleet listener, run the script below
  responder                          listen on a free port, print "LISTENING <port> <node_id>",
                                     accept one lnfleet connection and run the script below

The script (both modes): exchange `init` (pyln's with the regtest `networks` TLV), answer every
ping with a pong, and check lnfleet's pongs:
  - ping(num_pong_bytes=10) gets a pong of 10 bytes;
  - ping(num_pong_bytes=65532) gets no pong (checked by a following ping(3) whose pong comes first);
  - an unknown odd message (type 32769) is ignored: a following ping still gets its pong;
  - initiator only: an unknown even message (type 32768) makes lnfleet close the connection.
Prints one JSON line with what it saw; exits non-zero on any deviation.
"""
import argparse
import io
import json
import os
import socket
import sys

from pyln.proto.message import Message
from pyln.proto.wire import LightningServerSocket, PrivateKey, PublicKey, connect
from pyln.spec.bolt1 import namespace

REGTEST = "06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f"


def encode(msg):
    buf = io.BytesIO()
    msg.write(buf)
    return buf.getvalue()


def decode(raw):
    msgtype = int.from_bytes(raw[:2], "big")
    if namespace.get_msgtype_by_number(msgtype) is None:
        return msgtype, None
    return msgtype, Message.read(namespace, io.BytesIO(raw)).to_py()


class Peer:
    def __init__(self, conn):
        self.conn = conn
        self.seen = {"pings_answered": 0, "pongs": []}

    def send(self, msg):
        self.conn.send_message(encode(msg))

    def recv_non_ping(self):
        """Next message that is not a ping; pings are answered on the way."""
        while True:
            msgtype, fields = decode(self.conn.read_message())
            if msgtype == 18:
                ping = fields
                n = int(ping["num_pong_bytes"])
                if n < 65532:
                    self.send(Message(namespace.get_msgtype("pong"), ignored=b"\x00" * n))
                    self.seen["pings_answered"] += 1
                continue
            return msgtype, fields

    def ping(self, num_pong_bytes, ignored=b""):
        self.send(Message(namespace.get_msgtype("ping"), num_pong_bytes=num_pong_bytes, ignored=ignored))

    def expect_pong(self, nbytes):
        msgtype, fields = self.recv_non_ping()
        if msgtype != 19:
            fail(f"expected pong, got type {msgtype}")
        got = len(bytes.fromhex(fields["ignored"]))
        self.seen["pongs"].append(got)
        if got != nbytes:
            fail(f"pong has {got} bytes, expected {nbytes}")


def fail(why):
    print(json.dumps({"ok": False, "error": why}), flush=True)
    sys.exit(1)


def run_script(peer, expect_close_on_even):
    init = Message.from_str(
        namespace, "init globalfeatures= features=0200 tlvs={networks={chains=[" + REGTEST + "]}}"
    )
    peer.send(init)
    msgtype, remote_init = peer.recv_non_ping()
    if msgtype != 16:
        fail(f"first message was type {msgtype}, not init")
    peer.seen["remote_init"] = remote_init

    peer.ping(10, b"\x01\x02\x03")
    peer.expect_pong(10)

    # No pong for 65532 or more: the pong for the next ping must come first.
    peer.ping(65532)
    peer.ping(3)
    peer.expect_pong(3)

    # "It's ok to be odd": an unknown odd message is ignored and the connection stays up.
    peer.conn.send_message((32769).to_bytes(2, "big") + b"custom payload")
    peer.ping(4)
    peer.expect_pong(4)

    if expect_close_on_even:
        peer.conn.send_message((32768).to_bytes(2, "big") + b"must be understood")
        try:
            msgtype, _ = peer.recv_non_ping()
        except (ValueError, ConnectionError, OSError):
            peer.seen["closed_after_unknown_even"] = True
        else:
            # A warning/error before closing is allowed; the connection must still end.
            try:
                peer.recv_non_ping()
                fail(f"connection still open after unknown even message (got type {msgtype})")
            except (ValueError, ConnectionError, OSError):
                peer.seen["closed_after_unknown_even"] = True
    peer.seen["ok"] = True
    print(json.dumps(peer.seen), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["initiator", "responder"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--node-id", help="lnfleet listener's node id (initiator mode)")
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()

    privkey = PrivateKey(os.urandom(32))
    if args.mode == "initiator":
        node_id = PublicKey(bytes.fromhex(args.node_id))
        conn = connect(privkey, node_id, args.host, args.port)
        conn.connection.settimeout(args.timeout)
        run_script(Peer(conn), expect_close_on_even=True)
    else:
        server = LightningServerSocket(privkey)
        server.bind((args.host, args.port))
        server.listen(1)
        server.settimeout(args.timeout)
        port = server.getsockname()[1]
        node_id = privkey.public_key().serializeCompressed().hex()
        print(f"LISTENING {port} {node_id}", flush=True)
        conn, _ = server.accept()
        conn.connection.settimeout(args.timeout)
        run_script(Peer(conn), expect_close_on_even=False)
        # Let lnfleet finish its own checks (its pings) until it hangs up.
        try:
            while True:
                Peer(conn).recv_non_ping()
        except (ValueError, ConnectionError, OSError, socket.timeout):
            pass


if __name__ == "__main__":
    main()
