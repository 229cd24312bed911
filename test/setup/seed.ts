// What the seed document prints for `kubectl get vip` (its header, in order): the contract the
// CRD's printer columns, the dev API server's Table form and every kubectl test check against.
export const SEED_VIP_HEADER = ['NAME', 'V4IP', 'PV4IP', 'MAC', 'PMAC', 'V6IP', 'PV6IP', 'SUBNET', 'READY'];
