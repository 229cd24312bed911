// Validating admission of Vips: refuses what kube-ovn's webhook refuses (empty subnet, unknown
// subnet, invalid address, address outside the subnet's CIDR, address change after assignment)
// and what SPEC adds (malformed selector item, unknown type), with the same reasons the Vip
// handler uses (shared/domain/vip-spec.ts). Pure apart from the injected Subnet lookup.
import { besideAddressChange, besideView, besideVipDecision } from '../domain/beside-kube-ovn.ts';
import { Reason } from '../domain/errors.ts';
import type { SubnetResource, Vip } from '../domain/types.ts';
import { checkAddressesInSubnet, checkImmutable, type FieldError, parseVipSpec } from '../domain/vip-spec.ts';
import { assignedFromVip } from '../domain/vip-status.ts';
import { type AdmissionRequest, type AdmissionResponse, allow } from './review.ts';

/** Finds a Subnet by name; undefined when it does not exist. */
export type SubnetLookup = (name: string) => Promise<SubnetResource | undefined>;

function deny(req: AdmissionRequest, errors: FieldError[]): AdmissionResponse {
  return {
    uid: req.uid,
    allowed: false,
    status: {
      // kube-ovn's webhook answers 400; the API server prefixes the message with the webhook's name.
      code: 400,
      reason: 'BadRequest',
      message: errors.map((e) => e.message).join('; '),
      details: {
        name: req.name,
        kind: 'Vip',
        causes: errors.map((e) => ({ field: e.field, reason: e.reason, message: e.message })),
      },
    },
  };
}

const sameSpec = (a: unknown, b: unknown) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});

export async function reviewVip(
  req: AdmissionRequest,
  lookupSubnet: SubnetLookup,
  opts: { besideKubeOvn?: boolean } = {},
): Promise<AdmissionResponse> {
  if (req.kind?.group !== 'kubeovn.io' || req.kind.kind !== 'Vip') return allow(req.uid);
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow(req.uid);
  if (req.subResource) return allow(req.uid);
  const vip = req.object as Vip | undefined;
  const old = req.oldObject as Vip | undefined;
  if (!vip || typeof vip !== 'object') {
    return deny(req, [
      { field: 'spec', reason: Reason.InvalidSpec, message: 'the request carries no object' },
    ]);
  }
  // Metadata-only writes (labels, finalizers, the deletion itself) must go through even when the
  // Subnet has since gone, or a Vip could never lose its finalizer.
  if (req.operation === 'UPDATE' && old && sameSpec(vip.spec, old.spec)) return allow(req.uid);
  // Once deletion has started the handler is releasing what the spec named: a new spec would
  // only be shown, never applied, so it is refused outright.
  if (req.operation === 'UPDATE' && (old?.metadata?.deletionTimestamp || vip.metadata?.deletionTimestamp)) {
    return deny(req, [
      {
        field: 'spec',
        reason: Reason.DeletionInProgress,
        message: `Vip ${vip.metadata?.name ?? req.name ?? ''} is being deleted; its spec cannot change (create a new Vip instead)`,
      },
    ]);
  }

  const parsed = parseVipSpec(vip.spec);
  if (!parsed.ok) return deny(req, parsed.errors);
  const { spec } = parsed;

  if (opts.besideKubeOvn && req.operation === 'UPDATE') {
    const change = besideAddressChange(old?.spec, vip.spec ?? {});
    if (change) return deny(req, [{ field: 'spec', reason: Reason.AddressOwnedByKubeOvn, message: change }]);
  }
  if (req.operation === 'UPDATE' && old) {
    const assigned = assignedFromVip(old);
    if (assigned) {
      const errors = checkImmutable(assigned, spec);
      if (errors.length > 0) return deny(req, errors);
    }
  }

  const subnet = await lookupSubnet(spec.subnet);
  if (!subnet) {
    return deny(req, [
      { field: 'spec.subnet', reason: Reason.SubnetNotFound, message: `subnet ${spec.subnet} not found` },
    ]);
  }
  if (subnet.metadata.deletionTimestamp) {
    return deny(req, [
      {
        field: 'spec.subnet',
        reason: Reason.SubnetNotReady,
        message: `subnet ${spec.subnet} is being deleted; use another subnet`,
      },
    ]);
  }
  const errors = checkAddressesInSubnet(spec, {
    name: subnet.metadata.name,
    cidrBlock: subnet.spec?.cidrBlock ?? '',
    gateway: subnet.spec?.gateway,
  });
  if (errors.length > 0) return deny(req, errors);
  if (opts.besideKubeOvn) {
    const view = besideView({
      name: subnet.metadata.name,
      cidrBlock: subnet.spec?.cidrBlock ?? '',
      ...(subnet.spec?.excludeIps ? { excludeIps: subnet.spec.excludeIps } : {}),
      ...(subnet.metadata.annotations ? { annotations: subnet.metadata.annotations } : {}),
    });
    const refusal = view.ok ? besideVipDecision({ name: req.name ?? '', ...spec }, view.vipRange) : undefined;
    if (refusal?.kind === 'refuse')
      return deny(req, [{ field: 'spec', reason: Reason.AddressOwnedByKubeOvn, message: refusal.message }]);
  }
  return allow(req.uid);
}
