import { LocalDiskStorage, type Storage } from '@ferry/storage';
import type { Config } from '../config.js';

/** The storage FERRY_STORAGE names, one for the API and the workers alike; the AWS SDK is loaded only for S3. */
export async function createStorage(config: Config): Promise<Storage> {
  const { s3 } = config;
  if (s3 === undefined) return new LocalDiskStorage(config.storageDir);
  const { S3Storage } = await import('@ferry/storage/s3');
  return new S3Storage({
    // Credentials are left to the AWS SDK's default chain: environment, shared config, instance or task role.
    client: { endpoint: s3.endpoint, region: s3.region, forcePathStyle: s3.forcePathStyle },
    bucket: s3.bucket,
    keyPrefix: s3.keyPrefix,
    partSize: s3.partSizeBytes,
    partBuffers: s3.partBuffers,
  });
}
