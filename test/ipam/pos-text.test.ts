// posText (scripts/lib.ts), how the allocate script writes a position "<page>:<bit>" without Lua's
// number-to-string: it must give the very text that conversion gives, for every bit of a page,
// or records and address fields written by the fast path would differ from the general code's.
import { afterAll, describe, expect, it } from 'vitest';
import { POS_TEXT } from '../../shared/ipam/redis/scripts/lib.ts';
import { connect } from './helpers.ts';

const redis = connect();
afterAll(() => redis.disconnect());

describe('posText', () => {
  it('writes prefix .. n exactly as Lua does, for every n below 100,000', async () => {
    const lua = `${POS_TEXT}
local bad, sample = {}, {}
for n = 0, 99999 do
  local want = ARGV[1] .. n
  if posText(ARGV[1], n) ~= want and #bad < 10 then bad[#bad + 1] = want end
end
for _, n in ipairs({0, 9, 10, 99, 100, 101, 999, 1000, 1009, 9999, 10000, 10010, 65535, 99999}) do
  sample[#sample + 1] = posText(ARGV[1], n)
end
return {bad, sample}`;
    const [bad, sample] = (await redis.eval(lua, 0, '12:')) as [string[], string[]];
    expect(bad).toEqual([]);
    expect(sample).toEqual(
      [0, 9, 10, 99, 100, 101, 999, 1000, 1009, 9999, 10000, 10010, 65535, 99999].map((n) => `12:${n}`),
    );
  });
});
