#!/usr/bin/python3
"""Locks, semaphores and ephemeral keys as raw-HTTP clients build them
(Consul's leader-election and semaphore guides), against agentd.

usage: locks_check.py HOST:PORT [HOST:PORT...]   (clients spread over the
addresses: with a cluster, contenders talk to different servers).
Prints PASS/FAIL per check; exit 1 on a FAIL.
"""
import base64, json, sys, threading, time, uuid
import requests

addrs = sys.argv[1:] or ["127.0.0.1:8500"]
fails = 0
lock = threading.Lock()


def check(name, cond, detail=""):
    global fails
    with lock:
        if cond:
            print("PASS", name)
        else:
            fails += 1
            print("FAIL", name, detail)


def url(i, path):
    return "http://%s%s" % (addrs[i % len(addrs)], path)


def session(i, **body):
    r = requests.put(url(i, "/v1/session/create"), data=json.dumps(body))
    r.raise_for_status()
    return r.json()["ID"]


pfx = "locks-%s/" % uuid.uuid4().hex[:8]

# 1. Leader election: N contenders loop acquire/hold/release; at most one holds.
holders = []
held_now = [0]
violations = []
def contender(i, rounds):
    s = session(i, Name="contender-%d" % i, LockDelay="0s", TTL="30s")
    got = 0
    idx = 0
    while got < rounds:
        r = requests.put(url(i, "/v1/kv/%selection?acquire=%s" % (pfx, s)), data="node-%d" % i)
        if r.json() is True:
            with lock:
                held_now[0] += 1
                if held_now[0] > 1:
                    violations.append(i)
            g = requests.get(url(i, "/v1/kv/%selection?consistent" % pfx)).json()[0]
            if g["Session"] != s:
                violations.append(("session", i, g))
            time.sleep(0.01)
            with lock:
                held_now[0] -= 1
            rr = requests.put(url(i, "/v1/kv/%selection?release=%s" % (pfx, s)))
            if rr.json() is not True:
                violations.append(("release", i))
            got += 1
        else:
            # wait for the holder to let go (blocking query)
            r = requests.get(url(i, "/v1/kv/%selection?index=%d&wait=2s" % (pfx, idx)))
            idx = int(r.headers["X-Consul-Index"])
    requests.put(url(i, "/v1/session/destroy/%s" % s))
ths = [threading.Thread(target=contender, args=(i, 5)) for i in range(6)]
t0 = time.time()
for t in ths: t.start()
for t in ths: t.join(60)
check("election: mutual exclusion over %d servers" % len(addrs), not violations and not any(t.is_alive() for t in ths), violations)
e = requests.get(url(0, "/v1/kv/%selection" % pfx)).json()[0]
check("election: LockIndex counts 30 acquisitions", e["LockIndex"] == 30 and "Session" not in e, e)

# 2. Semaphore (Consul's guide): contender keys + CAS on .lock with Limit/Holders.
LIMIT = 2
inside = [0]
max_inside = [0]
sem_errors = []
def sem_worker(i):
    s = session(i, Name="sem-%d" % i, LockDelay="0s")
    r = requests.put(url(i, "/v1/kv/%ssem/%s?acquire=%s" % (pfx, s, s)), data="w%d" % i)
    if r.json() is not True:
        sem_errors.append(("contender", i))
        return
    for _ in range(200):
        ents = requests.get(url(i, "/v1/kv/%ssem/?recurse&consistent" % pfx)).json()
        live = {e["Session"] for e in ents if e.get("Session")}
        lk = next((e for e in ents if e["Key"] == pfx + "sem/.lock"), None)
        mi = lk["ModifyIndex"] if lk else 0
        cur = json.loads(base64.b64decode(lk["Value"])) if lk and lk["Value"] else {"Limit": LIMIT, "Holders": []}
        holders_ = [h for h in cur["Holders"] if h in live]
        if len(holders_) < cur["Limit"]:
            new = {"Limit": LIMIT, "Holders": holders_ + [s]}
            ok = requests.put(url(i, "/v1/kv/%ssem/.lock?cas=%d" % (pfx, mi)), data=json.dumps(new)).json()
            if ok is True:
                with lock:
                    inside[0] += 1
                    max_inside[0] = max(max_inside[0], inside[0])
                time.sleep(0.05)
                with lock:
                    inside[0] -= 1
                # leave: remove ourselves with CAS
                while True:
                    lk = requests.get(url(i, "/v1/kv/%ssem/.lock?consistent" % pfx)).json()[0]
                    cur = json.loads(base64.b64decode(lk["Value"]))
                    cur["Holders"] = [h for h in cur["Holders"] if h != s]
                    if requests.put(url(i, "/v1/kv/%ssem/.lock?cas=%d" % (pfx, lk["ModifyIndex"])), data=json.dumps(cur)).json() is True:
                        break
                requests.put(url(i, "/v1/session/destroy/%s" % s))
                return
            continue
        requests.get(url(i, "/v1/kv/%ssem/?recurse&index=%d&wait=1s" % (pfx, mi)))
    sem_errors.append(("starved", i))
