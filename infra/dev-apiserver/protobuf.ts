// Protobuf request bodies of the built-in kinds this server serves, decoded to the JSON form the
// rest of the server works with. client-go's typed clients (so `kubectl create namespace`) send
// `application/vnd.kubernetes.protobuf`: the 4 bytes `k8s\0`, then a runtime.Unknown whose `raw`
// is the object. Field numbers are those of k8s.io/api's generated.proto (the wire contract).
// Only the fields listed below are understood: any other field is refused with a 415 naming it,
// never dropped silently. Values follow Go's JSON encoding: a plain (non-pointer) field at its zero
// value is left out (omitempty); a pointer field (flag 'p') keeps a zero it was sent with.

export class ProtobufError extends Error {}

type Scalar = 'string' | 'int' | 'bool' | 'bytes' | 'time' | 'microtime' | 'quantity' | 'intstr';
/** r: repeated; m: map<string, string>; q: map<string, Quantity>; p: pointer (zero values kept) */
type Flag = '' | 'r' | 'm' | 'q' | 'p';
type FieldDef = [name: string, type: Scalar | string, flag?: Flag];
type MessageDef = Record<number, FieldDef>;

const MESSAGES: Record<string, MessageDef> = {
  Unknown: {
    1: ['typeMeta', 'TypeMeta'],
    2: ['raw', 'bytes'],
    3: ['contentEncoding', 'string'],
    4: ['contentType', 'string'],
  },
  TypeMeta: { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] },
  ObjectMeta: {
    1: ['name', 'string'],
    2: ['generateName', 'string'],
    3: ['namespace', 'string'],
    4: ['selfLink', 'string'],
    5: ['uid', 'string'],
    6: ['resourceVersion', 'string'],
    7: ['generation', 'int'],
    8: ['creationTimestamp', 'time'],
    9: ['deletionTimestamp', 'time'],
    10: ['deletionGracePeriodSeconds', 'int', 'p'],
    11: ['labels', 'string', 'm'],
    12: ['annotations', 'string', 'm'],
    13: ['ownerReferences', 'OwnerReference', 'r'],
    14: ['finalizers', 'string', 'r'],
  },
  OwnerReference: {
    1: ['kind', 'string'],
    3: ['name', 'string'],
    4: ['uid', 'string'],
    5: ['apiVersion', 'string'],
    6: ['controller', 'bool', 'p'],
    7: ['blockOwnerDeletion', 'bool', 'p'],
  },
  LabelSelector: {
    1: ['matchLabels', 'string', 'm'],
    2: ['matchExpressions', 'LabelSelectorRequirement', 'r'],
  },
  LabelSelectorRequirement: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'string', 'r'] },
  ObjectReference: {
    1: ['kind', 'string'],
    2: ['namespace', 'string'],
    3: ['name', 'string'],
    4: ['uid', 'string'],
    5: ['apiVersion', 'string'],
    6: ['resourceVersion', 'string'],
    7: ['fieldPath', 'string'],
  },
  DeleteOptions: {
    1: ['gracePeriodSeconds', 'int', 'p'],
    2: ['preconditions', 'Preconditions'],
    3: ['orphanDependents', 'bool', 'p'],
    4: ['propagationPolicy', 'string', 'p'],
    5: ['dryRun', 'string', 'r'],
  },
  Preconditions: { 1: ['uid', 'string', 'p'], 2: ['resourceVersion', 'string', 'p'] },
  // core/v1
  Namespace: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'NamespaceSpec'],
    3: ['status', 'NamespaceStatus'],
  },
  NamespaceSpec: { 1: ['finalizers', 'string', 'r'] },
  NamespaceStatus: { 1: ['phase', 'string'] },
  Pod: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodSpec'], 3: ['status', 'PodStatus'] },
  PodTemplateSpec: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodSpec'] },
  PodSpec: {
    2: ['containers', 'Container', 'r'],
    3: ['restartPolicy', 'string'],
    4: ['terminationGracePeriodSeconds', 'int', 'p'],
    5: ['activeDeadlineSeconds', 'int', 'p'],
    6: ['dnsPolicy', 'string'],
    7: ['nodeSelector', 'string', 'm'],
    8: ['serviceAccountName', 'string'],
    9: ['serviceAccount', 'string'],
    10: ['nodeName', 'string'],
    11: ['hostNetwork', 'bool'],
    15: ['imagePullSecrets', 'LocalObjectReference', 'r'],
    16: ['hostname', 'string'],
    17: ['subdomain', 'string'],
    19: ['schedulerName', 'string'],
    20: ['initContainers', 'Container', 'r'],
    21: ['automountServiceAccountToken', 'bool', 'p'],
    22: ['tolerations', 'Toleration', 'r'],
    24: ['priorityClassName', 'string'],
    25: ['priority', 'int', 'p'],
    30: ['enableServiceLinks', 'bool', 'p'],
    31: ['preemptionPolicy', 'string', 'p'],
  },
  LocalObjectReference: { 1: ['name', 'string'] },
  Toleration: {
    1: ['key', 'string'],
    2: ['operator', 'string'],
    3: ['value', 'string'],
    4: ['effect', 'string'],
    5: ['tolerationSeconds', 'int', 'p'],
  },
  Container: {
    1: ['name', 'string'],
    2: ['image', 'string'],
    3: ['command', 'string', 'r'],
    4: ['args', 'string', 'r'],
    5: ['workingDir', 'string'],
    6: ['ports', 'ContainerPort', 'r'],
    7: ['env', 'EnvVar', 'r'],
    8: ['resources', 'ResourceRequirements'],
    9: ['volumeMounts', 'VolumeMount', 'r'],
    13: ['terminationMessagePath', 'string'],
    14: ['imagePullPolicy', 'string'],
    16: ['stdin', 'bool'],
    17: ['stdinOnce', 'bool'],
    18: ['tty', 'bool'],
    20: ['terminationMessagePolicy', 'string'],
  },
  ContainerPort: {
    1: ['name', 'string'],
    2: ['hostPort', 'int'],
    3: ['containerPort', 'int'],
    4: ['protocol', 'string'],
    5: ['hostIP', 'string'],
  },
  EnvVar: { 1: ['name', 'string'], 2: ['value', 'string'] },
  ResourceRequirements: { 1: ['limits', 'quantity', 'q'], 2: ['requests', 'quantity', 'q'] },
  VolumeMount: {
    1: ['name', 'string'],
    2: ['readOnly', 'bool'],
    3: ['mountPath', 'string'],
    4: ['subPath', 'string'],
    5: ['mountPropagation', 'string', 'p'],
    6: ['subPathExpr', 'string'],
  },
  PodStatus: {
    1: ['phase', 'string'],
    3: ['message', 'string'],
    4: ['reason', 'string'],
    5: ['hostIP', 'string'],
    6: ['podIP', 'string'],
    7: ['startTime', 'time'],
    9: ['qosClass', 'string'],
    11: ['nominatedNodeName', 'string'],
    12: ['podIPs', 'PodIP', 'r'],
  },
  PodIP: { 1: ['ip', 'string'] },
  Event: {
    1: ['metadata', 'ObjectMeta'],
    2: ['involvedObject', 'ObjectReference'],
    3: ['reason', 'string'],
    4: ['message', 'string'],
    5: ['source', 'EventSource'],
    6: ['firstTimestamp', 'time'],
    7: ['lastTimestamp', 'time'],
    8: ['count', 'int'],
    9: ['type', 'string'],
    10: ['eventTime', 'microtime'],
    11: ['series', 'CoreEventSeries'],
    12: ['action', 'string'],
    13: ['related', 'ObjectReference'],
    14: ['reportingComponent', 'string'],
    15: ['reportingInstance', 'string'],
  },
  EventSource: { 1: ['component', 'string'], 2: ['host', 'string'] },
  CoreEventSeries: { 1: ['count', 'int'], 2: ['lastObservedTime', 'microtime'] },
  // events.k8s.io/v1
  EventsEvent: {
    1: ['metadata', 'ObjectMeta'],
    2: ['eventTime', 'microtime'],
    3: ['series', 'CoreEventSeries'],
    4: ['reportingController', 'string'],
    5: ['reportingInstance', 'string'],
    6: ['action', 'string'],
    7: ['reason', 'string'],
    8: ['regarding', 'ObjectReference'],
    9: ['related', 'ObjectReference'],
    10: ['note', 'string'],
    11: ['type', 'string'],
    12: ['deprecatedSource', 'EventSource'],
    13: ['deprecatedFirstTimestamp', 'time'],
    14: ['deprecatedLastTimestamp', 'time'],
    15: ['deprecatedCount', 'int'],
  },
  // apps/v1
  StatefulSet: {
    1: ['metadata', 'ObjectMeta'],
    2: ['spec', 'StatefulSetSpec'],
    3: ['status', 'StatefulSetStatus'],
  },
  StatefulSetSpec: {
    1: ['replicas', 'int', 'p'],
    2: ['selector', 'LabelSelector'],
    3: ['template', 'PodTemplateSpec'],
    5: ['serviceName', 'string'],
    6: ['podManagementPolicy', 'string'],
    7: ['updateStrategy', 'StatefulSetUpdateStrategy'],
    8: ['revisionHistoryLimit', 'int', 'p'],
    9: ['minReadySeconds', 'int'],
  },
  StatefulSetUpdateStrategy: {
    1: ['type', 'string'],
    2: ['rollingUpdate', 'RollingUpdateStatefulSetStrategy'],
  },
  RollingUpdateStatefulSetStrategy: { 1: ['partition', 'int', 'p'], 2: ['maxUnavailable', 'intstr'] },
  StatefulSetStatus: {
    1: ['observedGeneration', 'int'],
    2: ['replicas', 'int'],
    3: ['readyReplicas', 'int'],
    4: ['currentReplicas', 'int'],
    5: ['updatedReplicas', 'int'],
    6: ['currentRevision', 'string'],
    7: ['updateRevision', 'string'],
    9: ['collisionCount', 'int', 'p'],
    11: ['availableReplicas', 'int'],
  },
  // coordination.k8s.io/v1
  Lease: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'LeaseSpec'] },
  LeaseSpec: {
    1: ['holderIdentity', 'string', 'p'],
    2: ['leaseDurationSeconds', 'int', 'p'],
    3: ['acquireTime', 'microtime'],
    4: ['renewTime', 'microtime'],
    5: ['leaseTransitions', 'int', 'p'],
    6: ['strategy', 'string', 'p'],
    7: ['preferredHolder', 'string', 'p'],
  },
};

