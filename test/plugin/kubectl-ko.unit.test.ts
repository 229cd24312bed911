// `kubectl ko`'s decisions without servers: where OVN is (the kubeconfig's cluster extension that
// infra/local writes, a matching .local/stack.json, else a real cluster's ovn-central pod) and the
// trace microflow kube-ovn's plugin builds. Through kubectl and real NB/SB: test/dataplane/seed-walkthrough.test.ts.
import { describe, expect, it } from 'vitest';
import { kubeconfigYaml, OVN_EXTENSION } from '../../infra/dev-apiserver/index.ts';
import { locateOvn } from '../../infra/kubectl-ko/locate.ts';
import { microflow, parseTraceArgs } from '../../infra/kubectl-ko/trace.ts';

const certs = { ca: 'ca', clientCert: 'c', clientKey: 'k', serverCert: 's', serverKey: 'sk' };
const local = (ext = {}) =>
  kubeconfigYaml(
    'https://127.0.0.1:7000',
    't',
    certs as never,
    ext as Record<string, Record<string, unknown>>,
  );
const other = `apiVersion: v1
kind: Config
clusters: [{name: prod, cluster: {server: "https://10.0.0.1:6443"}}]
contexts: [{name: prod, context: {cluster: prod}}]
current-context: prod
`;

describe('kubectl ko finds OVN', () => {
  it("from the current cluster's extension written by the stack", () => {
    const text = local({ [OVN_EXTENSION]: { nb: 'tcp:127.0.0.1:6641', sb: 'tcp:127.0.0.1:6642' } });
    expect(locateOvn([{ path: 'kc', text }], undefined)).toEqual({
      kind: 'local',
      nb: 'tcp:127.0.0.1:6641',
      sb: 'tcp:127.0.0.1:6642',
      source: `kc (${OVN_EXTENSION})`,
    });
  });

  it('from .local/stack.json when it describes the current cluster, or when there is no kubeconfig', () => {
    const stack = {
      file: '.local/stack.json',
      json: {
        apiServer: 'https://127.0.0.1:7000',
        nbRemote: 'tcp:127.0.0.1:1',
        node: { sbRemote: 'tcp:127.0.0.1:2' },
      },
    };
    const want = { kind: 'local', nb: 'tcp:127.0.0.1:1', sb: 'tcp:127.0.0.1:2', source: '.local/stack.json' };
    expect(locateOvn([{ path: 'kc', text: local() }], stack)).toEqual(want);
    expect(locateOvn([], stack)).toEqual(want);
    // Another cluster is not the stack's, whatever the stack file says.
    expect(locateOvn([{ path: 'kc', text: other }], stack)).toEqual({
      kind: 'cluster',
      server: 'https://10.0.0.1:6443',
    });
  });

  it('uses the first file with a current context, as kubectl merges KUBECONFIG', () => {
    const text = local({ [OVN_EXTENSION]: { nb: 'tcp:127.0.0.1:9' } });
    expect(
      locateOvn(
        [
          { path: 'a', text: other },
          { path: 'b', text },
        ],
        undefined,
      ).kind,
    ).toBe('cluster');
    expect(
      locateOvn(
        [
          { path: 'b', text },
          { path: 'a', text: other },
        ],
        undefined,
      ),
    ).toMatchObject({
      kind: 'local',
      nb: 'tcp:127.0.0.1:9',
      sb: undefined,
    });
  });
});

describe('kubectl ko trace', () => {
  it("reads kube-ovn's arguments", () => {
    expect(parseTraceArgs(['default/client', '10.16.0.3', 'icmp'])).toEqual({
      namespace: 'default',
      pod: 'client',
      target: '10.16.0.3',
      mac: undefined,
      protocol: 'icmp',
      port: undefined,
    });
    expect(parseTraceArgs(['ns/p', '10.16.0.3', '00:00:00:AA:BB:CC', 'tcp', '80'])).toMatchObject({
      mac: '00:00:00:AA:BB:CC',
      protocol: 'tcp',
      port: 80,
    });
    expect(() => parseTraceArgs(['ns/p', '10.16.0.3', 'tcp'])).toThrow('tcp needs a target port');
    expect(() => parseTraceArgs(['ns/p', '10.16.0.3', 'sctp'])).toThrow('usage: kubectl ko trace');
  });

  it('builds the microflow from the pod to the target', () => {
    const base = {
      port: 'client.default',
      srcMac: '00:00:00:00:00:05',
      srcIp: '10.16.0.5',
      dstMac: '0a:00:00:00:00:01',
    };
    expect(microflow({ ...base, dstIp: '10.16.0.3', protocol: 'icmp' })).toBe(
      'inport == "client.default" && ip.ttl == 64 && eth.src == 00:00:00:00:00:05 && ip4.src == 10.16.0.5 && ' +
        'eth.dst == 0a:00:00:00:00:01 && ip4.dst == 10.16.0.3 && icmp4.type == 8',
    );
    expect(microflow({ ...base, srcIp: 'fd00::5', dstIp: 'fd00::3', protocol: 'udp', dstPort: 53 })).toMatch(
      /ip6\.src == fd00::5 && eth\.dst == .* && ip6\.dst == fd00::3 && udp\.src == 10000 && udp\.dst == 53$/,
    );
  });
});
