import { describe, expect, it } from 'vitest';
import { pageCsp, renderPage } from './web-app.js';

const TEMPLATE = '<head><script id="buurtwag-config" type="application/json">{}</script></head>';
const web = {
  tileUrl: 'https://{s}.tile.example.org/{z}/{x}/{y}.png',
  tileAttribution: '© Example',
  geocoder: { kind: 'nominatim' as const, url: 'https://geo.example.org' },
};

describe('the web app page', () => {
  it('carries the settings as JSON that no value can break out of', () => {
    const page = renderPage(TEMPLATE, { ...web, tileAttribution: '</script><script>alert(1)</script>' });
    expect(page).not.toContain('</script><script>');
    const json = /type="application\/json">(.*)<\/script>/.exec(page)![1]!;
    expect(JSON.parse(json)).toMatchObject({ tileAttribution: '</script><script>alert(1)</script>' });
  });

  it('lets the page load its tiles and reach its geocoder, and nothing else outside', () => {
    const csp = pageCsp({ web, mediaOrigin: 'https://media.example.org' });
    expect(csp.imgSrc).toEqual(["'self'", 'data:', 'blob:', 'https://*.tile.example.org', 'https://media.example.org']);
    expect(csp.connectSrc).toEqual(["'self'", 'https://geo.example.org']);
    expect(csp.scriptSrc).toEqual(["'self'"]);
    expect(pageCsp({ web: { ...web, geocoder: { kind: 'off' } }, mediaOrigin: null }).connectSrc).toEqual(["'self'"]);
  });
});