/** The message of each apiVersion + kind this server decodes. */
const TOP: Record<string, string> = {
  'v1/Namespace': 'Namespace',
  'v1/Pod': 'Pod',
  'v1/Event': 'Event',
  'v1/DeleteOptions': 'DeleteOptions',
  'meta.k8s.io/v1/DeleteOptions': 'DeleteOptions',
  'apps/v1/StatefulSet': 'StatefulSet',
  'coordination.k8s.io/v1/Lease': 'Lease',
  'events.k8s.io/v1/Event': 'EventsEvent',
};

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new ProtobufError('varint too long');
  }
  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.end) throw new ProtobufError('truncated length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

const text = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
const int64 = (v: bigint) => Number(BigInt.asIntN(64, v));

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return micro ? `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${base}Z`;
}

function decodeScalar(type: Scalar, wire: number, r: Reader, path: string): unknown {
  if (type === 'int' || type === 'bool') {
    if (wire !== 0) throw new ProtobufError(`${path}: expected a varint`);
    const v = r.varint();
    return type === 'bool' ? v !== 0n : int64(v);
  }
  if (wire !== 2) throw new ProtobufError(`${path}: expected a length-delimited field`);
  const b = r.bytes();
  if (type === 'string') return text(b);
  if (type === 'bytes') return b;
  const inner = decodeMessage(
    type === 'quantity'
      ? { 1: ['string', 'string'] }
      : type === 'intstr'
        ? { 1: ['type', 'int'], 2: ['intVal', 'int'], 3: ['strVal', 'string'] }
        : { 1: ['seconds', 'int'], 2: ['nanos', 'int'] },
    new Reader(b),
    path,
    false,
  );
  if (type === 'quantity') return inner.string ?? '';
  if (type === 'intstr') return inner.type === 1 ? (inner.strVal ?? '') : (inner.intVal ?? 0);
  const seconds = (inner.seconds as number | undefined) ?? 0;
  const nanos = (inner.nanos as number | undefined) ?? 0;
  // The zero time is what Go's JSON writes as null: leave it out.
  if (seconds === 0 && nanos === 0) return undefined;
  return rfc3339(seconds, nanos, type === 'microtime');
}

