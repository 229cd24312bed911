// Every Redis key the allocator uses, declared once, for TypeScript and for the Lua scripts.
//
// A subnet's keys share the hash tag {ipam:<subnet>} (one Cluster slot). Its fixed keys are passed
// to every subnet script as KEYS 1-4, in `subnetKeys` order. Its bitmap pages are found inside a
// script (by cursor, by position), so they cannot be listed before the call: scripts name them with
// `bitmapKey` below, from the same tag (same slot, so Cluster accepts them). The MAC registry is
// cluster-wide under its own tag; a script that changes it gets MAC_KEYS as its last two KEYS.

/** The prefix "{ipam:<subnet>}:" every key of the subnet starts with. */
export const subnetTag = (subnet: string) => `{ipam:${subnet}}:`;

/** A subnet script's KEYS: state hash, owner index (zset), family 4 and family 6 page sets. */
export const subnetKeys = (subnet: string): [string, string, string, string] => {
  const t = subnetTag(subnet);
  return [`${t}state`, `${t}idx`, `${t}4:pg`, `${t}6:pg`];
};
export const SUBNET_KEY_COUNT = 4;

/** The state hash of a subnet. */
export const stateKey = (subnet: string) => subnetKeys(subnet)[0];

/** The MAC registry (hash: h:<holder> -> MAC, m:<MAC> -> holder, #next) and its in-use bitmap. */
export const MAC_MAP = '{ipam-mac}:map';
export const MAC_USED = '{ipam-mac}:u';
export const MAC_KEYS: [string, string] = [MAC_MAP, MAC_USED];

/** Lua: the names of a subnet script's KEYS (see subnetKeys), and how a bitmap page is named. */
export const SUBNET_KEYS_LUA = `
local S, IDX = KEYS[1], KEYS[2]
local PG = {['4'] = KEYS[3], ['6'] = KEYS[4]}
local T = string.sub(S, 1, -6)
-- a bitmap page: kind 'u' used, 'e' ever used, 'x' excluded
local function bitmapKey(f, kind, page) return T .. f .. ':' .. kind .. ':' .. page end
`;

/** Lua: the MAC registry's keys, passed at KEYS[first] and KEYS[first + 1]. */
export const macKeysLua = (first: number) => `
local MAP, MU = KEYS[${first}], KEYS[${first + 1}]
`;

// The AAP parent index (shared/reconcile/aap-index.ts): per (namespace, Vip) a hash of the pods
// that name the Vip in `ovn.kubernetes.io/aaps` (pod name -> write token), and the marker saying
// the index is complete. One hash tag for all of it: one Cluster slot, so a script may touch
// several Vips' hashes, and a shard that loses its data loses the marker with the hashes (the
// index is then not trusted until it is rebuilt). `scope` keeps apart tests that share one Redis
// between API servers; a deployment uses none.

/** The prefix "{aap-index}:" (or "{aap-index:<scope>}:") of every key of the index. */
export const aapIndexTag = (scope = '') => `{aap-index${scope ? `:${scope}` : ''}}:`;

/** The hash of the pods of `namespace` that name `vip` (names are DNS labels: no '/'). */
export const aapNamedKey = (scope: string, namespace: string, vip: string) =>
  `${aapIndexTag(scope)}n:${namespace}/${vip}`;

/** Present once every pod that names a Vip has been recorded (see aap-index.ts). */
export const aapCompleteKey = (scope = '') => `${aapIndexTag(scope)}complete`;
