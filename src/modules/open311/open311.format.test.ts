import { describe, expect, it } from 'vitest';
import { el, escapeXml, listDocument, objectDocument, render, splitFormat, xmlDocument } from './open311.format.js';
import { requestDescription, w3cDate } from './open311.presenter.js';

describe('escapeXml', () => {
  it('escapes the five special characters', () => {
    expect(escapeXml(`a & b < c > d "e" 'f'`)).toBe('a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;');
  });

  it('drops characters XML 1.0 cannot hold and keeps tab, newline and everything printable', () => {
    expect(escapeXml('a\u0000b\u0008c\u000Bd\u001Fe\uFFFEf\uFFFF')).toBe('abcdef');
    expect(escapeXml('x\uD800y\uDC00z')).toBe('xyz'); // lone surrogates
    expect(escapeXml('tab\there\nnew 😀 Ünïcödé')).toBe('tab\there\nnew 😀 Ünïcödé');
  });

  it('keeps a carriage return as a character reference (a parser would fold a raw one)', () => {
    expect(escapeXml('a\r\nb')).toBe('a&#13;\nb');
  });

  it('does not escape twice', () => {
    expect(escapeXml('&amp;')).toBe('&amp;amp;');
  });
});

describe('xmlDocument', () => {
  it('writes the declaration, nested elements, empty elements for null, booleans and numbers', () => {
    const xml = xmlDocument(
      el('root', [el('a', 'x<y'), el('b', null), el('c', true), el('d', -26.2041), el('e', [el('f', '')])]),
    );
    expect(xml).toBe(
      '<?xml version="1.0" encoding="utf-8"?>\n<root><a>x&lt;y</a><b></b><c>true</c><d>-26.2041</d><e><f></f></e></root>\n',
    );
  });

  it('refuses names that are not XML names and numbers that are not finite', () => {
    expect(() => xmlDocument(el('a b', 'x'))).toThrow();
    expect(() => xmlDocument(el('<a>', 'x'))).toThrow();
    expect(() => xmlDocument(el('a', Number.NaN))).toThrow();
  });
});

describe('documents', () => {
  it('writes a list as a JSON array and as wrapper plus one element per item', () => {
    const doc = listDocument('service_requests', [{ service_request_id: 'BW-1', lat: 1.5, address: null }]);
    expect(render('json', doc)).toBe('[{"service_request_id":"BW-1","lat":1.5,"address":null}]');
    expect(render('xml', doc)).toContain(
      '<service_requests><request><service_request_id>BW-1</service_request_id><lat>1.5</lat><address></address></request></service_requests>',
    );
  });

  it('names the items of nested arrays by their singular', () => {
    const doc = objectDocument('service_definition', {
      service_code: 'pothole',
      attributes: [{ code: 'depth', values: [{ key: 'a', name: 'A' }] }],
    });
    expect(render('xml', doc)).toContain(
      '<service_definition><service_code>pothole</service_code><attributes><attribute><code>depth</code><values><value><key>a</key><name>A</name></value></values></attribute></attributes></service_definition>',
    );
    expect(JSON.parse(render('json', doc))).toEqual({
      service_code: 'pothole',
      attributes: [{ code: 'depth', values: [{ key: 'a', name: 'A' }] }],
    });
  });

  it('writes errors as the spec does, the code a number in JSON', () => {
    const doc = listDocument('errors', [{ code: 404, description: 'Not <found>' }]);
    expect(render('json', doc)).toBe('[{"code":404,"description":"Not <found>"}]');
    expect(render('xml', doc)).toContain(
      '<errors><error><code>404</code><description>Not &lt;found&gt;</description></error></errors>',
    );
  });
});

describe('splitFormat', () => {
  it('knows .json and .xml only', () => {
    expect(splitFormat('services.json')).toEqual({ name: 'services', format: 'json' });
    expect(splitFormat('BW-7K3Q9D2M.xml')).toEqual({ name: 'BW-7K3Q9D2M', format: 'xml' });
    expect(splitFormat('services.csv')).toBeNull();
    expect(splitFormat('services')).toBeNull();
  });
});

describe('presenter helpers', () => {
  it('writes datetimes in UTC to the second with Z', () => {
    expect(w3cDate('2026-11-26T14:41:25.123456Z')).toBe('2026-11-26T14:41:25Z');
  });

  it('joins title and description and cuts at 4,000 code points', () => {
    expect(requestDescription('Title', 'Body')).toBe('Title\n\nBody');
    expect(requestDescription('Title', '  ')).toBe('Title');
    const long = requestDescription('T', '😀'.repeat(5000));
    expect(Array.from(long)).toHaveLength(4000);
    expect(long.endsWith('😀')).toBe(true);
  });
});
