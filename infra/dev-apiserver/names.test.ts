import { describe, expect, it } from 'vitest';
import { labelAnnotationCauses, metadataCauses, nameProblems, nameRule } from './names.ts';
import { BUILTIN_RESOURCES, type ResourceInfo } from './resources.ts';

const info = (group: string, resource: string) =>
  BUILTIN_RESOURCES.find((r) => r.group === group && r.resource === resource) as ResourceInfo;

describe('names as kube-apiserver validates them', () => {
  it('wants DNS-1123 labels for namespaces and subdomains for the rest', () => {
    expect(nameRule(info('', 'namespaces'))).toBe('label');
    expect(nameRule(info('', 'pods'))).toBe('subdomain');
    expect(nameRule(info('coordination.k8s.io', 'leases'))).toBe('subdomain');
    expect(nameRule({ group: 'kubeovn.io', resource: 'vips' })).toBe('subdomain');
  });

  it('refuses upper case, dots in labels, edges that are not alphanumeric, and lengths past 63 / 253', () => {
    expect(nameProblems('web-0', 'label')).toEqual([]);
    expect(nameProblems('a.b', 'subdomain')).toEqual([]);
    expect(nameProblems('a.b', 'label')).toHaveLength(1);
    expect(nameProblems('Web', 'subdomain')[0]).toMatch(/lowercase RFC 1123 subdomain/);
    expect(nameProblems('-web', 'label')[0]).toMatch(/lowercase RFC 1123 label/);
    expect(nameProblems('a'.repeat(63), 'label')).toEqual([]);
    expect(nameProblems('a'.repeat(64), 'label')).toEqual(['must be no more than 63 characters']);
    expect(nameProblems('a'.repeat(253), 'subdomain')).toEqual([]);
    expect(nameProblems('a'.repeat(254), 'subdomain')).toEqual(['must be no more than 253 characters']);
  });

  it('names the field of each problem, and checks a generateName prefix without its trailing dash', () => {
    expect(metadataCauses(info('', 'pods'), { name: 'p', namespace: 'Default' })).toEqual([
      { field: 'metadata.namespace', message: expect.stringMatching(/^Invalid value: "Default": /) },
    ]);
    expect(metadataCauses(info('', 'namespaces'), {})[0]?.field).toBe('metadata.name');
    expect(metadataCauses(info('', 'pods'), { generateName: 'web-', namespace: 'default' })).toEqual([]);
    expect(metadataCauses(info('', 'pods'), { generateName: 'Web-', namespace: 'default' })[0]?.field).toBe(
      'metadata.generateName',
    );
  });

  it('checks label keys and values and the annotations total as ValidateObjectMeta', () => {
    expect(
      labelAnnotationCauses({ labels: { app: 'web', 'example.com/tier': 'Front_1', empty: '' } }),
    ).toEqual([]);
    const bad = labelAnnotationCauses({
      labels: { 'bad key': 'x', app: 'a b', long: 'v'.repeat(64), 'Ex.com/x': 'y' },
    });
    expect(bad.map((c) => c.field)).toEqual(Array(4).fill('metadata.labels'));
    expect(bad[0]?.message).toMatch(/^Invalid value: "bad key": name part must consist of/);
    expect(bad[1]?.message).toMatch(/a valid label must be an empty string/);
    expect(bad[2]?.message).toMatch(/must be no more than 63 characters/);
    expect(bad[3]?.message).toMatch(/prefix part a lowercase RFC 1123 subdomain/);
    expect(labelAnnotationCauses({ annotations: { big: 'x'.repeat(256 * 1024) } })).toEqual([
      { field: 'metadata.annotations', message: 'Too long: must have at most 262144 bytes' },
    ]);
    expect(
      labelAnnotationCauses({ annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }),
    ).toEqual([]);
  });
});
