import { describe, expect, it } from 'vitest';
import { parseRemote, parseRemotes } from './transport.ts';

describe('remotes', () => {
  it('parses tcp, ssl (IPv4, IPv6, names) and unix remotes', () => {
    expect(parseRemote('tcp:127.0.0.1:6641')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 6641 });
    expect(parseRemote('ssl:[::1]:6641')).toEqual({ kind: 'ssl', host: '::1', port: 6641 });
    expect(parseRemote('tcp:ovn-nb.kube-system:6641')).toEqual({
      kind: 'tcp',
      host: 'ovn-nb.kube-system',
      port: 6641,
    });
    expect(parseRemote('unix:/var/run/ovn/ovnnb_db.sock')).toEqual({
      kind: 'unix',
      path: '/var/run/ovn/ovnnb_db.sock',
    });
  });

  it('refuses what ovsdb-server would not take', () => {
    for (const bad of ['127.0.0.1:6641', 'tcp:127.0.0.1', 'udp:1.2.3.4:5', 'unix:', 'ptcp:6641']) {
      expect(() => parseRemote(bad), bad).toThrow(/bad OVSDB remote/);
    }
  });

  it('splits comma-separated lists', () => {
    expect(parseRemotes('tcp:a:1, tcp:b:2,,tcp:c:3')).toEqual(['tcp:a:1', 'tcp:b:2', 'tcp:c:3']);
  });
});
