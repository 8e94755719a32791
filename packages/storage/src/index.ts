/** @ferry/storage: where a download's bytes go and are published, behind one interface every backend implements. */
export { Checkpoint } from './checkpoint.js';
export { LocalDiskStorage, PARTS_DIRNAME } from './local-disk.js';
// The S3 backend is `@ferry/storage/s3`, not here: loading it loads the AWS SDK, which local disk does without.
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
  PresignOptions,
} from './storage.js';
