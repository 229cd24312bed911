// An optional column (min 0, max 1) changes as a whole in update2 diffs: ovsdb-server sends the
// new value, not a set difference. A monitor-fed copy must replace it, or moving a value
// (virtual_parent p1 -> p2, tag_request 5 -> 7) would leave both behind.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nbctl, waitFor } from '../../infra/local/services.ts';
import {
  applyModify,
  columnKinds,
  OvsdbClient,
  type Row,
  setValues,
  where,
} from '../../shared/ovsdb/index.ts';

const remote = inject('nbRemote');

describe('optional columns in monitor diffs', () => {
  let client: OvsdbClient;
  beforeAll(async () => {
    client = await OvsdbClient.connect({ remotes: [remote], database: 'OVN_Northbound' });
  });
  afterAll(() => client.close());

  it('are replaced, including when cleared', async () => {
    const ls = `opt-${randomUUID().slice(0, 8)}`;
    const port = `${ls}-p`;
    await nbctl(remote, 'ls-add', ls, '--', 'lsp-add', ls, port);
    const kinds = columnKinds(await client.getSchema(), 'Logical_Switch_Port');
    expect(kinds.tag_request).toBe('atom');
    let row: Row = {};
    const monitor = await client.monitor({
      tables: {
        Logical_Switch_Port: { columns: ['name', 'tag_request'], where: [where('name', '==', port)] },
      },
      onUpdate(updates) {
        for (const change of Object.values(updates.Logical_Switch_Port ?? {})) {
          if ('initial' in change) row = change.initial;
          else if ('insert' in change) row = change.insert;
          else if ('modify' in change) row = applyModify(row, change.modify, kinds);
        }
      },
    });
    const tags = () => setValues(row.tag_request).map(Number);
    await nbctl(remote, 'set', 'logical_switch_port', port, 'tag_request=5');
    await waitFor('tag 5', async () => JSON.stringify(tags()) === '[5]');
    await nbctl(remote, 'set', 'logical_switch_port', port, 'tag_request=7');
    await waitFor('tag 7 alone', async () => JSON.stringify(tags()) === '[7]', { timeoutMs: 3000 });
    await nbctl(remote, 'clear', 'logical_switch_port', port, 'tag_request');
    await waitFor('no tag', async () => tags().length === 0, { timeoutMs: 3000 });
    await monitor.cancel();
    await nbctl(remote, 'ls-del', ls);
  });
});