ths = [threading.Thread(target=sem_worker, args=(i,)) for i in range(5)]
for t in ths: t.start()
for t in ths: t.join(60)
check("semaphore: at most %d inside" % LIMIT, max_inside[0] <= LIMIT and max_inside[0] >= 1 and not sem_errors, (max_inside, sem_errors))
lk = requests.get(url(0, "/v1/kv/%ssem/.lock" % pfx)).json()[0]
check("semaphore: holders empty at end", json.loads(base64.b64decode(lk["Value"]))["Holders"] == [], lk)
r = requests.get(url(0, "/v1/kv/%ssem/?keys" % pfx)).json()
check("semaphore: contender keys released (not deleted)", pfx + "sem/.lock" in r, r)

# 3. Ephemeral key: Behavior=delete; destroy deletes it and wakes a blocking reader.
s = session(1, Behavior="delete", LockDelay="0s")
requests.put(url(1, "/v1/kv/%sephemeral?acquire=%s" % (pfx, s)), data="x")
r = requests.get(url(2, "/v1/kv/%sephemeral" % pfx))
idx = int(r.headers["X-Consul-Index"])
res = {}
def reader():
    t = time.time()
    rr = requests.get(url(2, "/v1/kv/%sephemeral?index=%d&wait=5s" % (pfx, idx)))
    res["code"], res["t"], res["idx"] = rr.status_code, time.time() - t, int(rr.headers["X-Consul-Index"])
th = threading.Thread(target=reader); th.start(); time.sleep(0.3)
requests.put(url(0, "/v1/session/destroy/%s" % s))
th.join()
check("ephemeral: destroy deletes and wakes the watcher with 404", res.get("code") == 404 and res["t"] < 4 and res["idx"] > idx, res)

# 4. Release behavior: destroy releases, keeps the value, bumps ModifyIndex.
s = session(0, LockDelay="0s")
requests.put(url(0, "/v1/kv/%srel?acquire=%s" % (pfx, s)), data="keep")
before = requests.get(url(0, "/v1/kv/%srel" % pfx)).json()[0]
requests.put(url(2, "/v1/session/destroy/%s" % s))
after = requests.get(url(1, "/v1/kv/%srel?consistent" % pfx)).json()[0]
check("release behavior", "Session" not in after and after["ModifyIndex"] > before["ModifyIndex"] and after["LockIndex"] == 1 and base64.b64decode(after["Value"]) == b"keep", after)

# 5. TTL expiry (10s TTL, invalidated within 2x TTL), through a follower.
if True:
    s = session(len(addrs) - 1, TTL="10s", Behavior="delete", LockDelay="0s")
    requests.put(url(len(addrs) - 1, "/v1/kv/%sttl?acquire=%s" % (pfx, s)), data="t")
    t0 = time.time()
    gone = None
    while time.time() - t0 < 25:
        r = requests.get(url(0, "/v1/session/info/%s" % s)).json()
        if r == []:
            gone = time.time() - t0
            break
        time.sleep(0.2)
    k = requests.get(url(0, "/v1/kv/%sttl" % pfx))
    check("ttl: session expires in [10s, 20s+1s]", gone is not None and 9.5 <= gone <= 21, gone)
    check("ttl: delete behavior removed the key", k.status_code == 404, k.status_code)

requests.delete(url(0, "/v1/kv/%s?recurse" % pfx))
print("%d failed" % fails)
sys.exit(1 if fails else 0)
