#!/usr/bin/env python3
"""A scriptable BOLT 8 peer on Core Lightning's pyln-proto, driven line by line from stdin, used to
test an lnfleet edge with code we did not write.

Start:
  pyln_edge_peer.py initiator --port P --node-id HEX [--secret HEX]
  pyln_edge_peer.py responder [--secret HEX]       prints {"event":"listening","port":..,"node_id":..}
Then, after the handshake, it prints {"event":"connected","node_id":<ours>} and executes one
command per stdin line, printing one JSON event per command:
  init                 send our init (regtest networks TLV) and read theirs -> {"event":"init",...}
  ping N [IGNORED]     ping asking N bytes; N < 65532 -> {"event":"pong","bytes":N}; otherwise no
                       pong may come before the pong of a following ping(3) -> {"event":"no_pong"}
  send HEX             send one raw message (type + payload) -> {"event":"sent"}
  expect TYPE          read until a message of TYPE (pings are answered, others recorded)
                       -> {"event":"received","type":T,"payload":HEX,"skipped":[types]}
  expect_close         read until the connection ends -> {"event":"closed","before":[types]}
  bad_mac              send a ping whose MAC is corrupted -> {"event":"sent"}
  quit                 exit 0
Any deviation prints {"event":"error","error":...} and exits 1.
"""
import argparse
import io
import json
import os
import socket
import struct
import sys

from pyln.proto.message import Message
from pyln.proto.wire import LightningServerSocket, PrivateKey, PublicKey, connect, encryptWithAD
from pyln.spec.bolt1 import namespace

REGTEST = "06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f"


def emit(event, **fields):
    fields["event"] = event
    print(json.dumps(fields), flush=True)


def fail(why):
    emit("error", error=why)
    sys.exit(1)


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

    def send_raw(self, raw):
        self.conn.send_message(raw)

    def send(self, msg):
        self.send_raw(encode(msg))

    def ping(self, n, ignored=b""):
        self.send(Message(namespace.get_msgtype("ping"), num_pong_bytes=n, ignored=ignored))

    def read(self):
        """Next message (type, raw); pings are answered on the way."""
        while True:
            raw = self.conn.read_message()
            msgtype = int.from_bytes(raw[:2], "big")
            if msgtype == 18:
                _, ping = decode(raw)
                n = int(ping["num_pong_bytes"])
                if n < 65532:
                    self.send(Message(namespace.get_msgtype("pong"), ignored=b"\x00" * n))
                continue
            return msgtype, raw

    def expect(self, wanted):
        skipped = []
        while True:
            msgtype, raw = self.read()
            if msgtype == wanted:
                return raw, skipped
            skipped.append(msgtype)

    def expect_pong(self, nbytes):
        raw, skipped = self.expect(19)
        _, fields = decode(raw)
        got = len(bytes.fromhex(fields["ignored"]))
        if got != nbytes:
            fail(f"pong has {got} bytes, expected {nbytes}")
        return skipped

    def bad_mac(self):
        """A valid length prefix, then a ping body whose last MAC byte is flipped."""
        c = self.conn
        body = encode(Message(namespace.get_msgtype("ping"), num_pong_bytes=1, ignored=b""))
        with c.send_lock:
            lc = encryptWithAD(c.sk, c.nonce(c.sn), b"", struct.pack("!H", len(body)))
            mc = bytearray(encryptWithAD(c.sk, c.nonce(c.sn + 1), b"", body))
            mc[-1] ^= 0x01
            c.sn += 2
            c.connection.send(lc)
            c.connection.send(bytes(mc))


def run(peer):
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        try:
            if cmd == "init":
                init = Message.from_str(
                    namespace,
                    "init globalfeatures= features=0200 tlvs={networks={chains=[" + REGTEST + "]}}",
                )
                peer.send(init)
                raw, skipped = peer.expect(16)
                _, fields = decode(raw)
                emit("init", remote=fields, skipped=skipped)
            elif cmd == "ping":
                n = int(args[0])
                ignored = bytes.fromhex(args[1]) if len(args) > 1 else b""
                peer.ping(n, ignored)
                if n < 65532:
                    peer.expect_pong(n)
                    emit("pong", bytes=n)
                else:
                    peer.ping(3)
                    peer.expect_pong(3)
                    emit("no_pong")
            elif cmd == "send":
                peer.send_raw(bytes.fromhex(args[0]))
                emit("sent")
            elif cmd == "expect":
                raw, skipped = peer.expect(int(args[0]))
                emit("received", type=int(args[0]), payload=raw[2:].hex(), skipped=skipped)
            elif cmd == "expect_close":
                before = []
                try:
                    while True:
                        msgtype, _ = peer.read()
                        before.append(msgtype)
                except (ValueError, ConnectionError, OSError):
                    emit("closed", before=before)
            elif cmd == "bad_mac":
                peer.bad_mac()
                emit("sent")
            elif cmd == "quit":
                return
            else:
                fail(f"unknown command {cmd}")
        except socket.timeout:
            fail(f"timed out in {cmd}")
        except (ValueError, ConnectionError, OSError) as e:
            fail(f"{cmd}: connection failed: {e}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["initiator", "responder"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--node-id", help="the edge's node id (initiator mode)")
    parser.add_argument("--secret", help="our node secret, hex (default: random)")
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()

    privkey = PrivateKey(bytes.fromhex(args.secret) if args.secret else os.urandom(32))
    ours = privkey.public_key().serializeCompressed().hex()
    if args.mode == "initiator":
        try:
            conn = connect(privkey, PublicKey(bytes.fromhex(args.node_id)), args.host, args.port)
        except (ValueError, ConnectionError, OSError) as e:
            fail(f"handshake failed: {e}")
    else:
        server = LightningServerSocket(privkey)
        server.bind((args.host, args.port))
        server.listen(1)
        server.settimeout(args.timeout)
        emit("listening", port=server.getsockname()[1], node_id=ours)
        try:
            conn, _ = server.accept()
        except (ValueError, ConnectionError, OSError) as e:
            fail(f"accept failed: {e}")
    conn.connection.settimeout(args.timeout)
    emit("connected", node_id=ours)
    run(Peer(conn))


if __name__ == "__main__":
    main()
