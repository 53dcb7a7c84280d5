// jsdom ships no types and the server's TypeScript has no DOM library: the little the server's
// tests use (a DOMParser for XML), typed here.
declare module 'jsdom' {
  export interface XmlNodeList extends Iterable<XmlElement> {
    readonly length: number;
    [index: number]: XmlElement | undefined;
  }
  export interface XmlElement {
    readonly tagName: string;
    readonly localName: string;
    readonly namespaceURI: string | null;
    readonly textContent: string | null;
    getAttribute(name: string): string | null;
    getElementsByTagName(name: string): XmlNodeList;
    getElementsByTagNameNS(namespace: string, name: string): XmlNodeList;
  }
  export interface XmlDocument {
    readonly documentElement: XmlElement;
    getElementsByTagName(name: string): XmlNodeList;
    getElementsByTagNameNS(namespace: string, name: string): XmlNodeList;
  }
  export class JSDOM {
    constructor(html?: string);
    readonly window: {
      DOMParser: new () => { parseFromString(text: string, type: 'application/xml' | 'text/html'): XmlDocument };
    };
  }
}
