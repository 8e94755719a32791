import { LocalDiskStorage, S3Storage, type Storage } from '@ferry/storage';
import type { Config } from '../config.js';

/** The storage FERRY_STORAGE names, one for the API and the workers alike. */
export function createStorage(config: Config): Storage {
  const { s3 } = config;
  if (s3 === undefined) return new LocalDiskStorage(config.storageDir);
  return new S3Storage({
    // Credentials are left to the AWS SDK's default chain: environment, shared config, instance or task role.
    client: { endpoint: s3.endpoint, region: s3.region, forcePathStyle: s3.forcePathStyle },
    bucket: s3.bucket,
    keyPrefix: s3.keyPrefix,
    partSize: s3.partSizeBytes,
  });
}
