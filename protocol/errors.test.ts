import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, REST_ERROR_CODES } from './errors.js';

describe('error codes', () => {
  it('map each code to a 4xx or 5xx status, client mistakes to 4xx and the node’s own trouble to 5xx', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(status >= 400 && status < 600, code).toBe(true);
      expect(status >= 500, code).toBe(code === 'unavailable' || code === 'internal');
    }
  });

  it('list the REST codes once each, all of them known codes', () => {
    expect(new Set(REST_ERROR_CODES).size).toBe(REST_ERROR_CODES.length);
    for (const code of REST_ERROR_CODES) expect(ERROR_STATUS, code).toHaveProperty(code);
  });
});
