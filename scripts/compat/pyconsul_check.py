#!/usr/bin/python3
"""python-consul (Debian python3-consul 0.7.1) against an agentd HTTP address.

usage: pyconsul_check.py HOST:PORT [HOST:PORT...]   (the first is written to,
every address is read from). Prints PASS/FAIL per check; exit 1 on a FAIL.
"""
import base64, json, sys, threading, time, uuid
import consul

addrs = sys.argv[1:] or ["127.0.0.1:8500"]
fails = 0


def check(name, cond, detail=""):
    global fails
    if cond:
        print("PASS", name)
    else:
        fails += 1
        print("FAIL", name, detail)


def client(addr, **kw):
    h, p = addr.rsplit(":", 1)
    return consul.Consul(host=h, port=int(p), **kw)


def run(waddr):
    global fails
    c = client(waddr)
    pfx = "compat-%s/" % uuid.uuid4().hex[:8]

    # KV basics
    check("put", c.kv.put(pfx + "a", "1") is True)
    check("put flags", c.kv.put(pfx + "b", "2", flags=42) is True)
    idx, v = c.kv.get(pfx + "b")
    check("get flags", v and v["Flags"] == 42 and v["Value"] == b"2", v)
    check("index str", isinstance(idx, str) and int(idx) > 0, idx)
    idx, v = c.kv.get(pfx + "missing")
    check("get missing None", v is None and int(idx) > 0, (idx, v))
    check("cas=0 existing", c.kv.put(pfx + "a", "x", cas=0) is False)
    _, va = c.kv.get(pfx + "a")
    check("cas match", c.kv.put(pfx + "a", "y", cas=va["ModifyIndex"]) is True)
    check("cas stale", c.kv.put(pfx + "a", "z", cas=va["ModifyIndex"]) is False)
    for k in ["sp ace", "uni/ü/ключ", "pct%2Fx", "q?x", "hash#x", "plus+x", "amp&x=y", "semi;x", "dir/"]:
        key = pfx + k
        check("put key %r" % k, c.kv.put(key, ("v:" + k).encode()) is True)
        _, v = c.kv.get(key)
        check("get key %r" % k, v is not None and v["Key"] == key and v["Value"] == ("v:" + k).encode(), v)
    _, keys = c.kv.get(pfx, keys=True)
    check("keys", keys is not None and pfx + "a" in keys and pfx + "dir/" in keys, keys)
    _, keys = c.kv.get(pfx, keys=True, separator="/")
    check("keys sep", keys is not None and pfx + "uni/" in keys and pfx + "uni/ü/ключ" not in keys, keys)
    _, items = c.kv.get(pfx, recurse=True)
    check("recurse", items is not None and len(items) == 11, len(items or []))
    check("empty value None", c.kv.put(pfx + "empty", "") and c.kv.get(pfx + "empty")[1]["Value"] is None)
    big = "x" * (512 * 1024)
    try:
        c.kv.put(pfx + "big", big)
        check("512KiB ok", True)
    except Exception as e:
        check("512KiB ok", False, repr(e))
    try:
        c.kv.put(pfx + "big2", big + "x")
        check("513KiB rejected", False, "accepted")
    except Exception as e:
        check("513KiB rejected", True, repr(e))
    check("delete", c.kv.delete(pfx + "a") is True)
    check("delete missing", c.kv.delete(pfx + "a") is True)
    check("delete cas=0", c.kv.delete(pfx + "b", cas=0) is False)
    _, vb = c.kv.get(pfx + "b")
    check("delete cas ok", c.kv.delete(pfx + "b", cas=vb["ModifyIndex"]) is True)

    # consistency modes on every address
    for a in addrs:
        for mode in ["default", "consistent", "stale"]:
            cc = client(a, consistency=mode)
            idx, v = cc.kv.get(pfx + "empty")
            check("read %s %s" % (a, mode), v is not None or mode == "stale", (idx, v))

    # blocking
    idx, _ = c.kv.get(pfx + "block")
    res = {}
    def waiter():
        t = time.time()
        res["r"] = c.kv.get(pfx + "block", index=idx, wait="5s")
        res["t"] = time.time() - t
    th = threading.Thread(target=waiter); th.start(); time.sleep(0.3)
    c.kv.put(pfx + "block", "v")
    th.join()
    check("blocking wakes", res["r"][1] is not None and res["t"] < 4, res)
    t = time.time()
    i2, _ = c.kv.get(pfx + "block", index=res["r"][0], wait="1s")
    el = time.time() - t
    check("blocking timeout same index", i2 == res["r"][0] and 0.9 < el < 2, (i2, el))

    # sessions
    s = c.session.create(name="s1", behavior="delete", ttl=20, lock_delay=0)
    check("session create", len(s) == 36, s)
    _, info = c.session.info(s)
    check("session info", info and info["Behavior"] == "delete" and info["TTL"] == "20s" and info["LockDelay"] == 0, info)
    _, lst = c.session.list()
    check("session list", any(x["ID"] == s for x in lst))
    _, nodes = c.session.node(info["Node"])
    check("session node", any(x["ID"] == s for x in nodes))
    r = c.session.renew(s)
    check("session renew", r and r["ID"] == s, r)
    try:
        c.session.renew(str(uuid.uuid4()))
        check("renew missing 404", False)
    except consul.NotFound as e:
        check("renew missing 404", "not found" in str(e), str(e))
    check("acquire", c.kv.put(pfx + "lock", "me", acquire=s) is True)
    _, lv = c.kv.get(pfx + "lock")
    check("lock fields", lv["Session"] == s and lv["LockIndex"] == 1, lv)
    s2 = c.session.create(lock_delay=0)
    check("acquire other", c.kv.put(pfx + "lock", "x", acquire=s2) is False)
    check("release other", c.kv.put(pfx + "lock", "x", release=s2) is False)
    check("release", c.kv.put(pfx + "lock", "x", release=s) is True)
    _, lv = c.kv.get(pfx + "lock")
    check("released", "Session" not in lv and lv["LockIndex"] == 1, lv)
    check("acquire again", c.kv.put(pfx + "lock", "x", acquire=s) is True)
    check("destroy", c.session.destroy(s) is True)
    _, lv = c.kv.get(pfx + "lock")
    check("delete behavior", lv is None, lv)
    check("destroy s2", c.session.destroy(s2) is True)
    try:
        c.session.create(ttl=5)
        check("ttl 5 rejected (client asserts)", False)
    except AssertionError:
        check("ttl 5 rejected (client asserts)", True)

    # txn
    ops = [
        {"KV": {"Verb": "set", "Key": pfx + "t1", "Value": base64.b64encode(b"v1").decode()}},
        {"KV": {"Verb": "get", "Key": pfx + "t1"}},
    ]
    import requests
    def txn(ops):
        if hasattr(c, "txn"):
            return c.txn.put(ops)
        r = requests.put("http://%s/v1/txn" % waddr, data=json.dumps(ops))
        if r.status_code != 200:
            raise consul.ConsulException("%d %s" % (r.status_code, r.text))
        return r.json()
    r = txn(ops)
    check("txn", r["Errors"] is None and len(r["Results"]) == 2 and r["Results"][1]["KV"]["Value"] == base64.b64encode(b"v1").decode(), r)
    try:
        r = txn([{"KV": {"Verb": "get", "Key": pfx + "nope"}}])
        check("txn error raises", False, r)
    except consul.ConsulException as e:
        check("txn error raises", "409" in str(e) or "rolled" in str(e) or "Errors" in str(e), str(e))

    # status, agent, operator, event
    check("leader", ":" in c.status.leader())
    check("peers", len(c.status.peers()) >= 1)
    self_ = c.agent.self()
    check("agent self", "Config" in self_ and "Member" in self_)
    mem = c.agent.members()
    check("members", len(mem) >= 1 and "Name" in mem[0] and "Status" in mem[0], mem[:1])
    rc = c.operator.raft_config()
    check("raft config", "Servers" in rc and "Index" in rc, rc)
    ev = c.event.fire("compat-ev", body="payload")
    check("event fire", "ID" in ev and ev["Name"] == "compat-ev", ev)
    _, evs = c.event.list(name="compat-ev")
    check("event list", any(e["ID"] == ev["ID"] and e["Payload"] in (b"payload", "payload", "cGF5bG9hZA==") for e in evs), evs)
    if hasattr(c, "snapshot"):  # python-consul2
        c.kv.put(pfx + "snap", "before")
        blob = c.snapshot.get()
        check("snapshot get", isinstance(blob, bytes) and len(blob) > 0, type(blob))
        c.kv.put(pfx + "snap", "after")
        c.snapshot.put(blob)
        _, v = c.kv.get(pfx + "snap")
        check("snapshot restore", v is not None and v["Value"] == b"before", v)
        blob2 = c.snapshot.get(stale=True)
        check("snapshot get stale", isinstance(blob2, bytes) and len(blob2) > 0)
    check("kv delete recurse", c.kv.delete(pfx, recurse=True) is True)
    _, items = c.kv.get(pfx, recurse=True)
    check("recurse gone", items is None, items)


for waddr in addrs:
    print("== writes through", waddr)
    run(waddr)
print("%d failed" % fails)
sys.exit(1 if fails else 0)
