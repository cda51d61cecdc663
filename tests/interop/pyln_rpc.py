#!/usr/bin/env python3
"""Core Lightning's own RPC client (pyln-client, unchanged) against an lnfleet edge's --rpc-file.

  pyln_rpc.py SOCKET METHOD [JSON-PARAMS]

Calls METHOD through pyln-client's LightningRpc (by name with a JSON object, by position with a
JSON array, typed helpers for the methods it has them for) and prints one JSON line:
{"ok": true, "result": ...} or {"ok": false, "code": ..., "message": ...} for an RpcError.
"""
import json
import sys

from pyln.client import LightningRpc, RpcError


def main():
    path, method = sys.argv[1], sys.argv[2]
    params = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    rpc = LightningRpc(path)
    try:
        if method == "getinfo" and params is None:
            result = rpc.getinfo()
        elif method == "listpeers" and params is None:
            result = rpc.listpeers()
        elif method == "help" and params is None:
            result = rpc.help()
        elif method == "sendcustommsg" and isinstance(params, list):
            result = rpc.sendcustommsg(*params)
        elif method == "connect" and isinstance(params, list):
            result = rpc.connect(*params)
        elif method == "disconnect" and isinstance(params, list):
            result = rpc.disconnect(*params)
        elif method == "getroute" and isinstance(params, dict):
            result = rpc.getroute(**params)
        else:
            result = rpc.call(method, params)
    except RpcError as e:
        error = e.error if isinstance(e.error, dict) else {"message": str(e.error)}
        print(json.dumps({"ok": False, "code": error.get("code"), "message": error.get("message")}))
        return
    print(json.dumps({"ok": True, "result": result}))


if __name__ == "__main__":
    main()
