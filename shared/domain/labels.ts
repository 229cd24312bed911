// Kubernetes name and label syntax (apimachinery's validation rules), used to validate Vip
// selectors and namespaces before they reach a list call or a match.

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** RFC 1123 label: what a namespace name must be. */
export function isDnsLabel(s: string): boolean {
  return s.length > 0 && s.length <= 63 && DNS_LABEL.test(s);
}

/** RFC 1123 subdomain: dot-separated DNS labels, at most 253 characters. */
export function isDnsSubdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every(isDnsLabel);
}

/** A label key: `[prefix/]name`, prefix a DNS subdomain, name at most 63 characters. */
export function isLabelKey(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const prefix = s.slice(0, slash);
    const name = s.slice(slash + 1);
    return isDnsSubdomain(prefix) && isLabelName(name);
  }
  return isLabelName(s);
}

function isLabelName(s: string): boolean {
  return s.length > 0 && s.length <= 63 && LABEL_NAME.test(s);
}

/** A label value: empty, or at most 63 characters of the label-name alphabet. */
export function isLabelValue(s: string): boolean {
  return s === '' || isLabelName(s);
}
