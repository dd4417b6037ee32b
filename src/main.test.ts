import { describe, expect, it } from 'vitest';
import { describeFatalError } from './main.ts';

/** An error as Node's `listen` gives it, with its code. */
function listenError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('what the command says when the server cannot start', () => {
  it('says which setting to change when it cannot listen, without a stack trace', () => {
    expect(
      describeFatalError(
        listenError('EADDRINUSE', 'listen EADDRINUSE: address already in use 127.0.0.1:3000'),
      ),
    ).toBe(
      'Cannot listen: listen EADDRINUSE: address already in use 127.0.0.1:3000. Set PORT to a free port.',
    );
    expect(
      describeFatalError(listenError('EACCES', 'listen EACCES: permission denied 0.0.0.0:80')),
    ).toBe(
      'Cannot listen: listen EACCES: permission denied 0.0.0.0:80. Ports below 1024 need special permission: set PORT to 1024 or above.',
    );
    for (const code of ['EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'])
      expect(describeFatalError(listenError(code, `listen ${code} 10.9.9.9`)), code).toBe(
        `Cannot listen: listen ${code} 10.9.9.9. Set HOST to an address of this machine, such as localhost or 0.0.0.0.`,
      );
  });

  it('keeps the stack trace for a fault nobody can fix by a setting', () => {
    const fault = new TypeError('cannot read properties of undefined');
    expect(describeFatalError(fault)).toBe(fault.stack);
  });
});