const isZero = (v: unknown) => v === '' || v === 0 || v === false;

function decodeMessage(def: MessageDef, r: Reader, path: string, omitZero = true): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  while (r.pos < r.end) {
    const key = Number(r.varint());
    const num = key >>> 3;
    const wire = key & 7;
    const field = def[num];
    if (!field)
      throw new ProtobufError(
        `field ${num} of ${path || 'the object'} is not understood by the development API server's protobuf decoder; send it as JSON`,
      );
    const [name, type, flag = ''] = field;
    const where = path ? `${path}.${name}` : name;
    let value: unknown;
    if (flag === 'm' || flag === 'q') {
      if (wire !== 2) throw new ProtobufError(`${where}: expected a map entry`);
      const entry = decodeMessage(
        { 1: ['key', 'string'], 2: ['value', flag === 'q' ? 'quantity' : 'string'] },
        new Reader(r.bytes()),
        where,
        false,
      );
      out[name] ??= {};
      const map = out[name] as Record<string, unknown>;
      map[(entry.key as string | undefined) ?? ''] = entry.value ?? '';
      continue;
    }
    if (type in MESSAGES) {
      if (wire !== 2) throw new ProtobufError(`${where}: expected a message`);
      const b = r.bytes();
      value = decodeMessage(MESSAGES[type] as MessageDef, new Reader(b), where);
    } else value = decodeScalar(type as Scalar, wire, r, where);
    if (flag === 'r') {
      out[name] ??= [];
      (out[name] as unknown[]).push(value);
      continue;
    }
    if (value === undefined || (omitZero && flag !== 'p' && isZero(value))) continue;
    out[name] = value;
  }
  return out;
}

/** Whether a request body is in Kubernetes' protobuf envelope. */
export const isProtobuf = (contentType: string | undefined, body: Buffer) =>
  (contentType ?? '').startsWith(PROTOBUF) || (body.length >= 4 && body.subarray(0, 4).equals(MAGIC));

/** Decodes a `k8s\0` + runtime.Unknown body into the object's JSON form. */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw new ProtobufError('the body does not start with the protobuf envelope prefix k8s\\0');
  const env = decodeMessage(MESSAGES.Unknown as MessageDef, new Reader(body.subarray(4)), '', false);
  const tm = (env.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  if (env.contentEncoding)
    throw new ProtobufError(`unsupported content encoding ${String(env.contentEncoding)}`);
  const message = TOP[`${tm.apiVersion}/${tm.kind}`];
  if (!message)
    throw new ProtobufError(
      `the development API server does not decode ${tm.kind ?? '?'} (${tm.apiVersion ?? '?'}) from protobuf; send it as JSON`,
    );
  const raw = (env.raw as Uint8Array | undefined) ?? new Uint8Array();
  const obj = decodeMessage(MESSAGES[message] as MessageDef, new Reader(raw), '');
  return { apiVersion: tm.apiVersion, kind: tm.kind, ...obj };
}
