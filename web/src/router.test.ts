import { describe, expect, it } from 'vitest';
import { matchRoute } from './router';

describe('matchRoute', () => {
  it('maps paths to pages', () => {
    expect(matchRoute('/')).toEqual({ name: 'map' });
    expect(matchRoute('/report/')).toEqual({ name: 'report' });
    expect(matchRoute('/incidents/BW-7K3Q9D2M')).toEqual({ name: 'incident', ref: 'BW-7K3Q9D2M' });
    expect(matchRoute('/staff/queue')).toEqual({ name: 'staff', rest: '/queue' });
    expect(matchRoute('/admin')).toEqual({ name: 'admin', rest: '' });
    expect(matchRoute('/incidents/../../etc')).toEqual({ name: 'not-found' });
    expect(matchRoute('/nowhere')).toEqual({ name: 'not-found' });
  });
});
