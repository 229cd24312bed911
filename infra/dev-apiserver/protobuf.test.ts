// The decoder against bodies built here field by field, as client-go's generated marshallers lay
// them out (non-pointer strings sent even when empty; kubectl's real bytes are in the conformance suite).
import { describe, expect, it } from 'vitest';
import { decodeProtobuf, isProtobuf, ProtobufError } from './protobuf.ts';

const varint = (v: number): number[] => {
  const out: number[] = [];
  let n = BigInt.asUintN(64, BigInt(v));
  do {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? b | 0x80 : b);
  } while (n > 0n);
  return out;
};
const len = (num: number, bytes: number[]) => [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
const str = (num: number, s: string) => len(num, [...Buffer.from(s, 'utf8')]);
const int = (num: number, v: number) => [...varint(num << 3), ...varint(v)];
const entry = (num: number, k: string, v: string) => len(num, [...str(1, k), ...str(2, v)]);

const envelope = (apiVersion: string, kind: string, raw: number[]) =>
  Buffer.from([
    0x6b,
    0x38,
    0x73,
    0x00,
    ...len(1, [...str(1, apiVersion), ...str(2, kind)]),
    ...len(2, raw),
    ...str(3, ''),
    ...str(4, ''),
  ]);

describe('protobuf request bodies', () => {
  it('decodes a Namespace as kubectl create namespace sends it', () => {
    const meta = [...str(1, 'foo'), ...str(2, ''), ...str(3, ''), ...entry(11, 'team', 'net'), ...len(8, [])];
    const body = envelope('v1', 'Namespace', [...len(1, meta), ...len(2, []), ...len(3, str(1, ''))]);
    expect(isProtobuf('application/vnd.kubernetes.protobuf', body)).toBe(true);
    expect(decodeProtobuf(body)).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'foo', labels: { team: 'net' } },
      spec: {},
      status: {},
    });
  });

  it('decodes a Pod with containers, and keeps a pointer field at zero', () => {
    const container = [
      ...str(1, 'c'),
      ...str(2, 'busybox'),
      ...str(3, 'sleep'),
      ...str(3, '3600'),
      ...len(8, []),
    ];
    const spec = [...len(2, container), ...str(3, 'Always'), ...int(4, 0), ...str(6, 'ClusterFirst')];
    const body = envelope('v1', 'Pod', [...len(1, str(1, 'p')), ...len(2, spec)]);
    expect(decodeProtobuf(body)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], resources: {} }],
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 0,
        dnsPolicy: 'ClusterFirst',
      },
    });
  });

  it('decodes a Lease with its micro-second times and a StatefulSet with replicas 0', () => {
    const renew = len(4, [...int(1, 1_800_000_000), ...int(2, 123_456_000)]);
    const lease = envelope('coordination.k8s.io/v1', 'Lease', [
      ...len(1, str(1, 'relay')),
      ...len(2, [...str(1, 'pod-a'), ...int(2, 15), ...renew]),
    ]);
    expect(decodeProtobuf(lease).spec).toEqual({
      holderIdentity: 'pod-a',
      leaseDurationSeconds: 15,
      renewTime: '2027-01-15T08:00:00.123456Z',
    });
    const sts = envelope('apps/v1', 'StatefulSet', [
      ...len(1, str(1, 's')),
      ...len(2, [...int(1, 0), ...str(5, 'svc')]),
    ]);
    expect(decodeProtobuf(sts).spec).toEqual({ replicas: 0, serviceName: 'svc' });
  });

  it('refuses a field or a kind it does not know rather than dropping it', () => {
    const volume = len(1, str(1, 'data'));
    expect(() => decodeProtobuf(envelope('v1', 'Pod', [...len(2, volume)]))).toThrow(/field 1 of spec/);
    expect(() => decodeProtobuf(envelope('v1', 'Secret', []))).toThrow(/does not decode Secret/);
    expect(() => decodeProtobuf(Buffer.from('k8s\0\x0a\xff'))).toThrow(ProtobufError);
  });
});
