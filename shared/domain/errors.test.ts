import { describe, expect, it } from 'vitest';
import { DomainError, Reason, refusalMessage } from './errors.ts';

describe('refusalMessage', () => {
  it('names the holder once when the message already does', () => {
    const err = new DomainError(Reason.AddressConflict, '10.16.0.5 is already held by vip/a in subnet x', {
      holder: 'vip/a',
    });
    expect(refusalMessage(err)).toBe('10.16.0.5 is already held by vip/a in subnet x');
  });

  it('adds the holder when only the details carry it', () => {
    const err = new DomainError(Reason.MACConflict, 'that MAC is taken', { holder: 'pod/p.default' });
    expect(refusalMessage(err)).toBe('that MAC is taken (held by pod/p.default)');
  });

  it('leaves a gateway refusal as it is', () => {
    const err = new DomainError(Reason.AddressConflict, '10.16.0.1 is the gateway of subnet x', {
      holder: 'gateway',
    });
    expect(refusalMessage(err)).toBe('10.16.0.1 is the gateway of subnet x');
  });
});
