// Object names and namespaces checked as kube-apiserver's validation checks them (apimachinery's
// NameIsDNSSubdomain / NameIsDNSLabel), with its wording, so a client sees the same 422.
import type { ResourceInfo } from './resources.ts';
import type { ObjectMeta } from './selectors.ts';

export interface FieldCause {
  field: string;
  message: string;
}

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const LABEL_RE = new RegExp(`^${LABEL}$`);
const SUBDOMAIN_RE = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const LABEL_MAX = 63;
const SUBDOMAIN_MAX = 253;

const labelHelp = `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${LABEL}')`;
const subdomainHelp = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${LABEL}(\\.${LABEL})*')`;

export type NameRule = 'label' | 'subdomain';

/** Kinds whose names must be DNS-1123 labels (they become host or DNS names); the rest: subdomains. */
const LABEL_KINDS = new Set(['/namespaces', '/services', '/replicationcontrollers']);

export const nameRule = (info: Pick<ResourceInfo, 'group' | 'resource'>): NameRule =>
  LABEL_KINDS.has(`${info.group}/${info.resource}`) ? 'label' : 'subdomain';

/** The problems of one name under a rule, each as kube-apiserver words it (empty: valid). */
export function nameProblems(name: string, rule: NameRule): string[] {
  const max = rule === 'label' ? LABEL_MAX : SUBDOMAIN_MAX;
  const out: string[] = [];
  if (name.length > max) out.push(`must be no more than ${max} characters`);
  if (!(rule === 'label' ? LABEL_RE : SUBDOMAIN_RE).test(name))
    out.push(rule === 'label' ? labelHelp : subdomainHelp);
  return out;
}

const invalidValue = (value: string, why: string) => `Invalid value: ${JSON.stringify(value)}: ${why}`;

/**
 * The causes for metadata.name, metadata.generateName and metadata.namespace of an object about
 * to be created (after generateName was expanded). Empty: the object may be stored.
 */
export function metadataCauses(info: ResourceInfo, meta: ObjectMeta): FieldCause[] {
  const causes: FieldCause[] = [];
  const rule = nameRule(info);
  const name = meta.name ?? '';
  if (name === '' && !meta.generateName) {
    causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required' });
  } else if (name !== '') {
    for (const why of nameProblems(name, rule))
      causes.push({ field: 'metadata.name', message: invalidValue(name, why) });
  }
  // A prefix is checked as a name once a trailing '-' is dropped (apimachinery's MaskTrailingDash).
  if (meta.generateName) {
    const prefix = meta.generateName.replace(/-$/, '');
    for (const why of nameProblems(prefix || 'x', rule))
      causes.push({ field: 'metadata.generateName', message: invalidValue(meta.generateName, why) });
  }
  if (info.namespaced && meta.namespace) {
    for (const why of nameProblems(meta.namespace, 'label'))
      causes.push({ field: 'metadata.namespace', message: invalidValue(meta.namespace, why) });
  }
  causes.push(...labelAnnotationCauses(meta));
  return causes;
}

const QNAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QNAME_RE = new RegExp(`^${QNAME}$`);
const LABEL_VALUE_RE = new RegExp(`^(${QNAME})?$`);
const qnameHelp = `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${QNAME}')`;
const labelValueHelp = `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(${QNAME})?')`;
/** kube-apiserver's TotalAnnotationSizeLimitB */
const ANNOTATIONS_MAX = 256 * 1024;

/** apimachinery's IsQualifiedName: `[prefix/]name`, the prefix a DNS subdomain. */
function qualifiedNameProblems(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2)
    return [
      `a qualified name ${qnameHelp.replace('name part must', 'must')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0] ?? ''];
  const out: string[] = [];
  if (prefix !== undefined) {
    if (prefix === '') out.push('prefix part must be non-empty');
    else for (const why of nameProblems(prefix, 'subdomain')) out.push(`prefix part ${why}`);
  }
  if (!name) out.push('name part must be non-empty');
  else {
    if (name.length > LABEL_MAX) out.push(`name part must be no more than ${LABEL_MAX} characters`);
    if (!QNAME_RE.test(name)) out.push(qnameHelp);
  }
  return out;
}

/** Labels and annotations as ValidateObjectMeta checks them, on create and on update. */
export function labelAnnotationCauses(meta: ObjectMeta): FieldCause[] {
  const causes: FieldCause[] = [];
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    for (const why of qualifiedNameProblems(k))
      causes.push({ field: 'metadata.labels', message: invalidValue(k, why) });
    const value = String(v);
    if (value.length > LABEL_MAX)
      causes.push({
        field: 'metadata.labels',
        message: invalidValue(value, `must be no more than ${LABEL_MAX} characters`),
      });
    if (!LABEL_VALUE_RE.test(value))
      causes.push({ field: 'metadata.labels', message: invalidValue(value, labelValueHelp) });
  }
  let size = 0;
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    // Annotation keys are qualified names; their prefix is checked as a subdomain (lower case).
    for (const why of qualifiedNameProblems(k))
      causes.push({ field: 'metadata.annotations', message: invalidValue(k, why) });
    size += k.length + String(v).length;
  }
  if (size > ANNOTATIONS_MAX)
    causes.push({
      field: 'metadata.annotations',
      message: `Too long: must have at most ${ANNOTATIONS_MAX} bytes`,
    });
  return causes;
}
