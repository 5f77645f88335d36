// node-consul (npm "consul" 2.0.1) against agentd HTTP addresses.
// usage: NODE_PATH=<dir with node_modules> node nodeconsul_check.js HOST:PORT...
// Writes go through each address in turn; prints PASS/FAIL; exit 1 on a FAIL.
const Consul = require("consul");
const crypto = require("crypto");
const addrs = process.argv.slice(2);
let fails = 0;
function check(name, cond, detail) {
  if (cond) console.log("PASS", name);
  else { fails++; console.log("FAIL", name, JSON.stringify(detail)); }
}
function client(addr, extra) {
  const [host, port] = addr.split(":");
  return new Consul(Object.assign({ host, port }, extra || {}));
}
async function raises(name, fn, want) {
  try { const r = await fn(); check(name, false, { got: r }); }
  catch (e) { check(name, want(e), { msg: e.message, code: e.statusCode }); }
}

async function run(addr) {
  const c = client(addr);
  const pfx = "ncompat-" + crypto.randomBytes(4).toString("hex") + "/";
  check("set", (await c.kv.set(pfx + "a", "1")) === true);
  check("set flags", (await c.kv.set({ key: pfx + "b", value: "2", flags: 7 })) === true);
  let v = await c.kv.get(pfx + "b");
  check("get", v && v.Value === "2" && v.Flags === 7 && v.Key === pfx + "b", v);
  v = await c.kv.get({ key: pfx + "b", raw: true });
  check("get raw", Buffer.isBuffer(v) ? v.toString() === "2" : v === "2", v);
  v = await c.kv.get(pfx + "nope");
  check("get missing undefined", v === undefined, v);
  for (const k of ["sp ace", "ü/ключ", "pct%2F", "q?x", "h#x", "a&b=c", "tr/"]) {
    check("set " + k, (await c.kv.set(pfx + k, "v" + k)) === true);
    v = await c.kv.get(pfx + k);
    check("get " + k, v && v.Key === pfx + k && v.Value === "v" + k, v);
  }
  let keys = await c.kv.keys(pfx);
  check("keys", Array.isArray(keys) && keys.includes(pfx + "tr/") && keys.length === 9, keys);
  keys = await c.kv.keys({ key: pfx, separator: "/" });
  check("keys sep", keys.includes(pfx + "ü/") && keys.includes(pfx + "tr/"), keys);
  let all = await c.kv.get({ key: pfx, recurse: true });
  check("recurse", Array.isArray(all) && all.length === 9, all && all.length);
  check("cas 0", !(await c.kv.set({ key: pfx + "a", value: "x", cas: 0 }))); // papi turns a false body into undefined
  v = await c.kv.get(pfx + "a");
  check("cas ok", (await c.kv.set({ key: pfx + "a", value: "x", cas: v.ModifyIndex })) === true);
  await raises("conflicting flags 400", () => c.kv.set({ key: pfx + "a", value: "x", cas: 1, acquire: "x" }),
    (e) => e.statusCode === 400 && /Conflicting flags/.test(e.message));
  await raises("too large 413", () => c.kv.set(pfx + "big", "x".repeat(512 * 1024 + 1)), (e) => e.statusCode === 413);
  check("delete cas 0", !(await c.kv.del({ key: pfx + "a", cas: 0 })));
  check("delete cas 0 kept", (await c.kv.get(pfx + "a")) !== undefined);
  check("delete", (await c.kv.del(pfx + "a")) === true);

  // consistency and metadata on every address
  for (const a of addrs) {
    for (const mode of [{}, { consistent: true }, { stale: true }]) {
      const r = await client(a).kv.get(Object.assign({ key: pfx + "b", ctx: undefined }, mode));
      check("read " + a + " " + JSON.stringify(mode), r && r.Value === "2", r);
    }
  }
  // watch (blocking) on a key
  const w = c.watch({ method: c.kv.get, options: { key: pfx + "w", wait: "2s" } });
  const seen = new Promise((resolve) => {
    w.on("change", (data) => { if (data && data.Value === "go") resolve(true); });
    w.on("error", (e) => resolve(e));
  });
  setTimeout(() => c.kv.set(pfx + "w", "go"), 300);
  const got = await Promise.race([seen, new Promise((r) => setTimeout(() => r("timeout"), 5000))]);
  w.end();
  check("watch sees change", got === true, String(got));

  // sessions
  const s = await c.session.create({ name: "n", ttl: "15s", behavior: "delete", lockdelay: "1s" });
  check("session create", s && s.ID && s.ID.length === 36, s);
  let info = await c.session.info(s.ID);
  check("session info", info && info.ID === s.ID && info.TTL === "15s" && info.LockDelay === 1e9, info);
  const rn = await c.session.renew(s.ID);
  check("session renew", Array.isArray(rn) && rn[0].ID === s.ID, rn);
  check("session list", (await c.session.list()).some((x) => x.ID === s.ID));
  check("session node", (await c.session.node(info.Node)).some((x) => x.ID === s.ID));
  check("acquire", (await c.kv.set({ key: pfx + "l", value: "me", acquire: s.ID })) === true);
  v = await c.kv.get(pfx + "l");
  check("lock held", v.Session === s.ID && v.LockIndex === 1, v);
  check("release", (await c.kv.set({ key: pfx + "l", value: "me", release: s.ID })) === true);
  await c.session.destroy(s.ID); // node-consul discards the body
  info = await c.session.info(s.ID);
  check("info after destroy", info === undefined, info);
  await raises("renew gone 404", () => c.session.renew(s.ID), (e) => e.statusCode === 404);
  await raises("ttl bounds", () => c.session.create({ ttl: "1s" }), (e) => e.statusCode >= 400 && /Invalid Session TTL/.test(e.message));

  // transactions
  const b64 = (x) => Buffer.from(x).toString("base64");
  let r = await c.transaction.create([
    { KV: { Verb: "set", Key: pfx + "t", Value: b64("tv"), Flags: 3 } },
    { KV: { Verb: "get", Key: pfx + "t" } },
    { KV: { Verb: "check-index", Key: pfx + "t", Index: 0 } },
  ]).then((x) => x, (e) => e);
  check("txn check-index 409", r instanceof Error && r.statusCode === 409, { msg: r.message, code: r.statusCode });
  r = await c.transaction.create([
    { KV: { Verb: "set", Key: pfx + "t", Value: b64("tv"), Flags: 3 } },
    { KV: { Verb: "get", Key: pfx + "t" } },
    { KV: { Verb: "get-tree", Key: pfx } },
    { KV: { Verb: "delete", Key: pfx + "t" } },
  ]);
  check("txn ok", r.Errors === null && r.Results.length > 3 && r.Results[1].KV.Value === b64("tv") && r.Results[0].KV.Value === null, r);

  // status, agent, event
  check("leader", /:\d+$/.test(await c.status.leader()));
  check("peers", (await c.status.peers()).length >= 1);
  const self = await c.agent.self();
  check("self", self.Config && self.Member && self.Config.Datacenter, Object.keys(self));
  const mem = await c.agent.members();
  check("members", mem.length >= 1 && mem[0].Name && typeof mem[0].Status === "number", mem[0]);
  const ev = await c.event.fire("necompat", "pl");
  check("event fire", ev.ID && ev.Name === "necompat" && ev.Payload === "pl", ev);
  const evs = await c.event.list("necompat");
  check("event list", evs.some((e) => e.ID === ev.ID && e.Payload === "pl"), evs);
  check("delete recurse", (await c.kv.del({ key: pfx, recurse: true })) === true);
  check("recurse gone", (await c.kv.get({ key: pfx, recurse: true })) === undefined);
}

(async () => {
  for (const a of addrs) {
    console.log("== writes through", a);
    try { await run(a); } catch (e) { fails++; console.log("FAIL exception", e.message, e.statusCode, e.stack); }
  }
  console.log(fails + " failed");
  process.exit(fails ? 1 : 0);
})();
