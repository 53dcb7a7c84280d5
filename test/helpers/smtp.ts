import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

/**
 * A real SMTP server on 127.0.0.1 (random port) that keeps every accepted mail, parsed. It can
 * refuse the next mails (451) or hold the next one before answering (a send in progress).
 */
export interface TestSmtp {
  url: string;
  mails: ParsedMail[];
  /** the next n mails get "451 try again later" after their data was sent */
  failNext(n: number): void;
  /** the next mail waits, unanswered, until release(); `arrived` resolves when it is being held */
  holdNext(): { arrived: Promise<void>; release(): void };
  /** mails to this address */
  to(address: string): ParsedMail[];
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<TestSmtp> {
  const mails: ParsedMail[] = [];
  let failing = 0;
  let hold: { arrived: () => void; released: Promise<void> } | null = null;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        void (async () => {
          if (failing > 0) {
            failing -= 1;
            const err = Object.assign(new Error('Try again later'), { responseCode: 451 });
            callback(err);
            return;
          }
          if (hold) {
            const h = hold;
            hold = null;
            h.arrived();
            await h.released;
          }
          mails.push(await simpleParser(Buffer.concat(chunks)));
          callback();
        })();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    failNext: (n) => (failing = n),
    holdNext() {
      let release!: () => void;
      let arrived!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const arrivedP = new Promise<void>((r) => (arrived = r));
      hold = { arrived, released };
      return { arrived: arrivedP, release };
    },
    to: (address) => mails.filter((m) => addressesOf(m).includes(address.toLowerCase())),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function addressesOf(mail: ParsedMail): string[] {
  const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
  return to.flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
}
