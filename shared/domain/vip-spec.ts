// Validation of a Vip's spec: the webhook and the Vip handler share it, so both refuse exactly the
// same things with the same reasons. Pure: the subnet check takes the Subnet's fields as data.
import { Reason } from './errors.ts';
import {
  type CidrBlock,
  canonicalV4,
  canonicalV6,
  cidrContains,
  defaultGateway,
  type FamilyName,
  familyOf,
  isUsable,
  parseCidr,
} from './ip.ts';
import { isDnsLabel, isDnsSubdomain } from './labels.ts';
import { formatRequirement, type LabelRequirement, parseSelector } from './selector.ts';

export type VipType = '' | 'switch_lb_vip';
export const SWITCH_LB_VIP: VipType = 'switch_lb_vip';

/** A validated, normalised Vip spec. Empty optional fields are `undefined`, never `''`. */
export interface VipSpec {
  subnet: string;
  type: VipType;
  /** AAP: the namespace whose pods may become virtual parents. */
  namespace?: string;
  /** Canonical dotted quad. */
  v4ip?: string;
  /** Canonical RFC 5952 lower-case form. */
  v6ip?: string;
  /** Upper-case `00:00:00:AA:BB:CC`. */
  macAddress?: string;
  /** Parsed `key: value` items, trimmed, exact duplicates removed, original order kept. */
  selector: LabelRequirement[];
}

/** What a field is wrong with. `field` is a Kubernetes-style path such as `spec.v4ip` or `spec.selector[1]`. */
export interface FieldError {
  field: string;
  reason: Reason;
  message: string;
}

export type VipSpecParse = { ok: true; spec: VipSpec } | { ok: false; errors: FieldError[] };

/** The three uses of a Vip (SPEC §3). */
export type VipUsage = 'reservation' | 'aap' | 'switch_lb_vip';

export function vipUsage(spec: Pick<VipSpec, 'type' | 'namespace'>): VipUsage {
  if (spec.type === SWITCH_LB_VIP) return 'switch_lb_vip';
  return spec.namespace ? 'aap' : 'reservation';
}

/** The selector as status.selector shows it: `["key: value", ...]`. */
export function selectorStrings(spec: Pick<VipSpec, 'selector'>): string[] {
  return spec.selector.map(formatRequirement);
}

const MAC = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;

/**
 * Normalises a MAC to upper-case colon form, or returns why it is refused. Only unicast, non-zero
 * MACs are accepted: OVN puts the MAC in a port's `addresses`, where a group address makes no sense.
 */
