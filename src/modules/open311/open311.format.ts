/**
 * The two wire formats of GeoReport v2. Responses are built once as a tree of plain values and
 * written either as JSON or as XML, so both formats always carry the same fields.
 *
 * XML follows the spec's examples and mySociety's Open311 endpoint (XML::Simple, NoAttr):
 * elements only, no attributes; an array becomes a wrapper element holding one element per item
 * (`<services><service>…</service></services>`); an absent value (null) is an empty element, as
 * XML::Simple writes undef; booleans are `true`/`false`.
 */
export type Format = 'json' | 'xml';

export const CONTENT_TYPE: Readonly<Record<Format, string>> = {
  json: 'application/json; charset=utf-8',
  xml: 'text/xml; charset=utf-8',
};

/** `services.xml` → {name: 'services', format: 'xml'}; null for any other extension. */
export function splitFormat(file: string): { name: string; format: Format } | null {
  const match = /^(.*)\.(json|xml)$/.exec(file);
  if (!match) return null;
  return { name: match[1] ?? '', format: match[2] as Format };
}

export type XmlContent = string | number | boolean | null | XmlNode[];
export interface XmlNode {
  name: string;
  content: XmlContent;
}

export const el = (name: string, content: XmlContent): XmlNode => ({ name, content });

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

// Everything XML 1.0 does not allow in a document (controls other than tab, newline and
// carriage return; lone surrogates; U+FFFE and U+FFFF): no escape can carry these, so they go.
const ILLEGAL = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const SPECIAL = /[&<>"'\r]/g;
const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // a parser would turn a raw CR (and CRLF) into LF; as a reference it survives
  '\r': '&#13;',
};

/** Text safe for element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(ILLEGAL, '').replace(SPECIAL, (ch) => ENTITIES[ch] ?? ch);
}

function write(node: XmlNode, out: string[]): void {
  if (!NAME.test(node.name)) throw new Error(`not an XML element name: ${node.name}`);
  const { name, content } = node;
  if (content === null || content === '') {
    out.push(`<${name}></${name}>`);
  } else if (Array.isArray(content)) {
    out.push(`<${name}>`);
    for (const child of content) write(child, out);
    out.push(`</${name}>`);
  } else {
    const text = typeof content === 'number' ? numberText(content) : String(content);
    out.push(`<${name}>${escapeXml(text)}</${name}>`);
  }
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new Error('not a finite number');
  return String(n);
}

/** A whole document: the declaration, then the root element. */
export function xmlDocument(root: XmlNode): string {
  const out = ['<?xml version="1.0" encoding="utf-8"?>\n'];
  write(root, out);
  out.push('\n');
  return out.join('');
}

/**
 * A JSON value as XML nodes: an object's keys become elements in order; an array becomes one
 * element per item named `itemName` (the caller knows the singular: `services` → `service`).
 */
export function toXmlNodes(value: Record<string, unknown>, itemNames: Readonly<Record<string, string>>): XmlNode[] {
  return Object.entries(value).map(([key, v]) => toXmlNode(key, v, itemNames));
}

function toXmlNode(name: string, value: unknown, itemNames: Readonly<Record<string, string>>): XmlNode {
  if (value === null || value === undefined) return el(name, null);
  if (Array.isArray(value)) {
    const item = itemNames[name];
    if (!item) throw new Error(`no item name for the array ${name}`);
    return el(
      name,
      value.map((v) => toXmlNode(item, v, itemNames)),
    );
  }
  if (typeof value === 'object') return el(name, toXmlNodes(value as Record<string, unknown>, itemNames));
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return el(name, value);
  throw new Error(`cannot write ${typeof value} as XML`);
}

/** What an element of each array is called in XML. */
const ITEM_NAMES: Readonly<Record<string, string>> = {
  services: 'service',
  attributes: 'attribute',
  values: 'value',
  endpoints: 'endpoint',
  formats: 'format',
  service_requests: 'request',
  errors: 'error',
  // mySociety's servicerequestupdates, as FixMyStreet reads it
  service_requests_updates: 'request_update',
  service_request_updates: 'request_update',
};

/** A response in both formats: the JSON value, and the XML root it is written as. */
export interface Document {
  json: unknown;
  xml: XmlNode;
}

/** A top-level object: `{…}` in JSON, `<root>…</root>` in XML. */
export function objectDocument(root: string, value: Record<string, unknown>): Document {
  return { json: value, xml: el(root, toXmlNodes(value, ITEM_NAMES)) };
}

/** A top-level list: `[…]` in JSON, `<root><item>…</item></root>` in XML (item named from the root). */
export function listDocument(root: string, items: ReadonlyArray<Record<string, unknown>>): Document {
  return { json: items, xml: toXmlNode(root, items, ITEM_NAMES) };
}

export function render(format: Format, doc: Document): string {
  return format === 'json' ? JSON.stringify(doc.json) : xmlDocument(doc.xml);
}
