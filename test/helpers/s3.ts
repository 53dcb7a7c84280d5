import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import S3rver from 's3rver';

/**
 * s3rver on loopback, standing in for MinIO/S3. It enforces URL expiry but does not check
 * signatures: never test authentication against it.
 */
export class TestS3 {
  private server: S3rver | null = null;
  port = 0;
  readonly bucket = 'buurtwag-test';

  constructor(private readonly directory: string) {}

  async start(port = this.port): Promise<void> {
    fs.mkdirSync(this.directory, { recursive: true });
    this.server = new S3rver({
      port,
      address: '127.0.0.1',
      silent: true,
      directory: this.directory,
      configureBuckets: [{ name: this.bucket, configs: [] }],
    });
    const address = (await this.server.run()) as AddressInfo;
    this.port = address.port;
  }

  /** Stops at once, dropping kept-alive connections (the SDK keeps them). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const http = (server as unknown as { httpServer: Server }).httpServer;
    http.closeAllConnections();
    await server.close();
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The environment that points the app at this server. */
  env(): Record<string, string> {
    return {
      S3_ENDPOINT: this.endpoint,
      S3_BUCKET: this.bucket,
      S3_ACCESS_KEY: 'S3RVER',
      S3_SECRET_KEY: 'S3RVER',
      S3_REGION: 'us-east-1',
    };
  }

  async remove(): Promise<void> {
    await this.stop();
    fs.rmSync(this.directory, { recursive: true, force: true });
  }
}