export function normaliseMac(raw: string): string | { error: string } {
  const t = raw.trim();
  if (!MAC.test(t)) return { error: `"${raw}" is not a MAC address of the form 00:00:00:AA:BB:CC` };
  const mac = t.toUpperCase();
  if (mac === '00:00:00:00:00:00') return { error: `"${raw}" is the all-zero MAC` };
  if ((Number.parseInt(mac.slice(0, 2), 16) & 1) === 1) return { error: `"${raw}" is a multicast MAC` };
  return mac;
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

/** Validates and normalises a raw `Vip.spec`. All problems are reported at once. */
export function parseVipSpec(raw: unknown): VipSpecParse {
  const errors: FieldError[] = [];
  const err = (field: string, reason: Reason, message: string) => errors.push({ field, reason, message });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      errors: [{ field: 'spec', reason: Reason.InvalidSpec, message: 'spec must be an object' }],
    };
  }
  const r = raw as Record<string, unknown>;

  let subnet = '';
  if (typeof r.subnet !== 'string' || r.subnet.trim() === '') {
    err('spec.subnet', Reason.InvalidSpec, 'spec.subnet is required');
  } else {
    subnet = r.subnet.trim();
    if (!isDnsSubdomain(subnet))
      err('spec.subnet', Reason.InvalidSpec, `"${r.subnet}" is not a valid Subnet name`);
  }

  let type: VipType = '';
  if (!isBlank(r.type)) {
    if (r.type === SWITCH_LB_VIP) type = SWITCH_LB_VIP;
    else
      err(
        'spec.type',
        Reason.InvalidType,
        `type ${JSON.stringify(r.type)} is not supported; use "" or "switch_lb_vip"`,
      );
  }

  let namespace: string | undefined;
  if (!isBlank(r.namespace)) {
    if (typeof r.namespace !== 'string' || !isDnsLabel(r.namespace)) {
      err(
        'spec.namespace',
        Reason.InvalidSpec,
        `namespace ${JSON.stringify(r.namespace)} is not a valid namespace name`,
      );
    } else namespace = r.namespace;
  }
  // kube-ovn master accepts a namespace on a switch_lb_vip (it only names the port) and its
  // e2e objects carry one: it is kept and ignored, the Vip stays a front end, never an AAP.

  const v4ip = parseAddress(r.v4ip, 'v4', err);
  const v6ip = parseAddress(r.v6ip, 'v6', err);

  let macAddress: string | undefined;
  if (!isBlank(r.macAddress)) {
    if (typeof r.macAddress !== 'string')
      err('spec.macAddress', Reason.InvalidMAC, 'macAddress must be a string');
    else {
      const m = normaliseMac(r.macAddress);
      if (typeof m === 'string') macAddress = m;
      else err('spec.macAddress', Reason.InvalidMAC, m.error);
    }
  }

  let selector: LabelRequirement[] = [];
  if (!isBlank(r.selector)) {
    if (!Array.isArray(r.selector)) {
      err('spec.selector', Reason.InvalidSelector, 'selector must be a list of "key: value" strings');
    } else {
      const items: string[] = [];
      r.selector.forEach((item, i) => {
        if (typeof item === 'string') items.push(item);
        else
          err(
            `spec.selector[${i}]`,
            Reason.InvalidSelector,
            `selector item ${JSON.stringify(item)} is not a string`,
          );
      });
      // Keep the original index in messages even when non-strings were skipped above.
      const stringIndexes = r.selector.flatMap((item, i) => (typeof item === 'string' ? [i] : []));
      const parsed = parseSelector(items);
      if (parsed.ok) selector = parsed.requirements;
      else
        for (const e of parsed.errors) {
          err(`spec.selector[${stringIndexes[e.index]}]`, Reason.InvalidSelector, e.message);
        }
      if (r.selector.length > 0 && namespace === undefined) {
        err(
          'spec.selector',
          Reason.InvalidSelector,
          'selector needs spec.namespace (it selects pods of that namespace)',
        );
      }
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  const spec: VipSpec = { subnet, type, selector };
  if (namespace !== undefined) spec.namespace = namespace;
  if (v4ip !== undefined) spec.v4ip = v4ip;
  if (v6ip !== undefined) spec.v6ip = v6ip;
  if (macAddress !== undefined) spec.macAddress = macAddress;
  return { ok: true, spec };
}

function parseAddress(
  v: unknown,
  family: FamilyName,
  err: (field: string, reason: Reason, message: string) => void,
): string | undefined {
  const field = family === 'v4' ? 'spec.v4ip' : 'spec.v6ip';
  const want = family === 'v4' ? 'IPv4' : 'IPv6';
  if (isBlank(v)) return undefined;
  if (typeof v !== 'string') {
    err(field, Reason.InvalidAddress, `${field} must be a string`);
    return undefined;
  }
  const canon = family === 'v4' ? canonicalV4(v) : canonicalV6(v);
  if (canon === undefined) {
    const other = familyOf(v);
    const what =
      other && other !== family ? `an ${other === 'v4' ? 'IPv4' : 'IPv6'} address` : 'not an address';
    err(field, Reason.InvalidAddress, `"${v}" is ${what}; ${field} must be ${want}`);
  }
  return canon;
}

/** The Subnet facts the address check needs. `gateway` may list one address per family. */
export interface SubnetAddressing {
  name?: string;
  cidrBlock: string;
  gateway?: string;
}

/**
 * Checks the fixed addresses of a spec against its Subnet: in the CIDR of their family, usable
 * (not network/broadcast), not the gateway (default gateway: first usable address). An address
 * in excludeIps is allowed (SPEC §2: static allocation may use excluded addresses). Whether another
 * owner holds it is the allocator's call, not this one.
 */
export function checkAddressesInSubnet(
  spec: Pick<VipSpec, 'v4ip' | 'v6ip'>,
  subnet: SubnetAddressing,
): FieldError[] {
  const errors: FieldError[] = [];
  const label = subnet.name ? `subnet ${subnet.name}` : 'the subnet';
  const cidrs: CidrBlock[] = [];
  for (const part of subnet.cidrBlock.split(',')) {
    if (part.trim() === '') continue;
    const c = parseCidr(part);
    if (!c) {
      errors.push({
        field: 'spec.subnet',
        reason: Reason.InvalidSubnet,
        message: `${label} has an invalid cidrBlock "${subnet.cidrBlock}"`,
      });
      return errors;
    }
    cidrs.push(c);
  }
  const gateways = (subnet.gateway ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  for (const [family, addr] of [
    ['v4', spec.v4ip],
    ['v6', spec.v6ip],
  ] as const) {
    if (addr === undefined) continue;
    const field = family === 'v4' ? 'spec.v4ip' : 'spec.v6ip';
    const fam = family === 'v4' ? 'IPv4' : 'IPv6';
    const cidr = cidrs.find((c) => c.family === family);
    if (!cidr) {
      errors.push({
        field,
        reason: Reason.AddressOutOfRange,
        message: `${label} has no ${fam} CIDR, so ${addr} cannot be reserved there`,
      });
      continue;
    }
    if (!isUsable(cidr, addr)) {
      const inside = familyOf(addr) === family && cidrContains(cidr, addr);
      errors.push({
        field,
        reason: Reason.AddressOutOfRange,
        message: inside
          ? `${addr} is the network or broadcast address of ${cidr.text} in ${label}`
          : `${addr} is outside ${cidr.text} of ${label}`,
      });
      continue;
    }
    const gw = gateways.find((g) => familyOf(g) === family) ?? defaultGateway(cidr);
    const gwCanon = family === 'v4' ? canonicalV4(gw) : canonicalV6(gw);
    if (gwCanon === addr) {
      errors.push({ field, reason: Reason.AddressConflict, message: `${addr} is the gateway of ${label}` });
    }
  }
  return errors;
}

/** What the Vip was assigned (from its status) that later spec changes must not move. */
export interface AssignedVip {
  subnet: string;
  type: string;
  v4ip?: string;
  v6ip?: string;
  mac?: string;
}

/**
 * Refuses changes to fields that decided the assignment (SPEC §4). A fixed field that is empty
 * in the new spec is fine (the address stays); setting it to the value already assigned is fine
 * (kube-ovn allows it too). Nothing assigned yet (empty subnet) means nothing is immutable yet.
 */
export function checkImmutable(assigned: AssignedVip, next: VipSpec): FieldError[] {
  if (!assigned.subnet) return [];
  const errors: FieldError[] = [];
  const refuse = (field: string, was: string, now: string) =>
    errors.push({
      field,
      reason: Reason.ImmutableField,
      message: `${field} cannot change once assigned (assigned ${JSON.stringify(was)}, requested ${JSON.stringify(now)})`,
    });
  if (next.subnet !== assigned.subnet) refuse('spec.subnet', assigned.subnet, next.subnet);
  if (next.type !== (assigned.type ?? '')) refuse('spec.type', assigned.type ?? '', next.type);
  if (next.v4ip !== undefined && next.v4ip !== canonOr(assigned.v4ip, canonicalV4)) {
    refuse('spec.v4ip', assigned.v4ip ?? '', next.v4ip);
  }
  if (next.v6ip !== undefined && next.v6ip !== canonOr(assigned.v6ip, canonicalV6)) {
    refuse('spec.v6ip', assigned.v6ip ?? '', next.v6ip);
  }
  if (next.macAddress !== undefined && next.macAddress !== assigned.mac?.toUpperCase()) {
    refuse('spec.macAddress', assigned.mac ?? '', next.macAddress);
  }
  return errors;
}

function canonOr(v: string | undefined, canon: (s: string) => string | undefined): string | undefined {
  if (v === undefined || v === '') return undefined;
  return canon(v) ?? v;
}
