/** @ferry/storage/s3: the S3 backend, its own entry point so that only a process storing in S3 loads the AWS SDK. */
export {
  DEFAULT_PART_BUFFERS,
  DEFAULT_PART_SIZE,
  DEFAULT_PARTS_IN_FLIGHT,
  MAX_PART_SIZE,
  MIN_PART_SIZE,
  S3Storage,
  type S3ClientOptions,
  type S3StorageOptions,
} from './s3-storage.js';
