import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

/**
 * The email channel: SMTP through nodemailer (SMTP_URL), or, with no SMTP server configured (the
 * embedded default), `.eml` files under DATA_DIR/outbox with one log line each, so a developer
 * can open what would have been sent.
 */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** stable per message: the same delivery always carries the same Message-ID */
  messageId: string;
  headers: Record<string, string>;
}

export interface MailChannel {
  readonly kind: 'smtp' | 'outbox';
  /**
   * Resolves when the server accepted the mail. Rejects with NotAccepted when it certainly was
   * not (safe to try again); any other rejection means nobody knows whether it went.
   */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** The mail certainly did not go: the server refused it, or no connection was ever made. */
export class NotAccepted extends Error {
  override readonly name = 'NotAccepted';
}

export interface MailLog {
  info(obj: object, msg: string): void;
}

export function openMailChannel(
  config: { smtpUrl: string | null; dataDir: string; notifications: { mailFrom: string } },
  log: MailLog,
): MailChannel {
  return config.smtpUrl
    ? smtpChannel(config.smtpUrl, config.notifications.mailFrom)
    : outboxChannel(path.join(config.dataDir, 'outbox'), config.notifications.mailFrom, log);
}

export function smtpChannel(url: string, from: string, options: { maxConnections?: number } = {}): MailChannel {
  const transport = nodemailer.createTransport({
    url,
    pool: true,
    maxConnections: options.maxConnections ?? 4,
    maxMessages: 1000,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    kind: 'smtp',
    async send(mail) {
      try {
        await transport.sendMail({ from, ...mail, messageId: mail.messageId });
      } catch (err) {
        throw classify(err);
      }
    },
    close: () => transport.close(),
  };
}

function classify(err: unknown): Error {
  const e = err as { responseCode?: unknown; code?: unknown; command?: unknown; message?: string };
  // a reply code: the server answered, and it was not "accepted"
  const refused = typeof e.responseCode === 'number' && e.responseCode >= 400;
  // never connected: nothing was handed over
  const noConnection = e.command === 'CONN' || e.code === 'ECONNECTION' || e.code === 'EDNS';
  if (refused || noConnection) return new NotAccepted(e.message ?? 'the mail server refused the mail');
  return err instanceof Error ? err : new Error(String(err));
}

function outboxChannel(dir: string, from: string, log: MailLog): MailChannel {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    kind: 'outbox',
    async send(mail) {
      try {
        const info = await transport.sendMail({ from, ...mail, messageId: mail.messageId });
        await fs.mkdir(dir, { recursive: true });
        const file = path.join(dir, `${mail.messageId.replace(/[^A-Za-z0-9.@_-]/g, '_')}.eml`);
        await fs.writeFile(file, info.message as Buffer);
        // the recipient's address is personal data: the file name (message id) is enough to find the mail
        log.info({ file }, 'mail written to the outbox (no SMTP_URL)');
      } catch (err) {
        // nothing left this machine
        throw new NotAccepted((err as Error).message);
      }
    },
    close: () => transport.close(),
  };
}
