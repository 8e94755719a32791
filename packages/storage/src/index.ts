/** @ferry/storage: where a download's bytes go and are published, behind one interface every backend implements. */
export { Checkpoint } from './checkpoint.js';
export { LocalDiskStorage, PARTS_DIRNAME } from './local-disk.js';
export {
  DEFAULT_PART_SIZE,
  DEFAULT_PARTS_IN_FLIGHT,
  MAX_PART_SIZE,
  MIN_PART_SIZE,
  S3Storage,
  type S3ClientOptions,
  type S3StorageOptions,
} from './s3/s3-storage.js';
export type {
  ConflictPolicy,
  OffsetPartWriter,
  OpenedStoredFile,
  PartOptions,
  PartWriter,
  PublishTarget,
  ResumePoint,
  SegmentWriter,
  Storage,
  StoredFile,
  StoredFileRef,
  StoredPart,
  StoredReader,
} from './storage.js';
