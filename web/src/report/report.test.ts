import { describe, expect, it } from 'vitest';
import type { CategoryAttribute } from '../api/client';
import { answersToMetadata } from './attributes';
import { NominatimGeocoder } from './geocoder';
import { fitWithin } from './photos';

describe('fitWithin', () => {
  it('shrinks the longer side to 1600 px keeping proportions', () => {
    expect(fitWithin(4000, 3000)).toEqual({ width: 1600, height: 1200 });
    expect(fitWithin(3000, 4000)).toEqual({ width: 1200, height: 1600 });
  });
  it('never enlarges a small photo', () => {
    expect(fitWithin(800, 600)).toEqual({ width: 800, height: 600 });
  });
});

describe('answersToMetadata', () => {
  const attributes: CategoryAttribute[] = [
    { code: 'depth', datatype: 'number', required: true, description: 'Depth (cm)', order: 2 },
    {
      code: 'lanes',
      datatype: 'multivaluelist',
      required: false,
      description: 'Lanes',
      order: 1,
      values: [
        { key: 'left', name: 'Left' },
        { key: 'right', name: 'Right' },
      ],
    },
    { code: 'since', datatype: 'datetime', required: false, description: 'Since', order: 3 },
    { code: 'note', datatype: 'string', required: false, description: 'Note', order: 4 },
  ];
  it('types the answers as the server checks them and leaves out the unanswered', () => {
    const { metadata, missing } = answersToMetadata(attributes, {
      depth: '12',
      lanes: ['left'],
      since: '2026-11-20T08:30',
      note: '',
    });
    expect(missing).toEqual([]);
    expect(metadata).toEqual({ depth: 12, lanes: ['left'], since: new Date('2026-11-20T08:30').toISOString() });
  });
  it('names the required questions left open', () => {
    expect(answersToMetadata(attributes, {}).missing).toEqual(['depth']);
    expect(answersToMetadata(attributes, { depth: 'deep' }).missing).toEqual(['depth']);
  });
});

describe('NominatimGeocoder', () => {
  it('searches South Africa in the page language and returns usable places', async () => {
    const seen: string[] = [];
    const fake = (async (url: URL | RequestInfo) => {
      seen.push(String(url));
      return new Response(
        JSON.stringify([
          { display_name: 'Church Street, Pretoria', lat: '-25.746', lon: '28.188' },
          { display_name: '', lat: 'x', lon: 'y' },
        ]),
      );
    }) as typeof fetch;
    const places = await new NominatimGeocoder('https://geo.example', fake).search('Church St', 'af');
    expect(places).toEqual([{ label: 'Church Street, Pretoria', lat: -25.746, lon: 28.188 }]);
    const url = new URL(seen[0]!);
    expect(url.origin + url.pathname).toBe('https://geo.example/search');
    expect(url.searchParams.get('countrycodes')).toBe('za');
    expect(url.searchParams.get('accept-language')).toBe('af');
    expect(url.searchParams.get('format')).toBe('jsonv2');
  });
});
